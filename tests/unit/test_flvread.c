/*
 * The load generator's HTTP-FLV parsers (bench/flvread.c).  An FLV
 * stream written with the server's own tag writer (rtmp/flv.c) is read
 * whole, split in two at every offset and byte by byte, each piece
 * copied to end right before a PROT_NONE page so an over-read faults;
 * every way must give the same events.  Response heads are found at
 * every split and judged; each broken stream is refused.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bench/flvread.h"
#include "tests/support/guard.h"
#include "rtmp/flv.h"

/* ---- the stream ---- */

#define MAX_EVENTS 16

struct event {
    enum sl_bench_flv_event event;
    uint8_t                 type, flags;
    uint32_t                ts, len, head_len;
    uint8_t                 head[SL_BENCH_HASH_BYTES];
};

struct stream {
    uint8_t      bytes[4096];
    size_t       len;
    struct event exp[MAX_EVENTS];
    size_t       nexp;
};

static void
add_tag(struct stream *s, uint8_t type, uint32_t ts, uint32_t len)
{
    struct event *e = &s->exp[s->nexp++];

    sl_flv_tag_header(s->bytes + s->len, type, len, ts);
    s->len += SL_FLV_TAG_HDR;
    for (uint32_t i = 0; i < len; i++)
        s->bytes[s->len + i] = (uint8_t) (i * 7 + ts + type);
    e->event = SL_BENCH_FLV_TAG;
    e->type = type;
    e->ts = ts;
    e->len = len;
    e->head_len = len < SL_BENCH_HASH_BYTES ? len : SL_BENCH_HASH_BYTES;
    memcpy(e->head, s->bytes + s->len, e->head_len);
    s->len += len;
    sl_flv_tag_trailer(s->bytes + s->len, len);
    s->len += SL_FLV_TAG_TAIL;
}

/* A file header, then a script tag, a video frame longer than the
 * hashed bytes, audio, an empty video tag and a timestamp that needs
 * the extension byte. */
static void
make_stream(struct stream *s)
{
    memset(s, 0, sizeof(*s));
    sl_flv_file_header(s->bytes, 1, 1);
    s->len = SL_FLV_FILE_HDR;
    s->exp[0].event = SL_BENCH_FLV_HEADER;
    s->exp[0].flags = 5;
    s->nexp = 1;
    add_tag(s, 18, 0, 40);
    add_tag(s, 9, 33, 300);
    add_tag(s, 8, 40, 3);
    add_tag(s, 9, 66, 0);
    add_tag(s, 9, 0x12345678, SL_BENCH_HASH_BYTES);
}

/* Feeds s in pieces of at most `piece` bytes (0: two pieces split at
 * `split`) and checks the events against s->exp. */
static void
feed(const struct stream *s, size_t piece, size_t split)
{
    struct sl_bench_flvrd r;
    size_t                off = 0, got = 0;

    sl_bench_flvrd_init(&r);
    while (off < s->len) {
        size_t         n = piece ? piece : (off < split ? split : s->len - off);
        const uint8_t *p;

        if (n > s->len - off)
            n = s->len - off;
        p = sl_guard_put(s->bytes + off, n);
        while (n > 0) {
            struct sl_bench_flv_msg m;
            int                     k = sl_bench_flvrd_read(&r, p, n, &m);

            CU_ASSERT_FATAL(k >= 0 && (size_t) k <= n);
            CU_ASSERT_FATAL(k > 0 || m.event != SL_BENCH_FLV_NONE);
            p += k;
            n -= (size_t) k;
            off += (size_t) k;
            if (m.event == SL_BENCH_FLV_NONE)
                continue;
            CU_ASSERT_FATAL(got < s->nexp);
            CU_ASSERT_EQUAL(m.event, s->exp[got].event);
            if (m.event == SL_BENCH_FLV_HEADER) {
                CU_ASSERT_EQUAL(m.flags, s->exp[got].flags);
            } else {
                CU_ASSERT_EQUAL(m.type, s->exp[got].type);
                CU_ASSERT_EQUAL(m.ts, s->exp[got].ts);
                CU_ASSERT_EQUAL(m.len, s->exp[got].len);
                CU_ASSERT_EQUAL_FATAL(m.head_len, s->exp[got].head_len);
                CU_ASSERT(memcmp(m.head, s->exp[got].head, m.head_len) == 0);
            }
            got++;
        }
    }
    CU_ASSERT_EQUAL(got, s->nexp);
}

