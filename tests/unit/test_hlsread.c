/*
 * The load generator's LL-HLS parsers (bench/hlsread.c).  A response
 * head is fed as it grows, one split after another, each time copied to
 * end right before a PROT_NONE page so an over-read faults; heads that
 * the viewer cannot follow are refused.  A media playlist as Sluice
 * writes it is scanned for its parts from every place a viewer may be
 * at; every prefix of it is scanned too (an over-read faults), and each
 * broken tag is refused.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/hlsread.h"
#include "tests/support/guard.h"

/* ---- response heads ---- */

static const char part_head[] = "HTTP/1.1 200 OK\r\n"
                                "Server: sluice/0.1.0\r\n"
                                "Content-Type: video/iso.segment\r\n"
                                "content-length:  205859 \r\n"
                                "Connection: keep-alive\r\n"
                                "\r\n";

static void
test_head_every_split(void)
{
    size_t hl = strlen(part_head);
    char   in[sizeof(part_head) + 8];

    /* The head, then the body's first bytes in the same read. */
    memcpy(in, part_head, hl);
    memcpy(in + hl, "\0\0\0\x18styp", 8);
    for (size_t n = 0; n <= hl + 8; n++) {
        /* The first read brought n bytes, the second the rest. */
        for (size_t from = 0; from <= n; from++) {
            struct sl_bench_http_resp r;
            char                      why[96];
            int                       rc;

            rc = sl_bench_http_resp_head(sl_guard_put(in, n), n, from, &r, why,
                                         sizeof(why));
            if (n < hl) {
                CU_ASSERT_EQUAL(rc, -EAGAIN);
                continue;
            }
            if (from >= hl)
                continue; /* a caller never searches past the end */
            CU_ASSERT_EQUAL_FATAL(rc, (int) hl);
            CU_ASSERT_EQUAL(r.status, 200);
            CU_ASSERT_EQUAL(r.content_length, 205859);
            CU_ASSERT_EQUAL(r.close, 0);
        }
    }
}

static int
head(const char *h, struct sl_bench_http_resp *r, char *why)
{
    size_t n = strlen(h);

    return sl_bench_http_resp_head(sl_guard_put(h, n), n, 0, r, why, 96);
}

static void
test_head_fields(void)
{
    struct sl_bench_http_resp r;
    char                      why[96];

    CU_ASSERT_EQUAL(head("HTTP/1.0 404\r\nContent-Length: 9\r\n\r\n", &r, why),
                    35);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_EQUAL(r.close, 1); /* HTTP/1.0 */
    CU_ASSERT(head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
                   "Content-Length: 0\r\n\r\n",
                   &r, why) > 0);
    CU_ASSERT_EQUAL(r.close, 0);
    CU_ASSERT(head("HTTP/1.1 200 OK\r\nConnection: x, close\r\n"
                   "Content-Length: 1\r\n\r\n",
                   &r, why) > 0);
    CU_ASSERT_EQUAL(r.close, 1);
    /* No body without a length: 204 and 304. */
    CU_ASSERT(head("HTTP/1.1 204 No Content\r\n\r\n", &r, why) > 0);
    CU_ASSERT_EQUAL(r.content_length, 0);
    /* The same length twice is one length. */
    CU_ASSERT(head("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n"
                   "Content-Length: 7\r\n\r\n",
                   &r, why) > 0);
    CU_ASSERT_EQUAL(r.content_length, 7);
}

static void
test_head_refusals(void)
{
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\n\r\n", /* no length */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000\r\n\r\n",
        "HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n",
    };
    struct sl_bench_http_resp r;
    char                      why[96];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(head(bad[i], &r, why), -EPROTO);
        CU_ASSERT(why[0] != '\0');
    }
    CU_ASSERT_EQUAL(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         "\r\n",
                         &r, why),
                    -EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "chunked"));
}

static void
test_head_too_long(void)
{
    static char               big[SL_BENCH_HLS_HEAD_MAX + 64];
    struct sl_bench_http_resp r;
    char                      why[96];
    size_t                    n;

    /* A head that has not ended by the limit is refused; one byte short
     * of it, it may still end. */
    n = (size_t) snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX: ");
    memset(big + n, 'a', sizeof(big) - n);
    CU_ASSERT_EQUAL(sl_bench_http_resp_head(
                        sl_guard_put(big, SL_BENCH_HLS_HEAD_MAX - 1),
                        SL_BENCH_HLS_HEAD_MAX - 1, 0, &r, why, sizeof(why)),
                    -EAGAIN);
    CU_ASSERT_EQUAL(
        sl_bench_http_resp_head(sl_guard_put(big, SL_BENCH_HLS_HEAD_MAX),
                                SL_BENCH_HLS_HEAD_MAX, 0, &r, why, sizeof(why)),
        -EPROTO);
    /* A blank line past the limit is not looked for. */
    memcpy(big + SL_BENCH_HLS_HEAD_MAX, "\r\n\r\n", 4);
    CU_ASSERT_EQUAL(sl_bench_http_resp_head(sl_guard_put(big, sizeof(big)),
                                            sizeof(big), 0, &r, why,
                                            sizeof(why)),
                    -EPROTO);
}

