/*
 * Response heads and the small tables around them (see response.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rtmp/rtmp.h"
#include "web/response.h"

#ifndef SL_VERSION
#error "SL_VERSION must be defined (the Makefile passes -DSL_VERSION)"
#endif

/* A bounded writer: appends until the first failure, then only
 * remembers it, so a head is built with no check after every line. */
struct out {
    char  *p;
    size_t cap, len;
    int    err;
};

static void
put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (o->err)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        o->err = -EINVAL;
    else if ((size_t) n >= o->cap - o->len)
        o->err = -ENOSPC;
    else
        o->len += (size_t) n;
}

/* Appends s: what put(o, "%s", s) does, without printf's machinery
 * (every HLS part and playlist answer has a head of a dozen pieces). */
static void
put_s(struct out *o, const char *s)
{
    size_t n = strlen(s);

    if (o->err)
        return;
    if (n >= o->cap - o->len) {
        o->err = -ENOSPC;
        return;
    }
    memcpy(o->p + o->len, s, n + 1);
    o->len += n;
}

/* Appends v in decimal. */
static void
put_n(struct out *o, long long v)
{
    char               d[24], *e = d + sizeof(d) - 1;
    unsigned long long u =
        v < 0 ? 0ull - (unsigned long long) v : (unsigned long long) v;

    *e = '\0';
    do {
        *--e = (char) ('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--e = '-';
    put_s(o, e);
}

/* A header value must not end the line early or start another one. */
static int
clean(const char *s)
{
    for (; s != NULL && *s; s++)
        if (((unsigned char) *s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return 1;
}

/* extra: non-empty lines, each ending in CRLF, no other control byte. */
static int
clean_lines(const char *s)
{
    size_t line = 0;

    for (; s != NULL && *s; s++) {
        if (*s == '\r') {
            if (s[1] != '\n' || line == 0)
                return 0;
            s++;
            line = 0;
        } else if (((unsigned char) *s < 0x20 && *s != '\t') || *s == 0x7f) {
            return 0;
        } else {
            line++;
        }
    }
    return line == 0;
}

int
sl_web_response_head(char *out, size_t cap, const struct sl_web_response *r)
{
    struct out o = {out, cap, 0, 0};

    if (r->status < 100 || r->status > 599 || !clean(r->content_type) ||
        !clean(r->cache_control) || !clean(r->allow_origin) ||
        !clean(r->allow) || !clean_lines(r->extra))
        return -EINVAL;
    if (cap == 0)
        return -ENOSPC;
    put_s(&o, "HTTP/1.1 ");
    put_n(&o, r->status);
    put_s(&o, " ");
    put_s(&o, sl_web_reason(r->status));
    put_s(&o, "\r\nServer: sluice/" SL_VERSION "\r\n");
    if (r->content_type != NULL) {
        put_s(&o, "Content-Type: ");
        put_s(&o, r->content_type);
        put_s(&o, "\r\n");
    }
    if (r->content_length >= 0) {
        put_s(&o, "Content-Length: ");
        put_n(&o, r->content_length);
        put_s(&o, "\r\n");
    }
    if (r->cache_control != NULL) {
        put_s(&o, "Cache-Control: ");
        put_s(&o, r->cache_control);
        put_s(&o, "\r\n");
    }
    if (r->allow_origin != NULL) {
        put_s(&o, "Access-Control-Allow-Origin: ");
        put_s(&o, r->allow_origin);
        put_s(&o, "\r\n");
        if (strcmp(r->allow_origin, "*") != 0)
            put_s(&o, "Vary: Origin\r\n");
    }
    if (r->allow != NULL) {
        put_s(&o, "Allow: ");
        put_s(&o, r->allow);
        put_s(&o, "\r\n");
    }
    put_s(&o, r->keep_alive ? "Connection: keep-alive\r\n"
                            : "Connection: close\r\n");
    if (r->extra != NULL)
        put_s(&o, r->extra);
    put_s(&o, "\r\n");
    return o.err ? o.err : (int) o.len;
}

const char *
sl_web_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large"; /* RFC 9110's name */
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static const struct {
    const char *ext; /* without the dot */
    const char *type;
} mime_types[] = {
    {"flv", "video/x-flv"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4s", "video/iso.segment"},
    {"mp4", "video/mp4"},
    {"ts", "video/mp2t"},
    {"js", "text/javascript"},
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css"},
    {"json", "application/json"},
    {"svg", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"png", "image/png"},
};

const char *
sl_web_mime(const char *path)
{
    const char *base, *dot;

    if (path == NULL)
        goto other;
    /* The extension of the last segment only: "/a.b/c" has none. */
    base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    if ((dot = strrchr(base, '.')) == NULL)
        goto other;
    for (size_t i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
        if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
            return mime_types[i].type;
other:
    return "application/octet-stream";
}

int
sl_web_error_body(char *out, size_t cap, int status, const char *what)
{
    struct out o = {out, cap, 0, 0};
    size_t     start;

    if (cap == 0)
        return -ENOSPC;
    put(&o, "%d %s", status, sl_web_reason(status));
    if (what != NULL) {
        put(&o, ": ");
        start = o.len;
        put(&o, "%s", what);
        if (!o.err)
            for (size_t i = start; i < o.len; i++)
                if ((unsigned char) out[i] < 0x20 || out[i] == 0x7f)
                    out[i] = '?';
    }
    put(&o, "\n");
    return o.err ? o.err : (int) o.len;
}

/* A byte a name may hold: letters, digits, '_', '-', '.'. */
static int
name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* One segment s[0..len): 1 to SL_NAME_MAX - 1 allowed bytes, not "." or
 * "..", copied into out when it fits cap.  (A loop, not strspn: every
 * request of a held HLS viewer checks three of these, and glibc's
 * strspn builds a table for its set on each call.) */
static int
segment(const char *s, size_t len, char *out, size_t cap)
{
    if (len == 0 || len > SL_NAME_MAX - 1 || len >= cap ||
        (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!name_byte((unsigned char) s[i]))
            return -EINVAL;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

int
sl_web_stream_path(const char *path, const char *ext, char *app, size_t acap,
                   char *name, size_t ncap)
{
    const char *slash;
    size_t      len, elen;

    if (acap > 0)
        app[0] = '\0';
    if (ncap > 0)
        name[0] = '\0';
    if (path == NULL || ext == NULL || path[0] != '/' || strchr(ext, '/'))
        return -EINVAL;
    path++;
    if ((slash = strchr(path, '/')) == NULL)
        return -EINVAL;
    len = strlen(slash + 1);
    elen = strlen(ext);
    if (len < elen || strcmp(slash + 1 + len - elen, ext) != 0)
        return -EINVAL;
    /* The name may not hold a slash: segment() allows none. */
    if (segment(path, (size_t) (slash - path), app, acap) != 0 ||
        segment(slash + 1, len - elen, name, ncap) != 0) {
        if (acap > 0)
            app[0] = '\0';
        return -EINVAL;
    }
    return 0;
}

int
sl_web_object_path(const char *path, char *app, size_t acap, char *stream,
                   size_t scap, char *file, size_t fcap)
{
    const char *a, *b;

    if (acap > 0)
        app[0] = '\0';
    if (path == NULL || path[0] != '/')
        return -EINVAL;
    path++;
    if ((a = strchr(path, '/')) == NULL || (b = strchr(a + 1, '/')) == NULL ||
        segment(path, (size_t) (a - path), app, acap) != 0 ||
        segment(a + 1, (size_t) (b - a - 1), stream, scap) != 0 ||
        segment(b + 1, strlen(b + 1), file, fcap) != 0) {
        if (acap > 0)
            app[0] = '\0';
        return -EINVAL;
    }
    return 0;
}
