#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hls/playlist.h"

/* 2026-12-07T12:34:56.789Z */
#define T0 1796646896789LL
#define Q "tok=a%2Fb&sid=9"

static char text[16384];

/* Whether text has exactly this line; its index (from 0) or -1. */
static int
line_at(const char *t, const char *line)
{
    size_t len = strlen(line);
    int    i = 0;

    for (const char *p = t; *p != '\0'; i++) {
        const char *nl = strchr(p, '\n');
        size_t      n = nl != NULL ? (size_t) (nl - p) : strlen(p);

        if (n == len && memcmp(p, line, len) == 0)
            return i;
        p += n + (nl != NULL);
    }
    return -1;
}

static int
count(const char *t, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(t, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

static const struct sl_hls_part parts12[] = {
    {500, 1}, {500, 0}, {500, 1}, {500, 0}};
static const struct sl_hls_part   parts13[] = {{500, 1}, {334, 0}};
static struct sl_hls_seg          segs3[3];
static const struct sl_hls_report report = {"../live_360p/media.m3u8", 13, 1};

/* Three segments (10..12, the newest with its parts), cur 13 with two
 * parts, one rendition report, a carried query. */
static struct sl_hls_media_view
ll_view(void)
{
    struct sl_hls_media_view v;

    memset(segs3, 0, sizeof(segs3));
    segs3[0] = (struct sl_hls_seg){.msn = 10, .dur_ms = 2000, .pdt_ms = T0};
    segs3[1] =
        (struct sl_hls_seg){.msn = 11, .dur_ms = 2033, .pdt_ms = T0 + 2000};
    segs3[2] = (struct sl_hls_seg){.msn = 12,
                                   .dur_ms = 2000,
                                   .pdt_ms = T0 + 4033,
                                   .nparts = 4,
                                   .parts = parts12};
    memset(&v, 0, sizeof(v));
    v.target_s = 2;
    v.part_target_ms = 500;
    v.nsegs = 3;
    v.segs = segs3;
    v.cur = (struct sl_hls_seg){
        .msn = 13, .pdt_ms = T0 + 6033, .nparts = 2, .parts = parts13};
    v.query = Q;
    v.nreports = 1;
    v.reports = &report;
    return v;
}

static void
test_ll_full(void)
{
    struct sl_hls_media_view v = ll_view();
    const char              *want =
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:10\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,"
        "CAN-SKIP-UNTIL=12.000\n"
        "#EXT-X-PART-INF:PART-TARGET=0.500\n"
        "#EXT-X-MAP:URI=\"init0.mp4?" Q "\"\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:34:56.789Z\n"
        "#EXTINF:2.000,\n"
        "s10.m4s?" Q "\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:34:58.789Z\n"
        "#EXTINF:2.033,\n"
        "s11.m4s?" Q "\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:35:00.822Z\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"p12.0.m4s?" Q "\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"p12.1.m4s?" Q "\"\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"p12.2.m4s?" Q "\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"p12.3.m4s?" Q "\"\n"
        "#EXTINF:2.000,\n"
        "s12.m4s?" Q "\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:35:02.822Z\n"
        "#EXT-X-PART:DURATION=0.500,URI=\"p13.0.m4s?" Q "\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=0.334,URI=\"p13.1.m4s?" Q "\"\n"
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p13.2.m4s?" Q "\"\n"
        "#EXT-X-RENDITION-REPORT:URI=\"../live_360p/media.m3u8?" Q "\","
        "LAST-MSN=13,LAST-PART=1\n";
    int n = sl_hls_render_media(&v, text, sizeof(text));

    CU_ASSERT_EQUAL(n, (int) strlen(want));
    CU_ASSERT_STRING_EQUAL(text, want);
}

/* Without a query no URI has a "?". */
static void
test_ll_no_query(void)
{
    struct sl_hls_media_view v = ll_view();

    v.query = "";
    CU_ASSERT(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    CU_ASSERT_EQUAL(count(text, "?"), 0);
    CU_ASSERT(line_at(text, "s10.m4s") >= 0);
    CU_ASSERT(line_at(text, "#EXT-X-MAP:URI=\"init0.mp4\"") >= 0);
    CU_ASSERT(line_at(text, "#EXT-X-PRELOAD-HINT:TYPE=PART,"
                            "URI=\"p13.2.m4s\"") >= 0);
    v.query = NULL;
    CU_ASSERT(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    CU_ASSERT_EQUAL(count(text, "?"), 0);
}

/* part_target_ms 0: the same segments as a plain playlist, not one LL
 * tag, even though the view still carries parts and a report. */
static void
test_plain(void)
{
    struct sl_hls_media_view v = ll_view();

    v.part_target_ms = 0;
    v.skip = 1;
    CU_ASSERT(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    CU_ASSERT_EQUAL(line_at(text, "#EXT-X-VERSION:6"), 1);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-PART"), 0);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-SERVER-CONTROL"), 0);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-PRELOAD-HINT"), 0);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-RENDITION-REPORT"), 0);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-SKIP"), 0);
    CU_ASSERT_EQUAL(count(text, "p13."), 0); /* nothing of cur */
    CU_ASSERT_EQUAL(count(text, "s13."), 0);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-PART:"), 0);
    CU_ASSERT_EQUAL(count(text, "#EXTINF:"), 3);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-PROGRAM-DATE-TIME:"), 3);
    CU_ASSERT(line_at(text, "s12.m4s?" Q) >= 0);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-ENDLIST"), 0);
}

static void
test_ended(void)
{
    struct sl_hls_media_view v = ll_view();
    int                      n;

    v.ended = 1;
    n = sl_hls_render_media(&v, text, sizeof(text));
    CU_ASSERT(n > 0);
    CU_ASSERT(n > 15 && strcmp(text + n - 15, "#EXT-X-ENDLIST\n") == 0);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-ENDLIST"), 1);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-PRELOAD-HINT"), 0);
    CU_ASSERT_EQUAL(count(text, "p13."), 0);
    CU_ASSERT_EQUAL(count(text, "2026-12-07T12:35:02.822Z"), 0);
    /* Kept: harmless, and a late delta request is still understood. */
    CU_ASSERT_EQUAL(count(text, "#EXT-X-SERVER-CONTROL:"), 1);
    /* The last segment's parts stay (they were published). */
    CU_ASSERT_EQUAL(count(text, "#EXT-X-PART:"), 4);

    v.part_target_ms = 0;
    n = sl_hls_render_media(&v, text, sizeof(text));
    CU_ASSERT(n > 15 && strcmp(text + n - 15, "#EXT-X-ENDLIST\n") == 0);
}

