/*
 * The Chase-Lev deque: single-threaded order and bounds, then the owner
 * racing three thieves with every item counted exactly once.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool/deque.h"

/* ThreadSanitizer slows the stress test down a lot; scale it. */
#if defined(__SANITIZE_THREAD__)
#define SL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SL_TSAN 1
#endif
#endif
#ifdef SL_TSAN
#define STRESS_ITEMS 100000
#else
#define STRESS_ITEMS 400000
#endif
#define THIEVES 3

#define ITEM(i) ((void *) (uintptr_t) ((i) + 1))
#define INDEX(p) ((size_t) (uintptr_t) (p) - 1)

static void
test_lifo_fifo(void)
{
    struct sl_deque *d = sl_deque_new(8);

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NULL(sl_deque_pop(d));
    CU_ASSERT_PTR_NULL(sl_deque_steal(d));
    for (size_t i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(i)), 0);
    CU_ASSERT_EQUAL(sl_deque_size(d), 8);
    /* The owner sees LIFO order. */
    for (size_t i = 8; i-- > 0;)
        CU_ASSERT_PTR_EQUAL(sl_deque_pop(d), ITEM(i));
    CU_ASSERT_PTR_NULL(sl_deque_pop(d));
    /* Thieves see FIFO order, and the ring wraps around cleanly. */
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < 8; i++)
            CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(i)), 0);
        for (size_t i = 0; i < 8; i++)
            CU_ASSERT_PTR_EQUAL(sl_deque_steal(d), ITEM(i));
        CU_ASSERT_PTR_NULL(sl_deque_steal(d));
    }
    /* Both ends at once: thieves take the oldest, the owner the newest. */
    for (size_t i = 0; i < 4; i++)
        sl_deque_push(d, ITEM(i));
    CU_ASSERT_PTR_EQUAL(sl_deque_steal(d), ITEM(0));
    CU_ASSERT_PTR_EQUAL(sl_deque_pop(d), ITEM(3));
    CU_ASSERT_PTR_EQUAL(sl_deque_steal(d), ITEM(1));
    CU_ASSERT_PTR_EQUAL(sl_deque_pop(d), ITEM(2));
    CU_ASSERT_PTR_NULL(sl_deque_pop(d));
    CU_ASSERT_EQUAL(sl_deque_size(d), 0);
    sl_deque_free(d);
}

static void
test_full(void)
{
    struct sl_deque *d = sl_deque_new(3);  /* rounds up to 4 */

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(i)), 0);
    CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(4)), -ENOSPC);
    CU_ASSERT_EQUAL(sl_deque_size(d), 4);
    /* Room made at either end can be reused. */
    CU_ASSERT_PTR_EQUAL(sl_deque_steal(d), ITEM(0));
    CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(4)), 0);
    CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(5)), -ENOSPC);
    CU_ASSERT_PTR_EQUAL(sl_deque_pop(d), ITEM(4));
    CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(5)), 0);
    for (size_t i = 1; i < 4; i++)
        CU_ASSERT_PTR_EQUAL(sl_deque_steal(d), ITEM(i));
    CU_ASSERT_PTR_EQUAL(sl_deque_steal(d), ITEM(5));
    CU_ASSERT_PTR_NULL(sl_deque_steal(d));
    sl_deque_free(d);

    /* The minimum capacity is 2. */
    d = sl_deque_new(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(0)), 0);
    CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(1)), 0);
    CU_ASSERT_EQUAL(sl_deque_push(d, ITEM(2)), -ENOSPC);
    sl_deque_free(d);
}

struct stress {
    struct sl_deque *d;
    atomic_uchar    *taken;     /* per item: times consumed */
    atomic_long      consumed;
    atomic_long      dupes;
    atomic_bool      done;      /* owner finished and deque is empty */
    atomic_long      stolen;
    atomic_int       started;   /* thieves running */
};

static void
consume(struct stress *st, void *item)
{
    size_t i = INDEX(item);

    if (i >= STRESS_ITEMS ||
        atomic_fetch_add_explicit(&st->taken[i], 1,
                                  memory_order_relaxed) != 0)
        atomic_fetch_add_explicit(&st->dupes, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->consumed, 1, memory_order_relaxed);
}