static void
test_stream_every_split(void)
{
    static struct stream s;

    make_stream(&s);
    feed(&s, s.len, 0);
    feed(&s, 1, 0);
    feed(&s, 7, 0);
    for (size_t split = 1; split < s.len; split++)
        feed(&s, 0, split);
}

/* A DataOffset above 9 is skipped, as players do. */
static void
test_larger_header(void)
{
    static const uint8_t    in[] = {'F', 'L',  'V',  1,    1, 0, 0, 0,
                                    12,  0xaa, 0xbb, 0xcc, 0, 0, 0, 0};
    struct sl_bench_flvrd   r;
    struct sl_bench_flv_msg m;

    sl_bench_flvrd_init(&r);
    CU_ASSERT_EQUAL(
        sl_bench_flvrd_read(&r, sl_guard_put(in, sizeof(in)), sizeof(in), &m),
        (int) sizeof(in));
    CU_ASSERT_EQUAL(m.event, SL_BENCH_FLV_HEADER);
    CU_ASSERT_EQUAL(m.flags, 1);
}

/* Reads s until it fails; the reader's reason, or NULL if it did not. */
static const char *
refusal(const uint8_t *in, size_t len)
{
    struct sl_bench_flvrd   r;
    struct sl_bench_flv_msg m;
    const uint8_t          *p = sl_guard_put(in, len);

    sl_bench_flvrd_init(&r);
    while (len > 0) {
        int k = sl_bench_flvrd_read(&r, p, len, &m);

        if (k < 0) {
            CU_ASSERT_EQUAL(k, -EPROTO);
            return r.err;
        }
        p += k;
        len -= (size_t) k;
    }
    return NULL;
}

static void
test_refusals(void)
{
    static struct stream s;
    uint8_t              b[sizeof(s.bytes)];
    size_t               tag = SL_FLV_FILE_HDR; /* the first tag */

    make_stream(&s);
    CU_ASSERT_PTR_NULL(refusal(s.bytes, s.len));
    memcpy(b, s.bytes, s.len);
    b[0] = 'G';
    CU_ASSERT_PTR_NOT_NULL(refusal(b, s.len));
    memcpy(b, s.bytes, s.len);
    b[3] = 2; /* version */
    CU_ASSERT_PTR_NOT_NULL(refusal(b, s.len));
    memcpy(b, s.bytes, s.len);
    b[8] = 8; /* header size below 9 */
    CU_ASSERT_PTR_NOT_NULL(refusal(b, s.len));
    memcpy(b, s.bytes, s.len);
    b[12] = 1; /* PreviousTagSize0 */
    CU_ASSERT_PTR_NOT_NULL(refusal(b, s.len));
    memcpy(b, s.bytes, s.len);
    b[tag] = 0x29; /* video with the encryption filter */
    CU_ASSERT_PTR_NOT_NULL(refusal(b, s.len));
    memcpy(b, s.bytes, s.len);
    b[tag] = 7; /* no such tag type */
    CU_ASSERT_PTR_NOT_NULL(refusal(b, s.len));
    memcpy(b, s.bytes, s.len);
    b[tag + 10] = 1; /* stream id */
    CU_ASSERT_PTR_NOT_NULL(refusal(b, s.len));
    memcpy(b, s.bytes, s.len);
    b[tag + SL_FLV_TAG_HDR + 40 + 3] ^= 1; /* the script tag's trailer */
    CU_ASSERT_PTR_NOT_NULL(refusal(b, s.len));
}

