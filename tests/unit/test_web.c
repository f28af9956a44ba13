/*
 * web/request and web/response.  Request heads are fed the
 * picohttpparser way: whole, byte by byte and split at every offset, each
 * piece in a buffer of exactly its size so ASan reports any read past
 * it, and every way of feeding must give the same requests and the same
 * refusal.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp.h"
#include "web/request.h"
#include "web/response.h"

#define MAX_RESULTS 8

/* What feeding a stream of bytes gave: each head returned (and the
 * stream offset it ended at), then how it stopped. */
struct results {
    int                   n;
    size_t                end[MAX_RESULTS];
    struct sl_web_request req[MAX_RESULTS];
    int                   last;   /* -EAGAIN or -EPROTO */
    int                   status; /* with -EPROTO */
};

/* Feeds s[0..len) as it would arrive in pieces that end at each of
 * cuts[0..ncuts) and then at len, the unconsumed rest of a piece being
 * fed again with the next, as a connection would. */
static void
feed(const char *s, size_t len, const size_t *cuts, int ncuts,
     struct results *out)
{
    struct sl_web_parser *p = sl_web_parser_new();
    size_t                pos = 0, avail;
    int                   next = 0;

    memset(out, 0, sizeof(*out));
    CU_ASSERT_FATAL(p != NULL);
    avail = ncuts > 0 ? cuts[0] : len;
    for (;;) {
        size_t                n = avail - pos;
        uint8_t              *piece = malloc(n ? n : 1);
        struct sl_web_request req;
        int                   status = 0, rc;

        memcpy(piece, s + pos, n);
        rc = sl_web_parse(p, piece, n, &req, &status);
        free(piece);
        if (rc > 0) {
            CU_ASSERT_FATAL((size_t) rc <= n);
            pos += (size_t) rc;
            CU_ASSERT_FATAL(out->n < MAX_RESULTS);
            out->end[out->n] = pos;
            out->req[out->n++] = req;
            continue;
        }
        out->last = rc;
        if (rc == -EPROTO) {
            out->status = status;
            break;
        }
        CU_ASSERT_FATAL(rc == -EAGAIN);
        pos = avail;
        if (avail == len)
            break;
        avail = ++next < ncuts ? cuts[next] : len;
    }
    sl_web_parser_free(p);
}

static int
same_request(const struct sl_web_request *a, const struct sl_web_request *b)
{
    return a->method == b->method && a->http_minor == b->http_minor &&
           a->keep_alive == b->keep_alive && !strcmp(a->path, b->path) &&
           !strcmp(a->query, b->query) && !strcmp(a->origin, b->origin) &&
           !strcmp(a->range, b->range) &&
           !strcmp(a->if_none_match, b->if_none_match);
}

static int
same(const struct results *a, const struct results *b)
{
    if (a->n != b->n || a->last != b->last || a->status != b->status)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (a->end[i] != b->end[i] || !same_request(&a->req[i], &b->req[i]))
            return 0;
    return 1;
}

/* Parses s whole, byte by byte and split at every offset; all must
 * agree.  The whole result goes into out. */
static void
parse_every_way(const char *s, struct results *out)
{
    size_t         len = strlen(s);
    size_t        *cuts = malloc((len + 1) * sizeof(*cuts));
    struct results r;

    feed(s, len, NULL, 0, out);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    feed(s, len, cuts, (int) len, &r);
    if (!same(out, &r))
        printf("\nbyte by byte differs: %s\n", s);
    CU_ASSERT(same(out, &r));
    for (size_t k = 0; k <= len; k++) {
        feed(s, len, &k, 1, &r);
        if (!same(out, &r))
            printf("\nsplit at %zu differs: %s\n", k, s);
        CU_ASSERT(same(out, &r));
    }
    free(cuts);
}

/* The status s is refused with, fed every way; 0 when it is accepted. */
static int
refusal(const char *s)
{
    struct results r;

    parse_every_way(s, &r);
    return r.last == -EPROTO ? r.status : 0;
}

/* The single request s, fed every way: 1 when accepted, into *req. */
static int
accepted(const char *s, struct sl_web_request *req)
{
    struct results r;

    parse_every_way(s, &r);
    if (r.n != 1 || r.last != -EAGAIN || r.end[0] != strlen(s))
        return 0;
    *req = r.req[0];
    return 1;
}

