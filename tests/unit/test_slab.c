/*
 * The slab (pool/slab.h): aligned, distinct objects; freed ones reused;
 * a second chunk when the first is full; objects never handed to two
 * owners while threads allocate and free at once.
 */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "pool/slab.h"

#define CHUNK ((uintptr_t) 2 << 20)

static void
test_aligned_distinct_reused(void)
{
    struct sl_slab *s = sl_slab_new(100);
    uint8_t        *a, *b, *c;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    a = sl_slab_alloc(s);
    b = sl_slab_alloc(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL((uintptr_t) a % 64, 0);
    CU_ASSERT_EQUAL((uintptr_t) b % 64, 0);
    /* 100 bytes round up to 128: the objects do not overlap. */
    CU_ASSERT(a + 128 <= b || b + 128 <= a);
    memset(a, 0xaa, 100);
    memset(b, 0x55, 100);
    CU_ASSERT_EQUAL(a[99], 0xaa);
    sl_slab_free(s, a);
    c = sl_slab_alloc(s);
    CU_ASSERT_PTR_EQUAL(c, a); /* the freed one comes back first */
    CU_ASSERT_EQUAL(b[0], 0x55);
    sl_slab_free(s, b);
    sl_slab_free(s, c);
    sl_slab_free(s, NULL);
    CU_ASSERT_EQUAL(sl_slab_chunks(s), 1);
    sl_slab_destroy(s);
    /* Nothing, or more than a quarter of a chunk: no slab. */
    CU_ASSERT_PTR_NULL(sl_slab_new(0));
    CU_ASSERT_PTR_NULL(sl_slab_new(CHUNK));
}

/* More objects than one chunk holds: a second chunk, each object inside
 * one chunk-aligned chunk (so a huge page can back it). */
static void
test_second_chunk(void)
{
    enum { SIZE = 64 * 1024, N = 40 };
    struct sl_slab *s = sl_slab_new(SIZE);
    void           *o[N];
    int             outside = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int i = 0; i < N; i++) {
        o[i] = sl_slab_alloc(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o[i]);
        memset(o[i], i, SIZE);
        if (((uintptr_t) o[i] & ~(CHUNK - 1)) !=
            (((uintptr_t) o[i] + SIZE - 1) & ~(CHUNK - 1)))
            outside++;
    }
    CU_ASSERT_EQUAL(outside, 0);
    CU_ASSERT_EQUAL(sl_slab_chunks(s), 2); /* 31 fit in the first */
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(((uint8_t *) o[i])[SIZE - 1], (uint8_t) i);
        sl_slab_free(s, o[i]);
    }
    sl_slab_destroy(s);
}

#define THREADS 4
#define ROUNDS 20000
#define HELD 32

struct churn {
    struct sl_slab *s;
    uint8_t         id;
    int             bad;
};

/* Each thread stamps what it holds with its id and checks the stamp
 * before freeing: an object given to two threads at once shows up. */
static void *
churn_thread(void *arg)
{
    struct churn *c = arg;
    uint8_t      *held[HELD] = {0};

    for (int r = 0; r < ROUNDS; r++) {
        int k = (r * 7 + c->id) % HELD;

        if (held[k] != NULL) {
            for (int i = 0; i < 192; i += 37)
                c->bad += held[k][i] != c->id;
            sl_slab_free(c->s, held[k]);
        }
        held[k] = sl_slab_alloc(c->s);
        if (held[k] == NULL) {
            c->bad++;
            continue;
        }
        memset(held[k], c->id, 192);
    }
    for (int k = 0; k < HELD; k++)
        sl_slab_free(c->s, held[k]);
    return NULL;
}

static void
test_threads(void)
{
    struct sl_slab *s = sl_slab_new(192);
    struct churn    c[THREADS];
    pthread_t       th[THREADS];

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct churn){s, (uint8_t) (i + 1), 0};
        pthread_create(&th[i], NULL, churn_thread, &c[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(c[i].bad, 0);
    }
    /* At most THREADS * HELD live at once: one chunk is plenty. */
    CU_ASSERT_EQUAL(sl_slab_chunks(s), 1);
    sl_slab_destroy(s);
}

void
sl_test_suite_slab(void)
{
    CU_pSuite s = CU_add_suite("slab", NULL, NULL);

    CU_add_test(s, "aligned, distinct, reused", test_aligned_distinct_reused);
    CU_add_test(s, "a second chunk when the first is full",
                test_second_chunk);
    CU_add_test(s, "threads never share an object", test_threads);
}
