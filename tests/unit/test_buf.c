#include <CUnit/CUnit.h>
#include <pthread.h>
#include <string.h>

#include "pool/buf.h"

static void
test_from_copies_bytes(void)
{
    long           before = sl_buf_live_count();
    struct sl_buf *b = sl_buf_from("hello", 5);

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->len, 5);
    CU_ASSERT_EQUAL(memcmp(b->data, "hello", 5), 0);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + 1);
    sl_buf_unref(b);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_last_unref_frees(void)
{
    long           before = sl_buf_live_count();
    struct sl_buf *b = sl_buf_new(16);

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    sl_buf_ref(b);
    sl_buf_ref(b);
    sl_buf_unref(b);
    sl_buf_unref(b);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + 1);
    sl_buf_unref(b);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
    sl_buf_unref(NULL);
}

#define SHARERS 4
#define ROUNDS  20000

static void *
drop_refs(void *arg)
{
    struct sl_buf **bufs = arg;

    for (int i = 0; i < ROUNDS; i++)
        sl_buf_unref(bufs[i]);
    return NULL;
}

/* Many threads dropping references to the same buffers: each buffer is
 * freed exactly once (ASan/TSan would report a double free or a race). */
static void
test_concurrent_unref(void)
{
    static struct sl_buf *bufs[ROUNDS];
    pthread_t             th[SHARERS];
    long                  before = sl_buf_live_count();

    for (int i = 0; i < ROUNDS; i++) {
        bufs[i] = sl_buf_new(8);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bufs[i]);
        for (int j = 1; j < SHARERS; j++)
            sl_buf_ref(bufs[i]);
    }
    for (int j = 0; j < SHARERS; j++)
        pthread_create(&th[j], NULL, drop_refs, bufs);
    for (int j = 0; j < SHARERS; j++)
        pthread_join(th[j], NULL);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

void
sl_test_suite_buf(void)
{
    CU_pSuite s = CU_add_suite("buf", NULL, NULL);

    CU_add_test(s, "from copies bytes", test_from_copies_bytes);
    CU_add_test(s, "last unref frees", test_last_unref_frees);
    CU_add_test(s, "concurrent unref", test_concurrent_unref);
}
