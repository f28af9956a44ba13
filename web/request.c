/*
 * Request heads over http_parser (see request.h for what is accepted).
 *
 * http_parser does the syntax: the request line, header names and
 * values, CRLFs, Content-Length, Connection tokens.  It calls back with
 * pieces of the URL and of each header as they go past, a token split
 * across two sl_web_parse() calls arriving in two pieces, so the
 * callbacks only collect: the raw target, the three header values the
 * caller wants, and which headers were seen.  Every verdict of our own
 * is taken in on_headers_complete(), when the whole head is known.
 * That is what keeps the status independent of how the bytes were
 * split: if a callback refused a too long URL at the end of a buffer, a
 * syntax error later in the same URL would get 414 when split and 400
 * when not.
 *
 * Stopping after one head: on_headers_complete() returns 2 ("skip the
 * body, the rest is another protocol"), after which http_parser_execute
 * returns right after the head's last LF instead of going on into the
 * next pipelined request.  The http_parser is then re-initialised for
 * the next head, so its keep-alive bookkeeping (a dead state after
 * "Connection: close") never refuses the next request: whether to read
 * one is the caller's decision, from req->keep_alive.
 */
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/request.h"

/* The headers the callbacks look for.  A row with cap 0 is only noted
 * (seen or not), one with a cap is copied into the request at off. */
enum { HDR_ORIGIN, HDR_RANGE, HDR_INM, HDR_HOST, HDR_TE, HDR_COUNT };
static const struct {
    const char *name;
    size_t      off;
    size_t      cap;
} headers[HDR_COUNT] = {
    [HDR_ORIGIN] = {"origin", offsetof(struct sl_web_request, origin),
                    sizeof(((struct sl_web_request *) 0)->origin)},
    [HDR_RANGE] = {"range", offsetof(struct sl_web_request, range),
                   sizeof(((struct sl_web_request *) 0)->range)},
    [HDR_INM] = {"if-none-match",
                 offsetof(struct sl_web_request, if_none_match),
                 sizeof(((struct sl_web_request *) 0)->if_none_match)},
    [HDR_HOST] = {"host", 0, 0},
    [HDR_TE] = {"transfer-encoding", 0, 0},
};
/* Longer than every name above: a longer name is none of them. */
#define NAME_MAX_LEN 24

struct sl_web_parser {
    http_parser hp; /* hp.data points back here */
    /* The head under way; its used bytes are copied out when it is
     * accepted. */
    struct sl_web_request head;
    /* start_head() clears every field from here to target. */
    size_t      used;   /* bytes of this head consumed so far */
    int         status; /* 0, or the refusal; sticks */
    const char *why;    /* the refusal's reason, for the log */
    int         done;   /* on_headers_complete() accepted it */
    /* The last byte consumed, so that a bare CR or a fold split right
     * after its CR or LF is still seen. */
    uint8_t last_byte;
    /* Which callback came last: a header field after a value starts a
     * new header, a value after a field starts its value. */
    enum { CB_NONE, CB_FIELD, CB_VALUE } last_cb;
    int      cur;        /* headers[] row of the value under way, -1 */
    size_t   cur_len;    /* its length so far (may pass its cap) */
    unsigned seen;       /* 1 << row for each header seen */
    unsigned twice;      /* 1 << row for each header seen again */
    int      value_long; /* a copied value did not fit its field */
    int      name_space; /* a header name held a space */
    size_t   name_len;   /* may pass NAME_MAX_LEN: then no row */
    size_t   target_len; /* raw target bytes seen (may pass the buffer) */
    char     name[NAME_MAX_LEN];
    char     target[SL_WEB_MAX_TARGET];
};

static struct sl_web_parser *
of(http_parser *hp)
{
    return hp->data;
}

static int
on_url(http_parser *hp, const char *at, size_t len)
{
    struct sl_web_parser *p = of(hp);

    /* Copy what fits; the length alone decides 414 at the end. */
    if (p->target_len < sizeof(p->target) - 1) {
        size_t room = sizeof(p->target) - 1 - p->target_len;
        memcpy(p->target + p->target_len, at, len < room ? len : room);
    }
    p->target_len += len;
    return 0;
}

