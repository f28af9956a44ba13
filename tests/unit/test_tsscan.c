/*
 * The SRT player's MPEG-TS scanner (bench/tsscan.c).  A stream of
 * hand-made packets (tables, video and audio PES starts and
 * continuations, an adaptation-field-only packet, null packets, a
 * duplicate) is scanned whole, split in two at every offset and byte by
 * byte, each piece copied to end right before a PROT_NONE page so an
 * over-read faults; every way must give the same counts.  Counter skips
 * are counted, a discontinuity_indicator is not one, and a lost sync or
 * an oversized adaptation field is refused at every split.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bench/tsscan.h"
#include "tests/support/guard.h"

#define PKT SL_BENCH_TS_PACKET
#define MAX_PKTS 24

/* ---- packets ---- */

static uint8_t stream[MAX_PKTS * PKT];
static size_t  npkts;

/* Appends a packet: pid, counter, payload_unit_start, an adaptation
 * field of aflen bytes (-1: none) with flags, and a payload that begins
 * with lead[0..nlead) when has_payload. */
static void
add(uint16_t pid, uint8_t cc, int pusi, int aflen, uint8_t afflags,
    int has_payload, const uint8_t *lead, size_t nlead)
{
    uint8_t *p = stream + npkts++ * PKT;
    size_t   off = 4;

    memset(p, 0xff, PKT);
    p[0] = 0x47;
    p[1] = (uint8_t) ((pusi ? 0x40 : 0) | (pid >> 8));
    p[2] = (uint8_t) pid;
    p[3] = (uint8_t) (((aflen >= 0 ? 2 : 0) | (has_payload ? 1 : 0)) << 4 |
                      (cc & 0x0f));
    if (aflen >= 0) {
        p[4] = (uint8_t) aflen;
        if (aflen > 0)
            p[5] = afflags;
        off = 5 + (size_t) aflen;
    }
    if (has_payload && nlead > 0)
        memcpy(p + off, lead, nlead);
}

static const uint8_t pat[] = {0x00, 0x00, 0xb0, 0x0d};
static const uint8_t pmt[] = {0x00, 0x02, 0xb0, 0x17};
static const uint8_t vpes[] = {0x00, 0x00, 0x01, 0xe0, 0x00, 0x00};
static const uint8_t apes[] = {0x00, 0x00, 0x01, 0xc0, 0x01, 0x20};

/* Two video frames and two audio frames with everything around them. */
static void
build_good(void)
{
    npkts = 0;
    add(0x0000, 0, 1, -1, 0, 1, pat, sizeof(pat));
    add(0x1000, 0, 1, -1, 0, 1, pmt, sizeof(pmt));
    add(0x0100, 0, 1, 7, 0x10, 1, vpes, sizeof(vpes)); /* PCR, frame 1 */
    add(0x0100, 1, 0, -1, 0, 1, NULL, 0);
    add(0x0101, 5, 1, -1, 0, 1, apes, sizeof(apes)); /* audio 1 */
    add(0x1fff, 9, 0, -1, 0, 1, NULL, 0);            /* null: no counter */
    add(0x0100, 1, 0, 183, 0x00, 0, NULL, 0);        /* AF only: cc stays */
    add(0x0100, 2, 0, -1, 0, 1, NULL, 0);
    add(0x0100, 3, 1, -1, 0, 1, vpes, sizeof(vpes)); /* frame 2 */
    add(0x0100, 3, 1, -1, 0, 1, vpes, sizeof(vpes)); /* its duplicate */
    add(0x0101, 6, 1, 0, 0, 1, apes, sizeof(apes));  /* audio 2, AF len 0 */
    add(0x1fff, 2, 0, -1, 0, 1, NULL, 0);
}

/* Scans stream[0..len): split once at `split` when step is 0, else in
 * pieces of `step` bytes.  The sum of the returns, or the first
 * negative one. */
static int
scan(struct sl_bench_ts *t, size_t len, size_t step, size_t split)
{
    size_t at = 0;
    int    frames = 0, first = 1;

    sl_bench_ts_init(t);
    while (at < len || first) {
        size_t n = step ? step : first ? split : len - at;
        int    rc;

        first = 0;
        if (n > len - at)
            n = len - at;
        rc = sl_bench_ts_scan(t, sl_guard_put(stream + at, n), n);
        if (rc < 0)
            return rc;
        frames += rc;
        at += n;
    }
    return frames;
}

