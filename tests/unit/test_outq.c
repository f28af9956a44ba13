#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "pool/buf.h"
#include "server/outq.h"

static struct sl_buf *
msg(const char *s)
{
    return sl_buf_from(s, strlen(s));
}

static void
push_unref(struct sl_outq *q, struct sl_buf *b, uint32_t ts, uint32_t flags,
           int want)
{
    CU_ASSERT_EQUAL(sl_outq_push(q, b, ts, flags), want);
    sl_buf_unref(b);
}

static void
test_grows_to_its_bound_then_skips(void)
{
    long           before = sl_buf_live_count();
    struct sl_outq q;
    struct iovec   iov[4];

    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&q, 100, 60000), 0);
    CU_ASSERT_EQUAL(q.max_cap, 128);
    CU_ASSERT(q.cap < 128);
    push_unref(&q, msg("k"), 0, SL_OUT_MEDIA | SL_OUT_SYNC, 1);
    for (uint32_t i = 1; i < 128; i++)
        push_unref(&q, msg("i"), i, SL_OUT_MEDIA, 1);
    CU_ASSERT_EQUAL(q.cap, 128);
    CU_ASSERT_EQUAL(q.tail - q.head, 128);
    /* Full at its bound: the next droppable starts a skip. */
    push_unref(&q, msg("x"), 200, SL_OUT_MEDIA, 0);
    CU_ASSERT_EQUAL(q.skips, 1);
    /* Until a sync point nothing droppable is taken. */
    push_unref(&q, msg("y"), 201, SL_OUT_MEDIA, 0);
    CU_ASSERT_EQUAL(sl_outq_collect(&q, iov, 4, 0), 0);
    push_unref(&q, msg("K"), 202, SL_OUT_MEDIA | SL_OUT_SYNC, 1);
    CU_ASSERT_EQUAL(sl_outq_collect(&q, iov, 4, 0), 1);
    CU_ASSERT_EQUAL(((char *) iov[0].iov_base)[0], 'K');
    sl_outq_destroy(&q);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_discard_keeps_partial_head_and_headers(void)
{
    struct sl_outq q;
    struct iovec   iov[8];
    uint32_t       off;

    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&q, 64, 1000), 0);
    push_unref(&q, msg("AAAA"), 0, SL_OUT_MEDIA | SL_OUT_SYNC, 1);
    push_unref(&q, msg("hdr"), 0, SL_OUT_KEEP, 1);
    push_unref(&q, msg("BB"), 500, SL_OUT_MEDIA, 1);
    /* Two bytes of the head went out. */
    CU_ASSERT_EQUAL(sl_outq_collect(&q, iov, 8, 0), 3);
    off = sl_outq_consume(&q, 0, 2);
    CU_ASSERT_EQUAL(off, 2);
    /* More than max_lag behind: skip. */
    push_unref(&q, msg("late"), 1600, SL_OUT_MEDIA, 0);
    CU_ASSERT_EQUAL_FATAL(sl_outq_collect(&q, iov, 8, off), 2);
    CU_ASSERT_EQUAL(iov[0].iov_len, 2);   /* rest of the head */
    CU_ASSERT_EQUAL(memcmp(iov[0].iov_base, "AA", 2), 0);
    CU_ASSERT_EQUAL(memcmp(iov[1].iov_base, "hdr", 3), 0);
    off = sl_outq_consume(&q, off, 2 + 3);
    CU_ASSERT_EQUAL(off, 0);
    CU_ASSERT(sl_outq_empty(&q));
    CU_ASSERT_EQUAL(q.bytes, 0);
    sl_outq_destroy(&q);
}

static void
test_partial_writes_across_messages(void)
{
    struct sl_outq q;
    struct iovec   iov[8];
    uint32_t       off = 0;

    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&q, 16, 5000), 0);
    push_unref(&q, msg("abc"), 0, SL_OUT_KEEP, 1);
    push_unref(&q, msg("defg"), 0, SL_OUT_KEEP, 1);
    off = sl_outq_consume(&q, off, 4);  /* abc + d */
    CU_ASSERT_EQUAL(off, 1);
    CU_ASSERT_EQUAL(sl_outq_collect(&q, iov, 8, off), 1);
    CU_ASSERT_EQUAL(iov[0].iov_len, 3);
    CU_ASSERT_EQUAL(memcmp(iov[0].iov_base, "efg", 3), 0);
    off = sl_outq_consume(&q, off, 3);
    CU_ASSERT_EQUAL(off, 0);
    CU_ASSERT(sl_outq_empty(&q));
    sl_outq_destroy(&q);
}

static void
test_header_that_does_not_fit_breaks(void)
{
    struct sl_outq q;

    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&q, 4, 5000), 0);
    for (int i = 0; i < 4; i++)
        push_unref(&q, msg("h"), 0, SL_OUT_KEEP, 1);
    push_unref(&q, msg("h"), 0, SL_OUT_KEEP, -EPIPE);
    CU_ASSERT(sl_outq_broken(&q));
    push_unref(&q, msg("k"), 0, SL_OUT_MEDIA | SL_OUT_SYNC, -EPIPE);
    sl_outq_destroy(&q);
}

void
sl_test_suite_outq(void)
{
    CU_pSuite s = CU_add_suite("outq", NULL, NULL);

    CU_add_test(s, "grows to its bound, then skips",
                test_grows_to_its_bound_then_skips);
    CU_add_test(s, "discard keeps partial head and headers",
                test_discard_keeps_partial_head_and_headers);
    CU_add_test(s, "partial writes across messages",
                test_partial_writes_across_messages);
    CU_add_test(s, "header that does not fit breaks",
                test_header_that_does_not_fit_breaks);
}