static int
on_header_field(http_parser *hp, const char *at, size_t len)
{
    struct sl_web_parser *p = of(hp);

    if (p->last_cb != CB_FIELD)
        p->name_len = 0;
    p->last_cb = CB_FIELD;
    /* Non-strict http_parser takes spaces in a name ("Host : x");
     * RFC 9112 5.1 says 400. */
    if (memchr(at, ' ', len) != NULL)
        p->name_space = 1;
    if (p->name_len + len <= sizeof(p->name))
        memcpy(p->name + p->name_len, at, len);
    p->name_len += len;
    return 0;
}

/* The header whose name was just collected: its row, or -1. */
static int
header_row(const struct sl_web_parser *p)
{
    for (int i = 0; i < HDR_COUNT; i++)
        if (strlen(headers[i].name) == p->name_len &&
            strncasecmp(headers[i].name, p->name, p->name_len) == 0)
            return i;
    return -1;
}

static int
on_header_value(http_parser *hp, const char *at, size_t len)
{
    struct sl_web_parser *p = of(hp);

    if (p->last_cb != CB_VALUE) {
        /* The name is complete: a value starts (an empty value, too,
         * gets one call, of length 0). */
        p->cur = header_row(p);
        p->cur_len = 0;
        if (p->cur >= 0) {
            if (p->seen & (1u << p->cur))
                p->twice |= 1u << p->cur;
            p->seen |= 1u << p->cur;
        }
    }
    p->last_cb = CB_VALUE;
    if (p->cur < 0 || headers[p->cur].cap == 0)
        return 0;
    /* A duplicate is refused anyway; its bytes are not appended. */
    if (p->twice & (1u << p->cur))
        return 0;
    char  *field = (char *) &p->head + headers[p->cur].off;
    size_t cap = headers[p->cur].cap;
    if (p->cur_len + len < cap) {
        memcpy(field + p->cur_len, at, len);
        field[p->cur_len + len] = '\0';
    } else {
        p->value_long = 1;
    }
    p->cur_len += len;
    return 0;
}

static int
hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes the path in[0..len) into out (cap bytes) and judges
 * the result: 0, 400 or 414.  Decoding first and checking the decoded
 * bytes is what makes every encoding of "..", '\\' or a control byte
 * fail the same way; the encoded '/' is refused before it is decoded. */
static int
decode_path(const char *in, size_t len, char *out, size_t cap, const char **why)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) in[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex(in[i + 1]) : -1;
            int lo = i + 2 < len ? hex(in[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return *why = "bad percent-encoding in the path", 400;
            c = (unsigned char) (hi << 4 | lo);
            if (c == '/')
                return *why = "an encoded slash in the path", 400;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '\\')
            return *why = "a control byte or backslash in the path", 400;
        if (o + 1 >= cap)
            return *why = "path too long", 414;
        out[o++] = (char) c;
    }
    out[o] = '\0';
    if (o == 0 || out[0] != '/' || strstr(out, "..") || strstr(out, "//") ||
        strstr(out, "/./") || (o >= 2 && strcmp(out + o - 2, "/.") == 0))
        return *why = "a path that climbs or repeats a directory", 400;
    return 0;
}

/* Splits and checks the raw target: 0, 400 or 414. */
static int
check_target(struct sl_web_parser *p)
{
    struct http_parser_url u;
    const unsigned         allowed = 1u << UF_PATH | 1u << UF_QUERY;

    if (p->target_len >= sizeof(p->target))
        return p->why = "target too long", 414;
    p->target[p->target_len] = '\0';
    /* Origin-form only: "/..." (which also rules out "*", the absolute
     * form and the authority form of CONNECT). */
    p->why = "not a path and query";
    if (p->target_len == 0 || p->target[0] != '/')
        return 400;
    http_parser_url_init(&u);
    if (http_parser_parse_url(p->target, p->target_len, 0, &u) != 0 ||
        (u.field_set & ~allowed) != 0 || !(u.field_set & 1u << UF_PATH) ||
        u.field_data[UF_PATH].off != 0)
        return 400;
    if (u.field_set & 1u << UF_QUERY) {
        size_t qlen = u.field_data[UF_QUERY].len;
        if (qlen >= sizeof(p->head.query))
            return p->why = "query too long", 414;
        memcpy(p->head.query, p->target + u.field_data[UF_QUERY].off, qlen);
        p->head.query[qlen] = '\0';
    }
    return decode_path(p->target, u.field_data[UF_PATH].len, p->head.path,
                       sizeof(p->head.path), &p->why);
}