/* Twelve 4 s segments from msn 100, CAN-SKIP-UNTIL 24 s. */
static struct sl_hls_seg segs12[12];

static struct sl_hls_media_view
skip_view(uint32_t cur_part_ms)
{
    static struct sl_hls_part cur_part;
    struct sl_hls_media_view  v;

    for (int i = 0; i < 12; i++)
        segs12[i] = (struct sl_hls_seg){
            .msn = 100 + (uint64_t) i, .dur_ms = 4000, .pdt_ms = T0 + i * 4000};
    cur_part = (struct sl_hls_part){cur_part_ms, 1};
    memset(&v, 0, sizeof(v));
    v.target_s = 4;
    v.part_target_ms = 1000;
    v.nsegs = 12;
    v.segs = segs12;
    v.cur = (struct sl_hls_seg){.msn = 112,
                                .pdt_ms = T0 + 48000,
                                .nparts = cur_part_ms > 0,
                                .parts = &cur_part};
    v.query = Q;
    v.skip = 1;
    return v;
}

static void
check_skipped(const struct sl_hls_media_view *v, int n)
{
    char line[64], before[64];
    int  at;

    CU_ASSERT_FATAL(sl_hls_render_media(v, text, sizeof(text)) > 0);
    CU_ASSERT_EQUAL(line_at(text, "#EXT-X-MEDIA-SEQUENCE:100"), 3);
    if (n == 0) {
        CU_ASSERT_EQUAL(count(text, "#EXT-X-SKIP"), 0);
        CU_ASSERT_EQUAL(line_at(text, "#EXT-X-VERSION:6"), 1);
        CU_ASSERT(line_at(text, "s100.m4s?" Q) >= 0);
        return;
    }
    snprintf(line, sizeof(line), "#EXT-X-SKIP:SKIPPED-SEGMENTS=%d", n);
    CU_ASSERT_EQUAL(line_at(text, "#EXT-X-VERSION:9"), 1);
    at = line_at(text, line);
    CU_ASSERT(at > 0);
    /* Right after the playlist tags, before any segment. */
    CU_ASSERT_EQUAL(at, line_at(text, "#EXT-X-PART-INF:PART-TARGET=1.000") + 1);
    CU_ASSERT_EQUAL(count(text, "#EXTINF:"), 12 - n);
    snprintf(before, sizeof(before), "s%d.m4s?%s", 100 + n - 1, Q);
    CU_ASSERT_EQUAL(line_at(text, before), -1);
    snprintf(line, sizeof(line), "s%d.m4s?%s", 100 + n, Q);
    CU_ASSERT(line_at(text, line) > at);
    /* The first listed segment still names its map (after its
     * discontinuity, when it has one). */
    at = line_at(text, "#EXT-X-MAP:URI=\"init0.mp4?" Q "\"");
    CU_ASSERT(at > 0 && at < line_at(text, line));
}