static void
check_good(const struct sl_bench_ts *t, int frames)
{
    CU_ASSERT_EQUAL(frames, 2);
    CU_ASSERT_EQUAL(t->video_pes, 2);
    CU_ASSERT_EQUAL(t->audio_pes, 2);
    CU_ASSERT_EQUAL(t->packets, npkts);
    CU_ASSERT_EQUAL(t->cc_errors, 0);
    CU_ASSERT_EQUAL(t->untracked, 0);
    CU_ASSERT_EQUAL(t->npart, 0);
}

static void
test_every_split(void)
{
    struct sl_bench_ts t;
    size_t             len;

    build_good();
    len = npkts * PKT;
    check_good(&t, scan(&t, len, len, 0));
    for (size_t split = 0; split <= len; split++)
        check_good(&t, scan(&t, len, 0, split));
    check_good(&t, scan(&t, len, 1, 0));
    check_good(&t, scan(&t, len, 1316, 0)); /* SRT's seven packets */
}

static void
test_counter_skips(void)
{
    struct sl_bench_ts t;

    npkts = 0;
    add(0x0100, 0, 1, -1, 0, 1, vpes, sizeof(vpes));
    add(0x0100, 2, 0, -1, 0, 1, NULL, 0);   /* 1 lost */
    add(0x0100, 9, 0, 1, 0x80, 1, NULL, 0); /* discontinuity: restart */
    add(0x0100, 10, 0, -1, 0, 1, NULL, 0);
    add(0x0100, 10, 0, -1, 0, 1, NULL, 0); /* one duplicate is allowed */
    add(0x0100, 10, 0, -1, 0, 1, NULL, 0); /* a second is not */
    add(0x0100, 15, 0, -1, 0, 1, NULL, 0);
    add(0x0100, 0, 0, -1, 0, 1, NULL, 0); /* wraps */
    for (size_t split = 0; split <= npkts * PKT; split += 47) {
        CU_ASSERT_EQUAL(scan(&t, npkts * PKT, 0, split), 1);
        CU_ASSERT_EQUAL(t.cc_errors, 3); /* 0->2, the second repeat, 10->15 */
    }
}

static void
test_many_pids(void)
{
    struct sl_bench_ts t;

    npkts = 0;
    /* Two PIDs more than the table holds: counted, not followed. */
    for (uint16_t i = 0; i < SL_BENCH_TS_PIDS + 2; i++)
        add((uint16_t) (0x0200 + i), 0, 0, -1, 0, 1, NULL, 0);
    CU_ASSERT_EQUAL(scan(&t, npkts * PKT, 0, npkts * PKT), 0);
    CU_ASSERT_EQUAL(t.npids, SL_BENCH_TS_PIDS);
    CU_ASSERT_EQUAL(t.untracked, 2);
    CU_ASSERT_EQUAL(t.cc_errors, 0);
}

static void
test_refusals(void)
{
    struct sl_bench_ts t;
    size_t             len;

    /* Lost sync in the fourth packet: refused however it is split,
     * with the frame of the third counted. */
    build_good();
    len = npkts * PKT;
    stream[3 * PKT] = 0x46;
    for (size_t split = 0; split <= len; split++) {
        CU_ASSERT_EQUAL(scan(&t, len, 0, split), -EPROTO);
        CU_ASSERT_EQUAL(t.video_pes, 1);
        CU_ASSERT_EQUAL(t.packets, 3);
    }
    CU_ASSERT_EQUAL(scan(&t, len, 1, 0), -EPROTO);
    /* An adaptation field longer than the packet. */
    npkts = 0;
    add(0x0100, 0, 1, 183, 0, 0, NULL, 0);
    stream[4] = 184;
    CU_ASSERT_EQUAL(scan(&t, PKT, PKT, 0), -EPROTO);
    CU_ASSERT_EQUAL(t.packets, 0);
    /* Bytes that end mid-packet are held, not judged. */
    build_good();
    CU_ASSERT_EQUAL(scan(&t, PKT + 100, 0, PKT + 100), 0);
    CU_ASSERT_EQUAL(t.npart, 100);
}

void
sl_test_suite_tsscan(void)
{
    CU_pSuite s =
        CU_add_suite("tsscan", sl_guard_suite_init, sl_guard_suite_free);

    CU_add_test(s, "TS: whole, every split, byte by byte", test_every_split);
    CU_add_test(s, "TS: counter skips, discontinuity, duplicates",
                test_counter_skips);
    CU_add_test(s, "TS: PIDs past the table", test_many_pids);
    CU_add_test(s, "TS: lost sync and bad adaptation fields refused",
                test_refusals);
}