static void
test_whole_request(void)
{
    struct sl_web_request req;

    CU_ASSERT_FATAL(accepted("GET /live/cam1.flv?token=a%20b&x=1 HTTP/1.1\r\n"
                             "Host: example.com:8080\r\n"
                             "User-Agent: Lavf/59.27.100\r\n"
                             "Accept: */*\r\n"
                             "Origin: https://player.example.com  \r\n"
                             "Range: bytes=0-\r\n"
                             "If-None-Match: \"v1\"\r\n"
                             "\r\n",
                             &req));
    CU_ASSERT_EQUAL(req.method, SL_WEB_GET);
    CU_ASSERT_EQUAL(req.http_minor, 1);
    CU_ASSERT_EQUAL(req.keep_alive, 1);
    CU_ASSERT_STRING_EQUAL(req.path, "/live/cam1.flv");
    CU_ASSERT_STRING_EQUAL(req.query, "token=a%20b&x=1");
    /* Trailing whitespace of a value is not part of it. */
    CU_ASSERT_STRING_EQUAL(req.origin, "https://player.example.com");
    CU_ASSERT_STRING_EQUAL(req.range, "bytes=0-");
    CU_ASSERT_STRING_EQUAL(req.if_none_match, "\"v1\"");

    /* Header names are case-insensitive; absent headers are "". */
    CU_ASSERT_FATAL(accepted("HEAD /a/b.m3u8 HTTP/1.1\r\nhOST: h\r\n"
                             "oRiGiN: null\r\n\r\n",
                             &req));
    CU_ASSERT_EQUAL(req.method, SL_WEB_HEAD);
    CU_ASSERT_STRING_EQUAL(req.path, "/a/b.m3u8");
    CU_ASSERT_STRING_EQUAL(req.query, "");
    CU_ASSERT_STRING_EQUAL(req.origin, "null");
    CU_ASSERT_STRING_EQUAL(req.range, "");
    CU_ASSERT_STRING_EQUAL(req.if_none_match, "");

    /* A CORS preflight; a method we do not serve; an empty value; bare
     * LFs; leading empty lines; "?" with nothing after it;
     * Content-Length: 0. */
    CU_ASSERT_FATAL(accepted("OPTIONS /live/x.flv HTTP/1.1\r\nHost: h\r\n"
                             "Origin: https://a.example\r\n"
                             "Access-Control-Request-Method: GET\r\n\r\n",
                             &req));
    CU_ASSERT_EQUAL(req.method, SL_WEB_OPTIONS);
    CU_ASSERT_FATAL(accepted("DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n", &req));
    CU_ASSERT_EQUAL(req.method, SL_WEB_OTHER);
    CU_ASSERT_FATAL(
        accepted("GET / HTTP/1.1\r\nHost: h\r\nOrigin:\r\n\r\n", &req));
    CU_ASSERT_STRING_EQUAL(req.origin, "");
    CU_ASSERT_FATAL(accepted("GET /x HTTP/1.1\nHost: h\n\n", &req));
    CU_ASSERT_STRING_EQUAL(req.path, "/x");
    CU_ASSERT_FATAL(
        accepted("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", &req));
    CU_ASSERT_FATAL(accepted("GET /x? HTTP/1.1\r\nHost: h\r\n\r\n", &req));
    CU_ASSERT_STRING_EQUAL(req.path, "/x");
    CU_ASSERT_STRING_EQUAL(req.query, "");
    CU_ASSERT_FATAL(accepted("GET / HTTP/1.1\r\nHost: h\r\n"
                             "Content-Length: 0\r\n\r\n",
                             &req));
    /* UTF-8 and safe escapes decode; a query keeps its escapes and may
     * hold '?', '/' and "..". */
    CU_ASSERT_FATAL(accepted("GET /live/caf%C3%A9%20x.flv?a=../..//%2f "
                             "HTTP/1.1\r\nHost: h\r\n\r\n",
                             &req));
    CU_ASSERT_STRING_EQUAL(req.path, "/live/caf\xc3\xa9 x.flv");
    CU_ASSERT_STRING_EQUAL(req.query, "a=../..//%2f");
}