static void
test_skip(void)
{
    struct sl_hls_media_view v = skip_view(1000);

    /* Live edge 49 s: segments ending before 25 s are more than 24 s
     * behind it, 100..105. */
    check_skipped(&v, 6);
    /* Live edge 48 s: 104 ends exactly 24 s before it and stays. */
    v = skip_view(0);
    check_skipped(&v, 5);
    v = skip_view(1000);
    v.skip = 2; /* v2: no date ranges to skip, so the same */
    check_skipped(&v, 6);
    v.skip = 0;
    check_skipped(&v, 0);
    /* Ended: the live edge is the last segment's end. */
    v = skip_view(1000);
    v.ended = 1;
    check_skipped(&v, 5);
}

static void
test_skip_stops_at_changes(void)
{
    struct sl_hls_media_view v = skip_view(1000);

    /* Never across a discontinuity: 103 is listed with its tag. */
    segs12[3].discontinuity = 1;
    check_skipped(&v, 3);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-DISCONTINUITY\n"), 1);
    /* A discontinuity on the oldest: nothing skipped (its tag counts in
     * every later segment's discontinuity sequence number). */
    v = skip_view(1000);
    segs12[0].discontinuity = 1;
    check_skipped(&v, 0);
    /* Never across an init change: 104 onwards use init 1; 104 is
     * listed first, with its own map. */
    v = skip_view(1000);
    for (int i = 4; i < 12; i++)
        segs12[i].init_id = 1;
    v.cur.init_id = 1;
    CU_ASSERT_FATAL(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    CU_ASSERT(line_at(text, "#EXT-X-SKIP:SKIPPED-SEGMENTS=4") > 0);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-MAP:"), 1);
    CU_ASSERT_EQUAL(line_at(text, "#EXT-X-MAP:URI=\"init1.mp4?" Q "\""),
                    line_at(text, "#EXT-X-SKIP:SKIPPED-SEGMENTS=4") + 1);
    /* An init change well inside the skippable range: 102 starts init 1,
     * so only 100 and 101 go. */
    v = skip_view(1000);
    for (int i = 2; i < 12; i++)
        segs12[i].init_id = 1;
    v.cur.init_id = 1;
    CU_ASSERT_FATAL(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    CU_ASSERT(line_at(text, "#EXT-X-SKIP:SKIPPED-SEGMENTS=2") > 0);
    CU_ASSERT(line_at(text, "s102.m4s?" Q) > 0);
    CU_ASSERT_EQUAL(line_at(text, "s101.m4s?" Q), -1);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-MAP:"), 1);
}

/* Discontinuity sequence, discontinuity and map lines in order, and cur
 * starting a new timeline before its first part. */
static void
test_discontinuity(void)
{
    struct sl_hls_media_view v = ll_view();
    int                      s11, d, m, pdt;

    v.disc_seq = 7;
    segs3[1].discontinuity = 1;
    segs3[1].init_id = 2;
    segs3[2].init_id = 2;
    v.cur.init_id = 2;
    CU_ASSERT_FATAL(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    CU_ASSERT_EQUAL(line_at(text, "#EXT-X-DISCONTINUITY-SEQUENCE:7"), 4);
    s11 = line_at(text, "s11.m4s?" Q);
    d = line_at(text, "#EXT-X-DISCONTINUITY");
    m = line_at(text, "#EXT-X-MAP:URI=\"init2.mp4?" Q "\"");
    pdt = line_at(text, "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T12:34:58.789Z");
    CU_ASSERT(line_at(text, "s10.m4s?" Q) < d);
    CU_ASSERT(d >= 0 && d + 1 == m && m + 1 == pdt && pdt + 2 == s11);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-MAP:"), 2);
    /* cur (init 2, as before) has no map line of its own. */
    CU_ASSERT_EQUAL(count(text, "init2.mp4"), 1);

    /* cur starts a new timeline and init before its first part: the
     * hint follows its discontinuity and map; no date yet. */
    v = ll_view();
    v.cur.nparts = 0;
    v.cur.discontinuity = 1;
    v.cur.init_id = 5;
    CU_ASSERT_FATAL(sl_hls_render_media(&v, text, sizeof(text)) > 0);
    d = line_at(text, "#EXT-X-DISCONTINUITY");
    CU_ASSERT(d > line_at(text, "s12.m4s?" Q));
    CU_ASSERT_EQUAL(line_at(text, "#EXT-X-MAP:URI=\"init5.mp4?" Q "\""), d + 1);
    CU_ASSERT_EQUAL(line_at(text, "#EXT-X-PRELOAD-HINT:TYPE=PART,"
                                  "URI=\"p13.0.m4s?" Q "\""),
                    d + 2);
    CU_ASSERT_EQUAL(count(text, "#EXT-X-PROGRAM-DATE-TIME:"), 3);
}

/* Dates across the epoch, a leap day, before 1970, and a playlist of
 * cur alone (its msn is the media sequence). */
static void
test_dates(void)
{
    static const struct {
        int64_t     ms;
        const char *iso;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {951868799999LL, "2000-02-29T23:59:59.999Z"},
        {951868800000LL, "2000-03-01T00:00:00.000Z"},
        {-2203891200000LL, "1900-03-01T00:00:00.000Z"},
        {T0, "2026-12-07T12:34:56.789Z"},
    };
    struct sl_hls_part       part = {200, 1};
    struct sl_hls_media_view v;
    char                     want[80];

    memset(&v, 0, sizeof(v));
    v.target_s = 1;
    v.part_target_ms = 200;
    v.query = "";
    v.cur = (struct sl_hls_seg){.msn = 42, .nparts = 1, .parts = &part};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v.cur.pdt_ms = cases[i].ms;
        CU_ASSERT_FATAL(sl_hls_render_media(&v, text, sizeof(text)) > 0);
        snprintf(want, sizeof(want), "#EXT-X-PROGRAM-DATE-TIME:%s",
                 cases[i].iso);
        CU_ASSERT(line_at(text, want) >= 0);
    }
    CU_ASSERT(line_at(text, "#EXT-X-MEDIA-SEQUENCE:42") >= 0);
    CU_ASSERT(line_at(text, "#EXT-X-PART-INF:PART-TARGET=0.200") >= 0);
    CU_ASSERT(line_at(text, "#EXT-X-MAP:URI=\"init0.mp4\"") >= 0);
}

static const struct sl_hls_variant_info variants[] = {
    {"live_720p/media.m3u8", 3000000, 2500000, 1280, 720, 29.97,
     "avc1.64001f,mp4a.40.2"},
    {"live_audio/media.m3u8", 130000, 0, 0, 0, 0, "mp4a.40.2"},
};

static void
test_master(void)
{
    const char *want =
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2500000,"
        "RESOLUTION=1280x720,FRAME-RATE=29.970,"
        "CODECS=\"avc1.64001f,mp4a.40.2\"\n"
        "live_720p/media.m3u8?" Q "\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=130000,CODECS=\"mp4a.40.2\"\n"
        "live_audio/media.m3u8?" Q "\n";
    int n = sl_hls_render_master(variants, 2, Q, text, sizeof(text));

    CU_ASSERT_EQUAL(n, (int) strlen(want));
    CU_ASSERT_STRING_EQUAL(text, want);
    /* The order given is kept; no query, no "?". */
    struct sl_hls_variant_info rev[2] = {variants[1], variants[0]};

    CU_ASSERT(sl_hls_render_master(rev, 2, "", text, sizeof(text)) > 0);
    CU_ASSERT_EQUAL(count(text, "?"), 0);
    CU_ASSERT(line_at(text, "live_audio/media.m3u8") <
              line_at(text, "live_720p/media.m3u8"));
    CU_ASSERT(sl_hls_render_master(NULL, 0, NULL, text, sizeof(text)) > 0);
    CU_ASSERT_STRING_EQUAL(text, "#EXTM3U\n#EXT-X-VERSION:6\n"
                                 "#EXT-X-INDEPENDENT-SEGMENTS\n");
}

/* Every cap below the length: -1, out emptied, nothing written past
 * cap (the guard bytes after it stay). */
static void
check_every_cap(int (*render)(char *, size_t))
{
    int   n = render(text, sizeof(text));
    char *buf = malloc((size_t) n + 1 + 16);

    CU_ASSERT_FATAL(n > 0 && buf != NULL);
    for (size_t cap = 0; cap <= (size_t) n; cap++) {
        memset(buf, 0x5a, (size_t) n + 1 + 16);
        CU_ASSERT_EQUAL(render(buf, cap), -1);
        if (cap > 0)
            CU_ASSERT_EQUAL(buf[0], '\0');
        for (size_t i = cap; i < (size_t) n + 1 + 16; i++)
            if (buf[i] != 0x5a) {
                CU_FAIL("written past cap");
                break;
            }
    }
    CU_ASSERT_EQUAL(render(buf, (size_t) n + 1), n);
    CU_ASSERT_STRING_EQUAL(buf, text);
    free(buf);
}

static int
render_ll(char *out, size_t cap)
{
    struct sl_hls_media_view v = ll_view();

    return sl_hls_render_media(&v, out, cap);
}

static int
render_master(char *out, size_t cap)
{
    return sl_hls_render_master(variants, 2, Q, out, cap);
}

static void
test_cap_too_small(void)
{
    check_every_cap(render_ll);
    check_every_cap(render_master);
}

/* Parses an exact-size copy of q, so ASan reports any read past len. */
static int
parse(const char *q, struct sl_hls_query *out, char *carry, size_t cap)
{
    size_t len = strlen(q);
    char  *copy = malloc(len ? len : 1);
    int    rc;

    memcpy(copy, q, len);
    rc = sl_hls_parse_query(copy, len, out, carry, cap);
    free(copy);
    return rc;
}

static void
test_query_good(void)
{
    struct sl_hls_query h;
    char                carry[128];

    CU_ASSERT_EQUAL(parse("_HLS_msn=12&_HLS_part=3&_HLS_skip=YES&" Q, &h, carry,
                          sizeof(carry)),
                    0);
    CU_ASSERT(h.msn == 12 && h.part == 3 && h.skip == 1);
    CU_ASSERT_STRING_EQUAL(carry, Q);
    /* Directives anywhere; the rest keeps its order and its bytes. */
    CU_ASSERT_EQUAL(parse("a=1&_HLS_skip=v2&b&_HLS_msn=0&c=&d=%22x%00", &h,
                          carry, sizeof(carry)),
                    0);
    CU_ASSERT(h.msn == 0 && h.part == -1 && h.skip == 2);
    CU_ASSERT_STRING_EQUAL(carry, "a=1&b&c=&d=%22x%00");
    /* Empty names dropped; names that only look like directives, or
     * that are escaped, are carried on. */
    CU_ASSERT_EQUAL(parse("&&=x&_HLS_msnX=1&_hls_msn=2&_HLS%5Fmsn=3&"
                          "x=_HLS_msn=4&",
                          &h, carry, sizeof(carry)),
                    0);
    CU_ASSERT(h.msn == -1 && h.part == -1 && h.skip == 0);
    CU_ASSERT_STRING_EQUAL(carry,
                           "_HLS_msnX=1&_hls_msn=2&_HLS%5Fmsn=3&x=_HLS_msn=4");
    CU_ASSERT_EQUAL(
        parse("_HLS_msn=4294967295&_HLS_part=007", &h, carry, sizeof(carry)),
        0);
    CU_ASSERT(h.msn == 4294967295LL && h.part == 7);
    CU_ASSERT_STRING_EQUAL(carry, "");
    CU_ASSERT_EQUAL(parse("", &h, carry, sizeof(carry)), 0);
    CU_ASSERT(h.msn == -1 && h.part == -1 && h.skip == 0);
    CU_ASSERT_STRING_EQUAL(carry, "");
    CU_ASSERT_EQUAL(sl_hls_parse_query(NULL, 0, &h, carry, sizeof(carry)), 0);
    /* Every RFC 3986 query character passes. */
    CU_ASSERT_EQUAL(
        parse("k=AZaz09-._~!$'()*+,;=:@/?%", &h, carry, sizeof(carry)), 0);
    CU_ASSERT_STRING_EQUAL(carry, "k=AZaz09-._~!$'()*+,;=:@/?%");
}

static void
test_query_errors(void)
{
    static const char *bad[] = {
        "_HLS_msn",
        "_HLS_msn=",
        "_HLS_msn=-1",
        "_HLS_msn=+1",
        "_HLS_msn=1a",
        "_HLS_msn= 1",
        "_HLS_msn=0x10",
        "_HLS_msn=%31",
        "_HLS_msn=4294967296",
        "_HLS_msn=99999999999",
        "_HLS_part=1",
        "a=1&_HLS_part=0",
        "_HLS_msn=1&_HLS_msn=1",
        "_HLS_msn=1&_HLS_part=1&_HLS_part=2",
        "_HLS_skip=yes",
        "_HLS_skip=NO",
        "_HLS_skip=",
        "_HLS_skip",
        "_HLS_skip=YESS",
        "_HLS_skip=v3",
        "_HLS_skip=YES&_HLS_skip=v2",
        /* Carried bytes that would break a quoted URI. */
        "a=\"x",
        "a=b c",
        "a=\x01",
        "a=\x7f",
        "a=\xc3\xa9",
        "a#b",
        "a=<b>",
        "a=\\",
        "\"=1",
    };
    struct sl_hls_query h;
    char                carry[64];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(bad[i], &h, carry, sizeof(carry));

        if (rc != -EINVAL)
            CU_FAIL(bad[i]);
    }
    /* A NUL byte in the middle (length, not C string). */
    CU_ASSERT_EQUAL(sl_hls_parse_query("a=b\0c", 5, &h, carry, sizeof(carry)),
                    -EINVAL);
    CU_ASSERT_EQUAL(
        sl_hls_parse_query("_HLS_msn=1\0", 11, &h, carry, sizeof(carry)),
        -EINVAL);
}

static void
test_query_nospace(void)
{
    struct sl_hls_query h;
    char                carry[32];

    memset(carry, 'x', sizeof(carry));
    /* "tok=abcdef" and its NUL fit in 11; "&sid=9" does not. */
    CU_ASSERT_EQUAL(parse("tok=abcdef&sid=9&_HLS_msn=5", &h, carry, 11),
                    -ENOSPC);
    CU_ASSERT_STRING_EQUAL(carry, "tok=abcdef");
    CU_ASSERT_EQUAL(carry[11], 'x');
    CU_ASSERT_EQUAL(h.msn, 5); /* directives after it still parsed */
    /* No later parameter is added once one was left out. */
    CU_ASSERT_EQUAL(parse("tok=abcdefgh&s=1", &h, carry, 11), -ENOSPC);
    CU_ASSERT_STRING_EQUAL(carry, "");
    CU_ASSERT_EQUAL(parse("tok=abcdef&sid=9", &h, carry, 17), 0);
    CU_ASSERT_STRING_EQUAL(carry, "tok=abcdef&sid=9");
    CU_ASSERT_EQUAL(parse("tok=abcdef&sid=9", &h, carry, 16), -ENOSPC);
    CU_ASSERT_STRING_EQUAL(carry, "tok=abcdef");
    /* A malformed directive wins over a full carry. */
    CU_ASSERT_EQUAL(parse("tok=abcdef&_HLS_msn=x", &h, carry, 2), -EINVAL);
    /* Nothing fits in 0 bytes, not even the NUL; nothing is written. */
    carry[0] = 'x';
    CU_ASSERT_EQUAL(parse("_HLS_msn=1", &h, carry, 0), -ENOSPC);
    CU_ASSERT_EQUAL(carry[0], 'x');
    CU_ASSERT_EQUAL(parse("", &h, carry, 1), 0);
    CU_ASSERT_STRING_EQUAL(carry, "");
}

/* Every prefix of a query that mixes all kinds, from an exact-size copy:
 * no over-read, and a result that is 0 or -EINVAL. */
static void
test_query_every_prefix(void)
{
    const char *q = "_HLS_msn=12&_HLS_part=3&tok=a%2F&=x&&_HLS_skip=YES&z";
    size_t      len = strlen(q);
    struct sl_hls_query h;
    char                carry[64];

    for (size_t n = 0; n <= len; n++) {
        char *copy = malloc(n ? n : 1);
        int   rc;

        memcpy(copy, q, n);
        rc = sl_hls_parse_query(copy, n, &h, carry, sizeof(carry));
        CU_ASSERT(rc == 0 || rc == -EINVAL);
        CU_ASSERT(strlen(carry) < sizeof(carry));
        free(copy);
    }
}

void
sl_test_suite_hls_playlist(void)
{
    CU_pSuite s = CU_add_suite("hls_playlist", NULL, NULL);

    CU_add_test(s, "LL media playlist, line by line", test_ll_full);
    CU_add_test(s, "no query: no '?' on any URI", test_ll_no_query);
    CU_add_test(s, "part target 0: a plain playlist", test_plain);
    CU_add_test(s, "ended: ENDLIST, no cur, no hint", test_ended);
    CU_add_test(s, "delta update: count, boundary, version 9", test_skip);
    CU_add_test(s, "delta update stops at a discontinuity or init change",
                test_skip_stops_at_changes);
    CU_add_test(s, "discontinuity sequence, tags and maps in order",
                test_discontinuity);
    CU_add_test(s, "program date-time in ISO 8601 UTC", test_dates);
    CU_add_test(s, "master playlist: attributes, order, query", test_master);
    CU_add_test(s, "cap too small: -1, nothing past cap", test_cap_too_small);
    CU_add_test(s, "query: directives split, the rest carried",
                test_query_good);
    CU_add_test(s, "query: each malformed form is -EINVAL", test_query_errors);
    CU_add_test(s, "query: -ENOSPC keeps whole parameters", test_query_nospace);
    CU_add_test(s, "query: every prefix stays in bounds",
                test_query_every_prefix);
}
