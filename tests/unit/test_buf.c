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
#define ROUNDS 20000

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

static int      released;
static uint8_t *released_data;
static uint32_t released_len;

static void
note_release(void *arg, uint8_t *data, uint32_t len)
{
    released += *(int *) arg;
    released_data = data;
    released_len = len;
}

/* A file-backed buffer reads like any other, says where its bytes lie
 * in its file, and gives them back to its owner once, at the last
 * unref; a plain buffer lies in no file. */
static void
test_file_backed(void)
{
    static uint8_t bytes[] = "file-backed";
    long           before = sl_buf_live_count();
    int            one = 1;
    uint64_t       off = 0;
    struct sl_buf *b = sl_buf_file_new(bytes, 11, 7, 4096, note_release, &one);
    struct sl_buf *plain = sl_buf_from("x", 1);

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_EQUAL(b->len, 11);
    CU_ASSERT_EQUAL(memcmp(b->data, "file-backed", 11), 0);
    CU_ASSERT_EQUAL(sl_buf_file(b, 5, &off), 7);
    CU_ASSERT_EQUAL(off, 4096 + 5);
    CU_ASSERT_EQUAL(sl_buf_file(plain, 0, &off), -1);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + 2);
    released = 0;
    sl_buf_ref(b);
    sl_buf_unref(b);
    CU_ASSERT_EQUAL(released, 0);
    sl_buf_unref(b);
    CU_ASSERT_EQUAL(released, 1);
    CU_ASSERT_PTR_EQUAL(released_data, bytes);
    CU_ASSERT_EQUAL(released_len, 11);
    sl_buf_unref(plain);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

void
sl_test_suite_buf(void)
{
    CU_pSuite s = CU_add_suite("buf", NULL, NULL);

    CU_add_test(s, "from copies bytes", test_from_copies_bytes);
    CU_add_test(s, "last unref frees", test_last_unref_frees);
    CU_add_test(s, "concurrent unref", test_concurrent_unref);
    CU_add_test(s, "file-backed buffers", test_file_backed);
}