static void
test_pipelined(void)
{
    static const char *const heads[] = {
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
        "HEAD /b?q HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    };
    char                  s[256];
    struct sl_web_parser *p = sl_web_parser_new();
    struct sl_web_request req;
    size_t                len, off = 0, l0, l1, l2;
    int                   status, rc;

    l0 = strlen(heads[0]);
    l1 = strlen(heads[1]);
    l2 = strlen(heads[2]);
    snprintf(s, sizeof(s), "%s%s%sGET /d HTTP/1.1\r\nHo", heads[0], heads[1],
             heads[2]);
    len = strlen(s);
    /* One buffer: each head in turn, nothing of the next consumed. */
    rc = sl_web_parse(p, (const uint8_t *) s, len, &req, &status);
    CU_ASSERT_EQUAL(rc, (int) l0);
    CU_ASSERT_STRING_EQUAL(req.path, "/a");
    off += l0;
    rc = sl_web_parse(p, (const uint8_t *) s + off, len - off, &req, &status);
    CU_ASSERT_EQUAL(rc, (int) l1);
    CU_ASSERT_EQUAL(req.method, SL_WEB_HEAD);
    CU_ASSERT_STRING_EQUAL(req.path, "/b");
    CU_ASSERT_STRING_EQUAL(req.query, "q");
    off += l1;
    rc = sl_web_parse(p, (const uint8_t *) s + off, len - off, &req, &status);
    CU_ASSERT_EQUAL(rc, (int) l2);
    CU_ASSERT_STRING_EQUAL(req.path, "/c");
    CU_ASSERT_EQUAL(req.keep_alive, 0);
    off += l2;
    /* The parser does not hold "Connection: close" against the next
     * request: closing is the caller's decision. */
    rc = sl_web_parse(p, (const uint8_t *) s + off, len - off, &req, &status);
    CU_ASSERT_EQUAL(rc, -EAGAIN);
    rc = sl_web_parse(p, (const uint8_t *) "st: h\r\n\r\n", 9, &req, &status);
    CU_ASSERT_EQUAL(rc, 9);
    CU_ASSERT_STRING_EQUAL(req.path, "/d");
    sl_web_parser_free(p);

    /* The same stream every way, with each head's end. */
    struct results r;
    parse_every_way(s, &r);
    CU_ASSERT_EQUAL(r.n, 3);
    CU_ASSERT_EQUAL(r.end[0], l0);
    CU_ASSERT_EQUAL(r.end[1], l0 + l1);
    CU_ASSERT_EQUAL(r.end[2], l0 + l1 + l2);
    CU_ASSERT_EQUAL(r.last, -EAGAIN);
}

static void
test_keep_alive(void)
{
    static const struct {
        const char *head;
        int         minor, keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1, 1},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 1, 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n", 1, 1},
        {"GET / HTTP/1.0\r\n\r\n", 0, 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, 1},
        {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", 0, 0},
    };
    struct sl_web_request req;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_FATAL(accepted(cases[i].head, &req));
        CU_ASSERT_EQUAL(req.http_minor, cases[i].minor);
        CU_ASSERT_EQUAL(req.keep_alive, cases[i].keep_alive);
    }
}

