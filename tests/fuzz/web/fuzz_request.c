/*
 * libFuzzer target for the web port's request heads (web/request.h):
 * any bytes a client sends on the public port.  The input is one
 * connection's stream, parsed twice: whole, and in two pieces split at a
 * point derived from the input, each piece in a buffer of exactly its
 * size (ASan reports any read past it).  Both must give the same heads,
 * ending at the same offsets, and stop the same way with the same
 * status.  Every head returned must hold a path that is absolute and
 * free of "..", "//", '\\' and control bytes, NUL-terminated strings,
 * and a refusal must be one of the documented statuses.  Then each head
 * goes through the response side: sl_web_stream_path() (a split path
 * must rebuild the original), sl_web_mime(), an error body naming the
 * path, and a response head echoing the Origin, which must be refused
 * exactly when the Origin holds a control byte and otherwise add no
 * line of its own, and its Range read against objects of three sizes
 * must give a range inside the object.
 * Anything else is reported by abort().
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp.h"
#include "web/request.h"
#include "web/response.h"

#define MAX_HEADS 256

struct run {
    int                   n;
    size_t                end[MAX_HEADS];
    struct sl_web_request req[MAX_HEADS];
    int                   last, status;
};

static struct run whole, split;

/* Parses data[0..size) arriving as [0..cut) then [cut..size). */
static void
run(const uint8_t *data, size_t size, size_t cut, struct run *r)
{
    struct sl_web_parser *p = sl_web_parser_new();
    size_t                pos = 0, avail = cut;

    if (p == NULL)
        abort();
    r->n = 0;
    r->status = 0;
    for (;;) {
        size_t   n = avail - pos;
        uint8_t *piece = malloc(n ? n : 1);
        int      status = -1, rc;

        memcpy(piece, data + pos, n);
        rc = sl_web_parse(p, piece, n, &r->req[r->n], &status);
        free(piece);
        if (rc > 0) {
            if ((size_t) rc > n)
                abort();
            pos += (size_t) rc;
            r->end[r->n++] = pos;
            if (r->n == MAX_HEADS) {
                r->last = 0;
                break;
            }
            continue;
        }
        r->last = rc;
        if (rc == -EPROTO) {
            r->status = status;
            break;
        }
        if (rc != -EAGAIN)
            abort();
        pos = avail;
        if (avail == size)
            break;
        avail = size;
    }
    sl_web_parser_free(p);
}

static int
terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void
check_request(const struct sl_web_request *q)
{
    char   app[SL_NAME_MAX], name[SL_NAME_MAX], back[3 * SL_NAME_MAX];
    char   body[1200], head[1024];
    size_t len;

    if (!terminated(q->path, sizeof(q->path)) ||
        !terminated(q->query, sizeof(q->query)) ||
        !terminated(q->origin, sizeof(q->origin)) ||
        !terminated(q->range, sizeof(q->range)) ||
        !terminated(q->if_none_match, sizeof(q->if_none_match)))
        abort();
    if (q->method < SL_WEB_GET || q->method > SL_WEB_OTHER ||
        (q->keep_alive != 0 && q->keep_alive != 1))
        abort();
    len = strlen(q->path);
    if (q->path[0] != '/' || strstr(q->path, "..") || strstr(q->path, "//") ||
        strchr(q->path, '\\'))
        abort();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) q->path[i] < 0x20 || q->path[i] == 0x7f)
            abort();

    if (sl_web_stream_path(q->path, ".flv", app, sizeof(app), name,
                           sizeof(name)) == 0) {
        snprintf(back, sizeof(back), "/%s/%s.flv", app, name);
        if (strcmp(back, q->path) != 0 || strlen(app) == 0 || strlen(name) == 0)
            abort();
    } else if (app[0] != '\0' || name[0] != '\0') {
        abort();
    }
    if (sl_web_mime(q->path) == NULL)
        abort();

    /* A range served lies inside the object, first to last. */
    for (uint64_t total = 0; total < 3000; total += 1499) {
        uint64_t first = 0, last = 0;
        int      rg = sl_web_range(q->range, total, &first, &last);

        if (rg < -1 || rg > 1 || (rg == 1 && (first > last || last >= total)))
            abort();
    }

    int blen = sl_web_error_body(body, sizeof(body), 404, q->path);
    if (blen <= 0 || (size_t) blen != strlen(body) ||
        strchr(body, '\n') != body + blen - 1)
        abort();

    /* The Origin echoed into a CORS header. */
    struct sl_web_response r = {
        .status = 200, .content_length = -1, .allow_origin = q->origin};
    int ctl = 0;
    for (const char *c = q->origin; *c; c++)
        if (((unsigned char) *c < 0x20 && *c != '\t') || *c == 0x7f)
            ctl = 1;
    int hlen = sl_web_response_head(head, sizeof(head), &r);
    if (ctl != (hlen == -EINVAL))
        abort();
    if (hlen > 0) {
        /* Status line, Server, the CORS line, maybe Vary, Connection:
         * 4 or 5 lines and the blank one, whatever the Origin. */
        int lines = 0;
        for (const char *c = head; (c = strstr(c, "\r\n")) != NULL; c += 2)
            lines++;
        if ((size_t) hlen != strlen(head) ||
            lines != (strcmp(q->origin, "*") == 0 ? 5 : 6) ||
            strstr(head, "\r\n\r\n") != head + hlen - 4)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The cut: from the input's first and last bytes, anywhere in it. */
    size_t cut =
        size ? ((size_t) data[0] << 8 | data[size - 1]) % (size + 1) : 0;

    run(data, size, size, &whole);
    run(data, size, cut, &split);
    if (whole.n != split.n || whole.last != split.last ||
        whole.status != split.status)
        abort();
    for (int i = 0; i < whole.n; i++) {
        const struct sl_web_request *a = &whole.req[i], *b = &split.req[i];
        if (whole.end[i] != split.end[i] || a->method != b->method ||
            a->http_minor != b->http_minor || a->keep_alive != b->keep_alive ||
            strcmp(a->path, b->path) || strcmp(a->query, b->query) ||
            strcmp(a->origin, b->origin) || strcmp(a->range, b->range) ||
            strcmp(a->if_none_match, b->if_none_match))
            abort();
        check_request(a);
    }
    if (whole.last == -EPROTO) {
        switch (whole.status) {
        case 400:
        case 413:
        case 414:
        case 431:
        case 501:
        case 505:
            break;
        default:
            abort();
        }
    }
    return 0;
}