static void *
thief(void *arg)
{
    struct stress *st = arg;

    atomic_fetch_add(&st->started, 1);
    for (;;) {
        void *item = sl_deque_steal(st->d);

        if (item != NULL) {
            consume(st, item);
            atomic_fetch_add_explicit(&st->stolen, 1, memory_order_relaxed);
            continue;
        }
        if (atomic_load_explicit(&st->done, memory_order_acquire))
            break;
        sched_yield();  /* give an oversubscribed owner the CPU back */
    }
    return NULL;
}

static void
stress(size_t cap)
{
    struct stress st = { 0 };
    pthread_t     th[THIEVES];
    uint32_t      rng = 12345;

    st.d = sl_deque_new(cap);
    st.taken = calloc(STRESS_ITEMS, sizeof(*st.taken));
    CU_ASSERT_PTR_NOT_NULL_FATAL(st.d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st.taken);
    for (int i = 0; i < THIEVES; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thief, &st), 0);
    /* Let the thieves get going, or the owner may finish alone. */
    while (atomic_load(&st.started) < THIEVES)
        usleep(100);

    for (size_t i = 0; i < STRESS_ITEMS; i++) {
        /* A full deque makes the owner pop, as the scheduler would send
         * the work elsewhere; otherwise pop now and then so the owner
         * races the thieves for the last items too. */
        while (sl_deque_push(st.d, ITEM(i)) != 0) {
            void *item = sl_deque_pop(st.d);

            if (item != NULL)
                consume(&st, item);
        }
        /* On a machine with fewer cores than threads the owner could
         * otherwise finish inside one time slice with no thief running:
         * yield now and then, and once, halfway, wait (bounded) for the
         * thieves to take something, so the test always has thieves. */
        if ((i & 255) == 0)
            sched_yield();
        if (i == STRESS_ITEMS / 2) {
            for (int ms = 0; ms < 5000 &&
                 atomic_load(&st.stolen) == 0; ms++)
                usleep(1000);
        }
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        if ((rng & 3) == 0) {
            void *item = sl_deque_pop(st.d);

            if (item != NULL)
                consume(&st, item);
        }
    }
    /* Pop until empty: NULL from pop means empty (possibly because a
     * thief won the last item), and nothing is pushed any more. */
    for (;;) {
        void *item = sl_deque_pop(st.d);

        if (item == NULL)
            break;
        consume(&st, item);
    }
    atomic_store_explicit(&st.done, true, memory_order_release);
    for (int i = 0; i < THIEVES; i++)
        pthread_join(th[i], NULL);

    CU_ASSERT_EQUAL(atomic_load(&st.dupes), 0);
    CU_ASSERT_EQUAL(atomic_load(&st.consumed), STRESS_ITEMS);
    for (size_t i = 0; i < STRESS_ITEMS; i++) {
        if (atomic_load_explicit(&st.taken[i], memory_order_relaxed) != 1) {
            CU_FAIL("an item was lost or consumed twice");
            break;
        }
    }
    CU_ASSERT_EQUAL(sl_deque_size(st.d), 0);
    /* Not a correctness property, but the test is pointless without it. */
    CU_ASSERT(atomic_load(&st.stolen) > 0);
    free(st.taken);
    sl_deque_free(st.d);
}

static void
test_stress_tiny(void)
{
    stress(4);
}

static void
test_stress_1024(void)
{
    stress(1024);
}

void
sl_test_suite_deque(void)
{
    CU_pSuite s = CU_add_suite("deque", NULL, NULL);

    CU_add_test(s, "lifo for owner, fifo for thieves", test_lifo_fifo);
    CU_add_test(s, "full returns -ENOSPC", test_full);
    CU_add_test(s, "owner + 3 thieves, capacity 4", test_stress_tiny);
    CU_add_test(s, "owner + 3 thieves, capacity 1024", test_stress_1024);
}