/* ---- media playlists ---- */

/* As Sluice renders one (hls/playlist.c): two complete segments with
 * parts, the open one with two, a hint for its third. */
static const char playlist[] =
    "#EXTM3U\n"
    "#EXT-X-VERSION:6\n"
    "#EXT-X-TARGETDURATION:2\n"
    "#EXT-X-MEDIA-SEQUENCE:1796647940\n"
    "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,"
    "CAN-SKIP-UNTIL=12.000\n"
    "#EXT-X-PART-INF:PART-TARGET=0.500\n"
    "#EXT-X-MAP:URI=\"init1.mp4\"\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:52:20.817Z\n"
    "#EXTINF:1.500,\n"
    "s1796647940.m4s\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:52:22.317Z\n"
    "#EXT-X-PART:DURATION=0.500,URI=\"p1796647941.0.m4s\",INDEPENDENT=YES\n"
    "#EXT-X-PART:DURATION=0.500,URI=\"p1796647941.1.m4s\"\n"
    "#EXT-X-PART:DURATION=0.467,URI=\"p1796647941.2.m4s\"\n"
    "#EXTINF:1.467,\n"
    "s1796647941.m4s\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:52:23.784Z\n"
    "#EXT-X-PART:DURATION=0.500,URI=\"p1796647942.0.m4s\",INDEPENDENT=YES\n"
    "#EXT-X-PART:DURATION=0.500,URI=\"p1796647942.1.m4s?sid=9f\"\n"
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p1796647942.2.m4s\"\n"
    "#EXT-X-RENDITION-REPORT:URI=\"../b_360p/media.m3u8\",LAST-MSN=1,"
    "LAST-PART=0\n";

/* 2026-12-07T12:52:22.317Z in Unix milliseconds. */
#define SEG41_MS 1796647942317LL

static int
scan(const char *pl, const struct sl_bench_hls_pos *after,
     struct sl_bench_hls_scan *s)
{
    size_t n = strlen(pl);

    return sl_bench_hls_scan(sl_guard_put(pl, n), n, after, s);
}

static void
test_scan_from_every_place(void)
{
    struct sl_bench_hls_scan s;
    struct sl_bench_hls_pos  at;

    /* No part yet: the newest. */
    CU_ASSERT_EQUAL_FATAL(scan(playlist, NULL, &s), 0);
    CU_ASSERT_EQUAL(s.part_target_ms, 500);
    CU_ASSERT(s.have_newest && s.newest.msn == 1796647942 &&
              s.newest.part == 1);
    CU_ASSERT(s.have_hint && s.hint.msn == 1796647942 && s.hint.part == 2);
    CU_ASSERT(s.have_next && s.next.msn == 1796647942 && s.next.part == 1);
    CU_ASSERT_STRING_EQUAL(s.next_uri, "p1796647942.1.m4s?sid=9f");
    CU_ASSERT_EQUAL(s.next_end_ms, SEG41_MS + 1467 + 1000);
    CU_ASSERT_EQUAL(s.ended, 0);

    /* Inside a segment, across a segment's end, at the newest. */
    at = (struct sl_bench_hls_pos){1796647941, 0};
    CU_ASSERT_EQUAL(scan(playlist, &at, &s), 0);
    CU_ASSERT(s.have_next && s.next.msn == 1796647941 && s.next.part == 1);
    CU_ASSERT_STRING_EQUAL(s.next_uri, "p1796647941.1.m4s");
    CU_ASSERT_EQUAL(s.next_end_ms, SEG41_MS + 1000);
    at.part = 2;
    CU_ASSERT_EQUAL(scan(playlist, &at, &s), 0);
    CU_ASSERT(s.have_next && s.next.msn == 1796647942 && s.next.part == 0);
    CU_ASSERT_EQUAL(s.next_end_ms, SEG41_MS + 1467 + 500);
    at = (struct sl_bench_hls_pos){1796647942, 1};
    CU_ASSERT_EQUAL(scan(playlist, &at, &s), 0);
    CU_ASSERT_EQUAL(s.have_next, 0);
    CU_ASSERT(s.have_hint && s.hint.part == 2);

    /* Far behind: the oldest part listed. */
    at = (struct sl_bench_hls_pos){5, 9};
    CU_ASSERT_EQUAL(scan(playlist, &at, &s), 0);
    CU_ASSERT(s.have_next && s.next.msn == 1796647941 && s.next.part == 0);
}

static void
test_scan_every_prefix(void)
{
    size_t n = strlen(playlist);

    /* Whatever the cut, the scan reads only what it was given. */
    for (size_t i = 0; i <= n; i++) {
        struct sl_bench_hls_scan s;
        int rc = sl_bench_hls_scan(sl_guard_put(playlist, i), i, NULL, &s);

        CU_ASSERT(rc == 0 || rc == -EPROTO);
        if (i < 7)
            CU_ASSERT_EQUAL(rc, -EPROTO);
    }
}