static void
test_refusals(void)
{
    static const struct {
        const char *head;
        int         status;
    } cases[] = {
        /* Bad syntax. */
        {"GET / HTTP/1.1\r\nHost: h\r\nNo colon\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400},
        {"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/1.1 x\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/x.1\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
         "Content-Length: 0\r\n\r\n",
         400},
        /* Obs-fold, in a header and right after the request line. */
        {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
        /* Bare CRs, which lenient http_parser would take for line ends. */
        {"GET / HTTP/1.1\r\nHost: h\r\n\rX", 400},
        {"GET / HTTP/1.1\r\nHost:\rX\r\n\r\n", 400},
        {"GET / HTTP/1.1\rHost: h\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nA:\rB: c\r\n\r\n", 400},
        /* Whitespace in a header name. */
        {"GET / HTTP/1.1\r\nHost: h\r\nRange : x\r\n\r\n", 400},
        /* Host: missing in 1.1, or twice; the others twice. */
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nRange: a\r\nRange: b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nOrigin: a\r\norigin: a\r\n\r\n", 400},
        /* Targets that are not origin-form, or bad escapes. */
        {"GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET /x#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET /x%2 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET /x%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET /x% HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        /* A body. */
        {"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 413},
        {"GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n", 413},
        /* Transfer-Encoding of any kind, with Content-Length too. */
        {"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
         501},
        {"GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", 501},
        {"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         501},
        /* A method http_parser does not know. */
        {"FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 501},
        {"get / HTTP/1.1\r\nHost: h\r\n\r\n", 501},
        /* Not HTTP/1.x. */
        {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\n\r\n", 505},
        {"GET / HTTP/3.1\r\nHost: h\r\n\r\n", 505},
        {"GET /\r\n\r\n", 505},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = refusal(cases[i].head);
        if (got != cases[i].status)
            printf("\n%d, not %d: %s\n", got, cases[i].status, cases[i].head);
        CU_ASSERT_EQUAL(got, cases[i].status);
    }
}

static void
test_traversal(void)
{
    static const char *const paths[] = {
        "/..",
        "/../etc/passwd",
        "/live/../../etc/passwd",
        "/live/..",
        "/a..b", /* ".." anywhere, not only as a segment */
        "/%2e%2e/etc/passwd",
        "/%2E%2E/etc/passwd",
        "/%2E./x",
        "/.%2e/x",
        "/live/%2e%2e",
        "/..%2fetc", /* and %2f alone: */
        "/live%2fx.flv",
        "/live%2Fx.flv",
        "/..%5cetc",
        "/live%5cx",
        "/live\\x",
        "//etc/passwd",
        "/live//x.flv",
        "/live/%2f/x",
        "/./x",
        "/live/.",
        "/live/./x.flv",
        "/%2e/x",
        "/x%00.flv",
        "/x%0d%0aSet-Cookie:%20a",
        "/x%09",
        "/x%7f",
        "/x%1b",
    };
    char                  head[256];
    struct sl_web_request req;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n",
                 paths[i]);
        int got = refusal(head);
        if (got != 400)
            printf("\n%s: %d\n", paths[i], got);
        CU_ASSERT_EQUAL(got, 400);
    }
    /* Double encoding is decoded once: it stays literal, harmless. */
    CU_ASSERT_FATAL(
        accepted("GET /%252e%252e/%252fx HTTP/1.1\r\nHost: h\r\n\r\n", &req));
    CU_ASSERT_STRING_EQUAL(req.path, "/%2e%2e/%2fx");
    /* A dot inside a name is fine. */
    CU_ASSERT_FATAL(
        accepted("GET /.well-known/a.b.c HTTP/1.1\r\nHost: h\r\n\r\n", &req));
    CU_ASSERT_STRING_EQUAL(req.path, "/.well-known/a.b.c");
}

/* A head of exactly len bytes: a GET with one header X padded to fit. */
static char *
head_of(size_t len, const char *name)
{
    const char *start = "GET / HTTP/1.1\r\nHost: h\r\n";
    size_t      fixed = strlen(start) + strlen(name) + 2 + 4;
    char       *s = malloc(len + 1);

    CU_ASSERT_FATAL(len > fixed);
    sprintf(s, "%s%s: ", start, name);
    memset(s + strlen(s), 'a', len - fixed);
    strcpy(s + len - 4, "\r\n\r\n");
    return s;
}

static void
test_limits(void)
{
    struct sl_web_parser *p = sl_web_parser_new();
    struct sl_web_request req;
    struct results        r;
    size_t                cut = 1000;
    int                   status;
    char                 *s;

    /* A 64 KiB header: 431 whole, and after the limit in pieces. */
    s = head_of(64 * 1024 + 100, "X-Big");
    feed(s, strlen(s), NULL, 0, &r);
    CU_ASSERT_EQUAL(r.last, -EPROTO);
    CU_ASSERT_EQUAL(r.status, 431);
    feed(s, strlen(s), &cut, 1, &r);
    CU_ASSERT_EQUAL(r.status, 431);
    free(s);

    /* Exactly SL_WEB_MAX_HEAD is fine, one byte more is not. */
    s = head_of(SL_WEB_MAX_HEAD, "X-Pad");
    CU_ASSERT_EQUAL(
        sl_web_parse(p, (const uint8_t *) s, strlen(s), &req, &status),
        SL_WEB_MAX_HEAD);
    free(s);
    s = head_of(SL_WEB_MAX_HEAD + 1, "X-Pad");
    CU_ASSERT_EQUAL(
        sl_web_parse(p, (const uint8_t *) s, strlen(s), &req, &status),
        -EPROTO);
    CU_ASSERT_EQUAL(status, 431);
    free(s);
    /* The refusal sticks until a reset. */
    CU_ASSERT_EQUAL(sl_web_parse(p, (const uint8_t *) "GET", 3, &req, &status),
                    -EPROTO);
    sl_web_parser_reset(p);
    CU_ASSERT_EQUAL(sl_web_parse(p, (const uint8_t *) "GET", 3, &req, &status),
                    -EAGAIN);
    CU_ASSERT_EQUAL(sl_web_parse(p, NULL, 0, &req, &status), -EAGAIN);
    sl_web_parser_free(p);

    /* A value one byte over its field: 431; one that fits: accepted. */
    s = head_of(25 + 6 + 2 + 255 + 4, "Origin");
    CU_ASSERT(accepted(s, &req));
    CU_ASSERT_EQUAL(strlen(req.origin), 255);
    free(s);
    s = head_of(25 + 6 + 2 + 256 + 4, "Origin");
    CU_ASSERT_EQUAL(refusal(s), 431);
    free(s);
    s = head_of(25 + 13 + 2 + 128 + 4, "If-None-Match");
    CU_ASSERT_EQUAL(refusal(s), 431);
    free(s);
    s = head_of(25 + 5 + 2 + 128 + 4, "Range");
    CU_ASSERT_EQUAL(refusal(s), 431);
    free(s);
    /* Other headers are bounded only by the head. */
    s = head_of(8000, "Cookie");
    CU_ASSERT(accepted(s, &req));
    free(s);

    /* Targets: a path of 1023 bytes fits, 1024 is 414; so is a query of
     * 1024, a raw target of SL_WEB_MAX_TARGET, and one longer than the
     * whole head. */
    char *t = malloc(SL_WEB_MAX_HEAD + 100);
    s = malloc(SL_WEB_MAX_HEAD + 200);
    memset(t, 'a', SL_WEB_MAX_HEAD + 100);
    t[0] = '/';
    t[1023] = '\0';
    sprintf(s, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
    CU_ASSERT(accepted(s, &req));
    CU_ASSERT_EQUAL(strlen(req.path), 1023);
    t[1023] = 'a';
    t[1024] = '\0';
    sprintf(s, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
    CU_ASSERT_EQUAL(refusal(s), 414);
    t[1024] = 'a';
    t[1] = '?';
    t[1026] = '\0';
    sprintf(s, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
    CU_ASSERT_EQUAL(refusal(s), 414);
    t[1026] = 'a';
    t[1] = 'a';
    /* Escapes: 600 "%41" decode to 600 bytes but take 1800 raw. */
    for (int i = 0; i < 600; i++)
        memcpy(t + 1 + 3 * i, "%41", 3);
    t[1801] = '\0';
    sprintf(s, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
    CU_ASSERT(accepted(s, &req));
    CU_ASSERT_EQUAL(strlen(req.path), 601);
    memset(t, 'a', SL_WEB_MAX_HEAD + 100);
    t[0] = '/';
    t[SL_WEB_MAX_TARGET - 1] = '\0';
    sprintf(s, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
    CU_ASSERT_EQUAL(refusal(s), 414);
    t[SL_WEB_MAX_TARGET - 1] = 'a';
    t[SL_WEB_MAX_HEAD + 50] = '\0';
    sprintf(s, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
    feed(s, strlen(s), NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, 414);
    free(s);
    free(t);
}

static void
test_response_head(void)
{
    char                   out[512];
    struct sl_web_response r = {.status = 200,
                                .content_type = "video/x-flv",
                                .content_length = -1,
                                .cache_control = "no-cache",
                                .keep_alive = 0};
    int                    n;

    /* An HTTP-FLV stream: no length, ended by close. */
    n = sl_web_response_head(out, sizeof(out), &r);
    CU_ASSERT_STRING_EQUAL(out, "HTTP/1.1 200 OK\r\n"
                                "Server: sluice/" SL_VERSION "\r\n"
                                "Content-Type: video/x-flv\r\n"
                                "Cache-Control: no-cache\r\n"
                                "Connection: close\r\n"
                                "\r\n");
    CU_ASSERT_EQUAL(n, (int) strlen(out));
    /* Every smaller buffer: -ENOSPC, never an overrun. */
    for (int cap = 0; cap <= n; cap++) {
        char *small = malloc(cap ? (size_t) cap : 1);
        CU_ASSERT_EQUAL(sl_web_response_head(small, (size_t) cap, &r), -ENOSPC);
        free(small);
    }

    /* 404 with a body's length, keep-alive. */
    char body[64];
    int  blen = sl_web_error_body(body, sizeof(body), 404, "no such stream");
    CU_ASSERT_STRING_EQUAL(body, "404 Not Found: no such stream\n");
    r = (struct sl_web_response){.status = 404,
                                 .content_type = "text/plain; charset=utf-8",
                                 .content_length = blen,
                                 .keep_alive = 1};
    n = sl_web_response_head(out, sizeof(out), &r);
    CU_ASSERT_STRING_EQUAL(out, "HTTP/1.1 404 Not Found\r\n"
                                "Server: sluice/" SL_VERSION "\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Length: 30\r\n"
                                "Connection: keep-alive\r\n"
                                "\r\n");

    /* 405 with Allow. */
    r = (struct sl_web_response){.status = 405,
                                 .content_length = 0,
                                 .allow = "GET, HEAD, OPTIONS",
                                 .keep_alive = 1};
    n = sl_web_response_head(out, sizeof(out), &r);
    CU_ASSERT(n > 0);
    CU_ASSERT_STRING_EQUAL(out, "HTTP/1.1 405 Method Not Allowed\r\n"
                                "Server: sluice/" SL_VERSION "\r\n"
                                "Content-Length: 0\r\n"
                                "Allow: GET, HEAD, OPTIONS\r\n"
                                "Connection: keep-alive\r\n"
                                "\r\n");

    /* CORS: "*" needs no Vary, an echoed origin does; extra lines last. */
    r = (struct sl_web_response){.status = 200,
                                 .content_type = "video/x-flv",
                                 .content_length = -1,
                                 .allow_origin = "*"};
    sl_web_response_head(out, sizeof(out), &r);
    CU_ASSERT(strstr(out, "\r\nAccess-Control-Allow-Origin: *\r\n") != NULL);
    CU_ASSERT(strstr(out, "Vary") == NULL);
    r.allow_origin = "https://a.example";
    r.extra = "X-A: 1\r\nX-B: 2\r\n";
    sl_web_response_head(out, sizeof(out), &r);
    CU_ASSERT_STRING_EQUAL(out, "HTTP/1.1 200 OK\r\n"
                                "Server: sluice/" SL_VERSION "\r\n"
                                "Content-Type: video/x-flv\r\n"
                                "Access-Control-Allow-Origin: "
                                "https://a.example\r\n"
                                "Vary: Origin\r\n"
                                "Connection: close\r\n"
                                "X-A: 1\r\nX-B: 2\r\n"
                                "\r\n");

    /* No header injection, no malformed extra, no odd status. */
    r.extra = NULL;
    r.allow_origin = "https://a.example\r\nSet-Cookie: x=1";
    CU_ASSERT_EQUAL(sl_web_response_head(out, sizeof(out), &r), -EINVAL);
    r.allow_origin = "a\nb";
    CU_ASSERT_EQUAL(sl_web_response_head(out, sizeof(out), &r), -EINVAL);
    r.allow_origin = NULL;
    r.content_type = "text/html\r";
    CU_ASSERT_EQUAL(sl_web_response_head(out, sizeof(out), &r), -EINVAL);
    r.content_type = NULL;
    static const char *const bad_extra[] = {
        "X: 1", "X: 1\n",       "X: 1\r",
        "\r\n", "X: 1\r\n\r\n", "X: 1\r\nY\x01: 2\r\n"};
    for (size_t i = 0; i < sizeof(bad_extra) / sizeof(bad_extra[0]); i++) {
        r.extra = bad_extra[i];
        CU_ASSERT_EQUAL(sl_web_response_head(out, sizeof(out), &r), -EINVAL);
    }
    r.extra = "";
    CU_ASSERT(sl_web_response_head(out, sizeof(out), &r) > 0);
    r.extra = NULL;
    r.status = 99;
    CU_ASSERT_EQUAL(sl_web_response_head(out, sizeof(out), &r), -EINVAL);
    r.status = 600;
    CU_ASSERT_EQUAL(sl_web_response_head(out, sizeof(out), &r), -EINVAL);
}

static void
test_reason_mime_body(void)
{
    static const int statuses[] = {200, 204, 206, 304, 400, 403, 404, 405,
                                   413, 414, 416, 431, 500, 501, 503, 505};
    char             out[32];

    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        CU_ASSERT(strcmp(sl_web_reason(statuses[i]), "Unknown") != 0);
    CU_ASSERT_STRING_EQUAL(sl_web_reason(431),
                           "Request Header Fields Too Large");
    CU_ASSERT_STRING_EQUAL(sl_web_reason(299), "Unknown");

    CU_ASSERT_STRING_EQUAL(sl_web_mime("/live/a.flv"), "video/x-flv");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/live/a.m3u8"),
                           "application/vnd.apple.mpegurl");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/a/seg1.m4s"), "video/iso.segment");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/a/init.mp4"), "video/mp4");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/a/s.ts"), "video/mp2t");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/app.js"), "text/javascript");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/index.HTML"),
                           "text/html; charset=utf-8");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/s.css"), "text/css");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/api.json"), "application/json");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/i.svg"), "image/svg+xml");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/favicon.ico"), "image/x-icon");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/p.png"), "image/png");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/a.flv.bak"),
                           "application/octet-stream");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/dir.flv/x"),
                           "application/octet-stream");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/noext"), "application/octet-stream");
    CU_ASSERT_STRING_EQUAL(sl_web_mime("/x."), "application/octet-stream");
    CU_ASSERT_STRING_EQUAL(sl_web_mime(NULL), "application/octet-stream");

    CU_ASSERT_EQUAL(sl_web_error_body(out, sizeof(out), 404, NULL), 14);
    CU_ASSERT_STRING_EQUAL(out, "404 Not Found\n");
    CU_ASSERT_EQUAL(sl_web_error_body(out, sizeof(out), 400, "a\r\nb"), 22);
    CU_ASSERT_STRING_EQUAL(out, "400 Bad Request: a??b\n");
    CU_ASSERT_EQUAL(sl_web_error_body(out, 14, 404, NULL), -ENOSPC);
    CU_ASSERT_EQUAL(sl_web_error_body(out, 15, 404, NULL), 14);
    CU_ASSERT_EQUAL(sl_web_error_body(out, 0, 404, NULL), -ENOSPC);
}

