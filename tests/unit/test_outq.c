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
test_grows_to_its_bound_then_breaks(void)
{
    long           before = sl_buf_live_count();
    struct sl_outq q;
    struct iovec   iov[4];

    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&q, 100), 0);
    CU_ASSERT_EQUAL(q.max_cap, 128);
    CU_ASSERT(q.cap < 128);
    push_unref(&q, msg("k"), 0, SL_OUT_KEEP, 1);
    for (uint32_t i = 1; i < 128; i++)
        push_unref(&q, msg("i"), 0, SL_OUT_KEEP, 1);
    CU_ASSERT_EQUAL(q.cap, 128);
    CU_ASSERT_EQUAL(q.tail - q.head, 128);
    /* Full at its bound: nothing here may be dropped, so it breaks, and
     * stays broken. */
    push_unref(&q, msg("x"), 0, SL_OUT_KEEP, -EPIPE);
    CU_ASSERT(sl_outq_broken(&q));
    push_unref(&q, msg("y"), 0, SL_OUT_KEEP, -EPIPE);
    /* What was queued is intact and in order. */
    CU_ASSERT_EQUAL(sl_outq_collect(&q, iov, 4, 0), 4);
    CU_ASSERT_EQUAL(((char *) iov[0].iov_base)[0], 'k');
    CU_ASSERT_EQUAL(((char *) iov[1].iov_base)[0], 'i');
    sl_outq_destroy(&q);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_growth_keeps_order_across_the_wrap(void)
{
    struct sl_outq q;
    struct iovec   iov[32];
    char           want = 'a';
    uint32_t       off = 0;
    int            n;

    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&q, 64), 0);
    /* Move head and tail round the initial ring, then grow it while it
     * wraps. */
    for (int i = 0; i < 10; i++) {
        push_unref(&q, msg("-"), 0, SL_OUT_KEEP, 1);
        off = sl_outq_consume(&q, off, 1);
    }
    for (int i = 0; i < 26; i++) {
        char c[2] = {(char) ('a' + i), 0};

        push_unref(&q, msg(c), 0, SL_OUT_KEEP, 1);
    }
    n = sl_outq_collect(&q, iov, 32, off);
    CU_ASSERT_EQUAL_FATAL(n, 26);
    for (int i = 0; i < n; i++, want++)
        CU_ASSERT_EQUAL(((char *) iov[i].iov_base)[0], want);
    off = sl_outq_consume(&q, off, 26);
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

    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&q, 16), 0);
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

    CU_ASSERT_EQUAL_FATAL(sl_outq_init(&q, 4), 0);
    for (int i = 0; i < 4; i++)
        push_unref(&q, msg("h"), 0, SL_OUT_KEEP, 1);
    push_unref(&q, msg("h"), 0, SL_OUT_KEEP, -EPIPE);
    CU_ASSERT(sl_outq_broken(&q));
    push_unref(&q, msg("k"), 0, SL_OUT_KEEP, -EPIPE);
    sl_outq_destroy(&q);
}

void
sl_test_suite_outq(void)
{
    CU_pSuite s = CU_add_suite("outq", NULL, NULL);

    CU_add_test(s, "grows to its bound, then breaks",
                test_grows_to_its_bound_then_breaks);
    CU_add_test(s, "growth keeps order across the wrap",
                test_growth_keeps_order_across_the_wrap);
    CU_add_test(s, "partial writes across messages",
                test_partial_writes_across_messages);
    CU_add_test(s, "header that does not fit breaks",
                test_header_that_does_not_fit_breaks);
}