static void
test_scan_variants(void)
{
    struct sl_bench_hls_scan s;
    struct sl_bench_hls_pos  at = {107, 0};

    /* A delta update, CRLF lines, a date with an offset, the end. */
    CU_ASSERT_EQUAL_FATAL(
        scan("#EXTM3U\r\n"
             "#EXT-X-MEDIA-SEQUENCE:100\r\n"
             "#EXT-X-SKIP:SKIPPED-SEGMENTS=6\r\n"
             "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T02:00:01.5+02:00\r\n"
             "#EXT-X-PART:DURATION=1,URI=\"/abs/a.m4s\"\r\n"
             "#EXTINF:1.0,\r\n"
             "s106.m4s\r\n"
             "#EXT-X-PART:URI=\"b.m4s\",DURATION=0.25\r\n"
             "#EXT-X-PART:DURATION=0.25,URI=\"c.m4s\"\r\n"
             "#EXT-X-ENDLIST\r\n",
             &at, &s),
        0);
    CU_ASSERT(s.have_newest && s.newest.msn == 107 && s.newest.part == 1);
    CU_ASSERT_STRING_EQUAL(s.next_uri, "c.m4s");
    CU_ASSERT_EQUAL(s.next_end_ms, 1500 + 1000 + 500);
    CU_ASSERT_EQUAL(s.ended, 1);
    CU_ASSERT_EQUAL(s.have_hint, 0);
    CU_ASSERT_EQUAL(s.part_target_ms, 0);
    /* No date: the end is unknown. */
    CU_ASSERT_EQUAL(
        scan("#EXTM3U\n#EXT-X-PART:DURATION=0.5,URI=\"a\"", NULL, &s), 0);
    CU_ASSERT(s.have_next && s.next.msn == 0 && s.next.part == 0);
    CU_ASSERT_EQUAL(s.next_end_ms, -1);
}

static void
test_scan_refusals(void)
{
    static const char *const bad[] = {
        "",
        "#EXTM3",
        "EXTM3U\n",
        "#EXTM3U\n#EXT-X-PART:DURATION=0.5\n",
        "#EXTM3U\n#EXT-X-PART:URI=\"a\"\n",
        "#EXTM3U\n#EXT-X-PART:DURATION=0.5,URI=\"\"\n",
        "#EXTM3U\n#EXT-X-PART:DURATION=0.5,URI=\"a\n",
        "#EXTM3U\n#EXT-X-PART:DURATION=x,URI=\"a\"\n",
        "#EXTM3U\n#EXT-X-PART:DURATION=0.5,URI=\"a\"x,B=1\n",
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-1\n",
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:99999999999999999999\n",
        "#EXTM3U\ns1.m4s\n#EXT-X-MEDIA-SEQUENCE:5\n",
        "#EXTM3U\n#EXTINF:abc,\n",
        "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-13-07T12:52:20Z\n",
        "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:52:20+02\n",
        "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-12-07\n",
        "#EXTM3U\n#EXT-X-SKIP:SKIPPED=2\n",
        "#EXTM3U\n#EXT-X-PART-INF:PART-TARGET=\n",
    };
    struct sl_bench_hls_scan s;
    char                     uri[SL_BENCH_HLS_URI_MAX + 64];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(scan(bad[i], NULL, &s), -EPROTO);
    /* A URI one byte too long for the viewer to keep. */
    snprintf(uri, sizeof(uri), "#EXTM3U\n#EXT-X-PART:DURATION=1,URI=\"%0*d\"",
             SL_BENCH_HLS_URI_MAX, 0);
    CU_ASSERT_EQUAL(scan(uri, NULL, &s), -EPROTO);
    snprintf(uri, sizeof(uri), "#EXTM3U\n#EXT-X-PART:DURATION=1,URI=\"%0*d\"",
             SL_BENCH_HLS_URI_MAX - 1, 0);
    CU_ASSERT_EQUAL(scan(uri, NULL, &s), 0);
}

void
sl_test_suite_hlsread(void)
{
    CU_pSuite s =
        CU_add_suite("hlsread", sl_guard_suite_init, sl_guard_suite_free);

    CU_add_test(s, "response head: found at every split",
                test_head_every_split);
    CU_add_test(s, "response head: status, length, close", test_head_fields);
    CU_add_test(s, "response head: what a viewer cannot follow is refused",
                test_head_refusals);
    CU_add_test(s, "response head: 8 KiB at most", test_head_too_long);
    CU_add_test(s, "playlist: the next part from every place",
                test_scan_from_every_place);
    CU_add_test(s, "playlist: every prefix", test_scan_every_prefix);
    CU_add_test(s, "playlist: delta update, CRLF, offsets, end",
                test_scan_variants);
    CU_add_test(s, "playlist: each broken tag is refused", test_scan_refusals);
}