static void
test_stream_path(void)
{
    char app[SL_NAME_MAX], name[SL_NAME_MAX], big[300];

    CU_ASSERT_EQUAL(sl_web_stream_path("/live/cam1.flv", ".flv", app,
                                       sizeof(app), name, sizeof(name)),
                    0);
    CU_ASSERT_STRING_EQUAL(app, "live");
    CU_ASSERT_STRING_EQUAL(name, "cam1");
    CU_ASSERT_EQUAL(sl_web_stream_path("/my-app_2/a.b-c_d.flv", ".flv", app,
                                       sizeof(app), name, sizeof(name)),
                    0);
    CU_ASSERT_STRING_EQUAL(app, "my-app_2");
    CU_ASSERT_STRING_EQUAL(name, "a.b-c_d");
    CU_ASSERT_EQUAL(sl_web_stream_path("/live/x.m3u8", ".m3u8", app,
                                       sizeof(app), name, sizeof(name)),
                    0);
    CU_ASSERT_STRING_EQUAL(name, "x");

    static const char *const bad[] = {
        "/live/cam1.mp4",
        "/live/cam1.FLV",
        "/live/.flv",
        "//cam1.flv",
        "/live/a/b.flv",
        "/live",
        "live/cam1.flv",
        "/cam1.flv",
        "/live/cam 1.flv",
        "/live/a%2fb.flv",
        "/li?ve/a.flv",
        "/live/..flv",
        "/../a.flv",
        "/./a.flv",
        "/live/cam\xc3\xa9.flv",
        "",
        "/live/a.flv/",
        "/live/a\\b.flv",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = sl_web_stream_path(bad[i], ".flv", app, sizeof(app), name,
                                    sizeof(name));
        if (rc != -EINVAL)
            printf("\naccepted %s\n", bad[i]);
        CU_ASSERT_EQUAL(rc, -EINVAL);
        CU_ASSERT_STRING_EQUAL(app, "");
        CU_ASSERT_STRING_EQUAL(name, "");
    }
    /* An ext with a slash would let a third segment in. */
    CU_ASSERT_EQUAL(sl_web_stream_path("/live/a/b.flv", "/b.flv", app,
                                       sizeof(app), name, sizeof(name)),
                    -EINVAL);

    /* Lengths: SL_NAME_MAX - 1 fits, SL_NAME_MAX does not, nor more than
     * the caller's buffer. */
    memset(big, 'a', sizeof(big));
    big[0] = '/';
    strcpy(big + SL_NAME_MAX, "/n.flv");
    CU_ASSERT_EQUAL(
        sl_web_stream_path(big, ".flv", app, sizeof(app), name, sizeof(name)),
        0);
    CU_ASSERT_EQUAL(strlen(app), SL_NAME_MAX - 1);
    big[SL_NAME_MAX] = 'a';
    strcpy(big + SL_NAME_MAX + 1, "/n.flv");
    CU_ASSERT_EQUAL(
        sl_web_stream_path(big, ".flv", app, sizeof(app), name, sizeof(name)),
        -EINVAL);
    CU_ASSERT_EQUAL(
        sl_web_stream_path("/live/abcd.flv", ".flv", app, sizeof(app), name, 4),
        -EINVAL);
    CU_ASSERT_EQUAL(
        sl_web_stream_path("/live/abc.flv", ".flv", app, sizeof(app), name, 4),
        0);

    /* An encoded slash never gets this far: the parser refuses it. */
    CU_ASSERT_EQUAL(refusal("GET /live%2fa/b.flv HTTP/1.1\r\nHost: h\r\n\r\n"),
                    400);
    CU_ASSERT_EQUAL(refusal("GET /live/a%2Fb.flv HTTP/1.1\r\nHost: h\r\n\r\n"),
                    400);
}