/* Drops the spaces and tabs http_parser leaves at the end of a value. */
static void
trim(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

static int
verdict(struct sl_web_parser *p)
{
    const http_parser *hp = &p->hp;
    int                rc;

    if (hp->http_major != 1)
        return p->why = "not HTTP/1.x", 505;
    if (p->seen & 1u << HDR_TE)
        return p->why = "Transfer-Encoding on a request", 501;
    if (p->value_long)
        return p->why = "a header value too long", 431;
    if ((rc = check_target(p)) != 0)
        return rc;
    if (p->twice != 0)
        return p->why = "a header given twice", 400;
    if (p->name_space)
        return p->why = "a space in a header name", 400;
    if (hp->http_minor >= 1 && !(p->seen & 1u << HDR_HOST))
        return p->why = "HTTP/1.1 without Host", 400;
    if (hp->content_length != ULLONG_MAX && hp->content_length > 0)
        return p->why = "a request with a body", 413;
    return 0;
}

static int
on_headers_complete(http_parser *hp)
{
    struct sl_web_parser *p = of(hp);

    if ((p->status = verdict(p)) != 0)
        return -1;
    switch (hp->method) {
    case HTTP_GET:
        p->head.method = SL_WEB_GET;
        break;
    case HTTP_HEAD:
        p->head.method = SL_WEB_HEAD;
        break;
    case HTTP_OPTIONS:
        p->head.method = SL_WEB_OPTIONS;
        break;
    default:
        p->head.method = SL_WEB_OTHER;
    }
    p->head.http_minor = hp->http_minor;
    p->head.keep_alive = http_should_keep_alive(hp) != 0;
    trim(p->head.origin);
    trim(p->head.range);
    trim(p->head.if_none_match);
    p->done = 1;
    /* Skip the body (there is none) and return from execute right after
     * this head: see the top of the file. */
    return 2;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
};

/* Ready for a new head; keeps a refusal unless clear_status. */
/* An empty request: its scalars 0, its strings "".  Only the first byte
 * of each string is cleared (every writer NUL-terminates what it puts
 * there): a kept-alive viewer's heads are parsed many times a second,
 * and the request is 2.5 KiB. */
static void
clear_request(struct sl_web_request *r)
{
    r->method = (enum sl_web_method) 0;
    r->http_minor = 0;
    r->keep_alive = 0;
    r->path[0] = r->query[0] = r->origin[0] = r->range[0] = '\0';
    r->if_none_match[0] = '\0';
}

/* Copies a string field whole up to its NUL. */
#define COPY_STR(dst, src, f) memcpy((dst)->f, (src)->f, strlen((src)->f) + 1)

/* *dst = *src, reading only the used bytes of its strings. */
static void
copy_request(struct sl_web_request *dst, const struct sl_web_request *src)
{
    dst->method = src->method;
    dst->http_minor = src->http_minor;
    dst->keep_alive = src->keep_alive;
    COPY_STR(dst, src, path);
    COPY_STR(dst, src, query);
    COPY_STR(dst, src, origin);
    COPY_STR(dst, src, range);
    COPY_STR(dst, src, if_none_match);
}

static void
start_head(struct sl_web_parser *p, int clear_status)
{
    int         status = clear_status ? 0 : p->status;
    const char *why = clear_status ? NULL : p->why;

    /* Everything from used up to the raw target; http_parser_init
     * clears hp, clear_request the head. */
    memset(&p->used, 0,
           offsetof(struct sl_web_parser, target) -
               offsetof(struct sl_web_parser, used));
    clear_request(&p->head);
    http_parser_init(&p->hp, HTTP_REQUEST);
    p->hp.data = p;
    p->status = status;
    p->why = why;
    p->cur = -1;
}

struct sl_web_parser *
sl_web_parser_new(void)
{
    struct sl_web_parser *p = malloc(sizeof(*p));

    if (p != NULL)
        start_head(p, 1);
    return p;
}

void
sl_web_parser_free(struct sl_web_parser *p)
{
    free(p);
}

void
sl_web_parser_reset(struct sl_web_parser *p)
{
    start_head(p, 1);
}

/* Whether buf[0..n) breaks the line framing in a way http_parser, as
 * Debian builds it (HTTP_PARSER_STRICT=0), would let pass: a CR not
 * followed by LF (it may take "\rX" for a line end, or end the head
 * early), or a line that starts with a space or a tab (obs-fold, which
 * it joins to the previous value).  Counts the byte consumed last time,
 * so a pair split across calls is seen too. */
static int
bad_framing(struct sl_web_parser *p, const uint8_t *buf, size_t n)
{
    uint8_t prev = p->last_byte;

    for (size_t i = 0; i < n; i++) {
        uint8_t c = buf[i];
        if ((prev == '\r' && c != '\n') ||
            (prev == '\n' && (c == ' ' || c == '\t')))
            return 1;
        prev = c;
    }
    p->last_byte = prev;
    return 0;
}

/* The status for an error http_parser found itself. */
static int
parser_status(struct sl_web_parser *p)
{
    p->why = http_errno_description(HTTP_PARSER_ERRNO(&p->hp));
    switch (HTTP_PARSER_ERRNO(&p->hp)) {
    case HPE_INVALID_METHOD:
        return 501;
    case HPE_HEADER_OVERFLOW:
        return 431;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
    case HPE_INVALID_TRANSFER_ENCODING:
        /* Transfer-Encoding with Content-Length is refused before our
         * on_headers_complete() runs: it is still Transfer-Encoding. */
        return p->seen & 1u << HDR_TE ? 501 : 400;
    default:
        return 400;
    }
}

int
sl_web_parse(struct sl_web_parser *p, const uint8_t *buf, size_t n,
             struct sl_web_request *req, int *status)
{
    size_t room, feed, got, scanned;

    if (p->status != 0)
        goto refused;
    /* http_parser takes a length of 0 for the end of the stream. */
    if (n == 0)
        return -EAGAIN;
    /* Never more than the head may still take: bytes past the limit are
     * not even looked at. */
    room = SL_WEB_MAX_HEAD - p->used;
    feed = n < room ? n : room;
    got = http_parser_execute(&p->hp, &settings, (const char *) buf, feed);
    p->used += got;
    /* On an error, got is the offset of the offending byte, which may
     * itself be the space of a fold. */
    scanned = got < feed && !p->done ? got + 1 : got;
    if (bad_framing(p, buf, scanned)) {
        p->status = 400;
        p->why = "a bare CR or a folded header line";
        goto refused;
    }
    if (p->status != 0)
        goto refused;
    if (HTTP_PARSER_ERRNO(&p->hp) != HPE_OK) {
        p->status = parser_status(p);
        goto refused;
    }
    if (p->done) {
        copy_request(req, &p->head);
        start_head(p, 1);
        return (int) got;
    }
    if (got < feed) {
        /* http_parser stopped without an error or a head: not expected
         * of it; refuse rather than loop. */
        p->status = 400;
        p->why = "the parser stopped";
        goto refused;
    }
    if (p->used >= SL_WEB_MAX_HEAD) {
        p->status = p->target_len >= sizeof(p->target) ? 414 : 431;
        p->why =
            p->status == 414 ? "target too long" : "request head too large";
        goto refused;
    }
    return -EAGAIN;

refused:
    *status = p->status;
    return -EPROTO;
}

const char *
sl_web_parse_why(const struct sl_web_parser *p)
{
    return p != NULL && p->why != NULL ? p->why : "bad request";
}

/* Digits into *v; the end of them, or NULL when there are none or the
 * number passes 2^63. */
static const char *
range_number(const char *p, uint64_t *v)
{
    const char *start = p;

    *v = 0;
    while (*p >= '0' && *p <= '9') {
        if (*v > (UINT64_MAX / 2 - 9) / 10)
            return NULL;
        *v = *v * 10 + (uint64_t) (*p - '0');
        p++;
    }
    return p == start ? NULL : p;
}

int
sl_web_range(const char *range, uint64_t total, uint64_t *first, uint64_t *last)
{
    const char *p = range;
    uint64_t    a, b;

    if (strncasecmp(p, "bytes", 5) != 0)
        return 0;
    p += 5;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '=')
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strchr(p, ',') != NULL)
        return 0; /* several ranges: the whole object */
    if (*p == '-') {
        p = range_number(p + 1, &b);
        if (p == NULL || *p != '\0')
            return 0;
        if (b == 0 || total == 0)
            return -1;
        *first = b >= total ? 0 : total - b;
        *last = total - 1;
        return 1;
    }
    p = range_number(p, &a);
    if (p == NULL || *p++ != '-')
        return 0;
    if (*p == '\0') {
        b = UINT64_MAX;
    } else {
        p = range_number(p, &b);
        if (p == NULL || *p != '\0' || b < a)
            return 0;
    }
    if (a >= total)
        return -1;
    *first = a;
    *last = b >= total ? total - 1 : b;
    return 1;
}