/* ---- response heads ---- */

static const char ok_head[] = "HTTP/1.1 200 OK\r\n"
                              "Server: sluice/0.1.0\r\n"
                              "content-type: Video/X-FLV\r\n"
                              "Cache-Control: no-cache, no-store\r\n"
                              "Connection: close\r\n"
                              "\r\n";

static void
test_head_end_every_split(void)
{
    char   in[sizeof(ok_head) + 8];
    size_t hl = strlen(ok_head);

    /* The head, then the FLV bytes that follow it in the same read. */
    memcpy(in, ok_head, hl);
    memcpy(in + hl, "FLV\1\5", 5);
    for (size_t n = 0; n <= hl + 5; n++) {
        const uint8_t *p = sl_guard_put((const uint8_t *) in, n);

        CU_ASSERT_EQUAL(sl_bench_http_head_end(p, n, 0),
                        n < hl ? -EAGAIN : (int) hl);
        /* Searching on from any point before the blank line finds it. */
        for (size_t from = 1; n >= hl && from + 4 <= hl; from++)
            CU_ASSERT_EQUAL(sl_bench_http_head_end(p, n, from), (int) hl);
    }
}

static int
check(const char *head, char *why)
{
    size_t n = strlen(head);

    return sl_bench_http_head_check(sl_guard_put((const uint8_t *) head, n), n,
                                    why, 96);
}

static void
test_head_check(void)
{
    char why[96];

    CU_ASSERT_EQUAL(check(ok_head, why), 0);
    CU_ASSERT_EQUAL(check("HTTP/1.0 200\r\nContent-Type:video/x-flv; x=1\r\n"
                          "\r\n",
                          why),
                    0);
    CU_ASSERT_EQUAL(check("HTTP/1.1 404 Not Found\r\nContent-Type: "
                          "text/plain\r\n\r\n",
                          why),
                    -EPROTO);
    CU_ASSERT_STRING_EQUAL(why, "HTTP 404 Not Found");
    CU_ASSERT_EQUAL(check("HTTP/1.1 200 OK\r\nContent-Type: video/x-flvx\r\n"
                          "\r\n",
                          why),
                    -EPROTO);
    CU_ASSERT_EQUAL(check("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", why),
                    -EPROTO);
    CU_ASSERT_EQUAL(check("HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n",
                          why),
                    -EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "chunked"));
    CU_ASSERT_EQUAL(check("HTTP/1.1 200 OK\r\nContent-Type video/x-flv\r\n"
                          "\r\n",
                          why),
                    -EPROTO);
    CU_ASSERT_EQUAL(check("HTTP/2 200\r\n\r\n", why), -EPROTO);
    CU_ASSERT_EQUAL(check("HTTP/1.1 20 OK\r\n\r\n", why), -EPROTO);
    CU_ASSERT_EQUAL(check("HTTP/1.1 2000\r\n\r\n", why), -EPROTO);
    /* The server's bytes are quoted printable only. */
    CU_ASSERT_EQUAL(check("HTTP/1.1 500 \x01\x80\r\n\r\n", why), -EPROTO);
    CU_ASSERT_STRING_EQUAL(why, "HTTP 500 ??");
}

void
sl_test_suite_flvread(void)
{
    CU_pSuite s =
        CU_add_suite("flvread", sl_guard_suite_init, sl_guard_suite_free);

    CU_add_test(s, "FLV stream: whole, every split, byte by byte",
                test_stream_every_split);
    CU_add_test(s, "FLV stream: DataOffset above 9 is skipped",
                test_larger_header);
    CU_add_test(s, "FLV stream: each broken part is refused", test_refusals);
    CU_add_test(s, "response head: its end at every split",
                test_head_end_every_split);
    CU_add_test(s, "response head: 200 video/x-flv, close-delimited",
                test_head_check);
}