/* Range: one byte range served, the rest whole, past the end a 416. */
static void
test_range(void)
{
    uint64_t a = 7, b = 7;

    CU_ASSERT_EQUAL(sl_web_range("", 100, &a, &b), 0);
    CU_ASSERT_EQUAL(sl_web_range("bytes=0-9", 100, &a, &b), 1);
    CU_ASSERT(a == 0 && b == 9);
    CU_ASSERT_EQUAL(sl_web_range("bytes=90-", 100, &a, &b), 1);
    CU_ASSERT(a == 90 && b == 99);
    CU_ASSERT_EQUAL(sl_web_range("bytes=50-1000", 100, &a, &b), 1);
    CU_ASSERT(a == 50 && b == 99);
    CU_ASSERT_EQUAL(sl_web_range("bytes=-10", 100, &a, &b), 1);
    CU_ASSERT(a == 90 && b == 99);
    CU_ASSERT_EQUAL(sl_web_range("bytes=-1000", 100, &a, &b), 1);
    CU_ASSERT(a == 0 && b == 99);
    CU_ASSERT_EQUAL(sl_web_range("Bytes = 1-1", 100, &a, &b), 1);
    CU_ASSERT(a == 1 && b == 1);
    /* Not satisfiable. */
    CU_ASSERT_EQUAL(sl_web_range("bytes=100-", 100, &a, &b), -1);
    CU_ASSERT_EQUAL(sl_web_range("bytes=-0", 100, &a, &b), -1);
    CU_ASSERT_EQUAL(sl_web_range("bytes=0-", 0, &a, &b), -1);
    /* Served whole: other units, several ranges, nonsense. */
    CU_ASSERT_EQUAL(sl_web_range("items=0-1", 100, &a, &b), 0);
    CU_ASSERT_EQUAL(sl_web_range("bytes=0-1,5-6", 100, &a, &b), 0);
    CU_ASSERT_EQUAL(sl_web_range("bytes=5-4", 100, &a, &b), 0);
    CU_ASSERT_EQUAL(sl_web_range("bytes=x-4", 100, &a, &b), 0);
    CU_ASSERT_EQUAL(sl_web_range("bytes=1-2x", 100, &a, &b), 0);
    CU_ASSERT_EQUAL(sl_web_range("bytes=99999999999999999999-", 100, &a, &b),
                    0);
    CU_ASSERT_EQUAL(sl_web_range("bytes", 100, &a, &b), 0);
}

void
sl_test_suite_web(void)
{
    CU_pSuite s = CU_add_suite("web", NULL, NULL);

    CU_add_test(s, "request: whole heads, every split agrees",
                test_whole_request);
    CU_add_test(s, "request: pipelined heads one at a time", test_pipelined);
    CU_add_test(s, "request: keep-alive by version and Connection",
                test_keep_alive);
    CU_add_test(s, "request: each refusal and its status", test_refusals);
    CU_add_test(s, "request: path traversal in every encoding is 400",
                test_traversal);
    CU_add_test(s, "request: head, field and target limits", test_limits);
    CU_add_test(s, "response: heads, CORS, no header injection",
                test_response_head);
    CU_add_test(s, "response: reasons, MIME types, error bodies",
                test_reason_mime_body);
    CU_add_test(s, "stream path: /APP/NAME.ext", test_stream_path);
    CU_add_test(s, "range: one range, whole, or 416", test_range);
}
