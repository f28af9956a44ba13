/*
 * Fibers (pool/fiber.h): resume runs the function until it yields or
 * returns, yield goes back to the resumer, done says which; the
 * function's locals and argument survive its yields; a fiber resumed
 * from another thread each time (as a task that moved worker resumes
 * its demuxer) goes on where it stopped; free after done, free of a
 * fiber never resumed; a fiber that uses much of its stack.  SAN=1 and
 * TSAN=1 follow the switches through the annotations.
 */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "pool/fiber.h"

#define STACK (256u * 1024)

struct counter {
    int steps; /* how far the fiber got */
    int yields;
};

static void
count_to_three(struct sl_fiber *f, void *arg)
{
    struct counter *c = arg;
    int             local = 100; /* must survive the yields */

    for (int i = 0; i < 3; i++) {
        c->steps++;
        local += i;
        sl_fiber_yield(f);
        c->yields++;
    }
    c->steps = local; /* 100 + 0 + 1 + 2 */
}

static void
test_resume_yield_done(void)
{
    struct counter   c = {0};
    struct sl_fiber *f = sl_fiber_new(STACK, count_to_three, &c);

    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(c.steps == 0); /* nothing runs before the first resume */
    CU_ASSERT(!sl_fiber_done(f));
    for (int i = 1; i <= 3; i++) {
        CU_ASSERT(sl_fiber_resume(f) == 0);
        CU_ASSERT(c.steps == i && c.yields == i - 1);
        CU_ASSERT(!sl_fiber_done(f));
    }
    CU_ASSERT(sl_fiber_resume(f) == 1);
    CU_ASSERT(sl_fiber_done(f));
    CU_ASSERT(c.steps == 103 && c.yields == 3);
    /* Resuming a finished fiber runs nothing. */
    CU_ASSERT(sl_fiber_resume(f) == 1);
    CU_ASSERT(c.steps == 103 && c.yields == 3);
    sl_fiber_free(f);
}

static void
returns_at_once(struct sl_fiber *f, void *arg)
{
    (void) f;
    *(int *) arg = 1;
}

static void
test_free(void)
{
    int              ran = 0;
    struct sl_fiber *f = sl_fiber_new(STACK, returns_at_once, &ran);

    /* Never resumed. */
    CU_ASSERT_FATAL(f != NULL);
    sl_fiber_free(f);
    CU_ASSERT(ran == 0);
    sl_fiber_free(NULL);

    /* Returns at its first resume. */
    f = sl_fiber_new(1, returns_at_once, &ran); /* rounded up to a page */
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(sl_fiber_resume(f) == 1);
    CU_ASSERT(ran == 1);
    sl_fiber_free(f);
}

/* Recursion that takes about 100 KB of the fiber's stack. */
static uint64_t
deep(int n, volatile uint8_t *prev)
{
    volatile uint8_t pad[1024];

    memset((void *) pad, n & 0xff, sizeof(pad));
    if (prev != NULL)
        pad[0] ^= prev[1];
    if (n == 0)
        return pad[7];
    return pad[n % 1024] + deep(n - 1, pad);
}

static void
uses_stack(struct sl_fiber *f, void *arg)
{
    uint64_t *out = arg;

    *out = deep(100, NULL);
    sl_fiber_yield(f);
    *out += deep(100, NULL);
}

static void
test_stack(void)
{
    uint64_t         got = 0, want = deep(100, NULL);
    struct sl_fiber *f = sl_fiber_new(STACK, uses_stack, &got);

    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(sl_fiber_resume(f) == 0);
    CU_ASSERT(got == want);
    CU_ASSERT(sl_fiber_resume(f) == 1);
    CU_ASSERT(got == 2 * want);
    sl_fiber_free(f);
}

/* ---- resumed from another thread each time ---- */

struct hop {
    struct sl_fiber *f;
    pthread_t        seen[8]; /* the thread the fiber ran on, per step */
    int              n;
    int              rc; /* the resume's result, per hop */
};

static void
hopper(struct sl_fiber *f, void *arg)
{
    struct hop *h = arg;

    for (int i = 0; i < 8; i++) {
        h->seen[h->n++] = pthread_self();
        if (i < 7)
            sl_fiber_yield(f);
    }
}

static void *
resume_once(void *arg)
{
    struct hop *h = arg;

    h->rc = sl_fiber_resume(h->f);
    return NULL;
}

static void
test_threads(void)
{
    struct hop h;
    pthread_t  t[8];
    int        ran_there = 1;

    memset(&h, 0, sizeof(h));
    h.f = sl_fiber_new(STACK, hopper, &h);
    CU_ASSERT_FATAL(h.f != NULL);
    /* One thread after the other: each resume is done (joined) before
     * the next thread resumes, as a task runs on one worker at a time. */
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_FATAL(pthread_create(&t[i], NULL, resume_once, &h) == 0);
        pthread_join(t[i], NULL);
        CU_ASSERT(h.rc == (i == 7));
        CU_ASSERT(h.n == i + 1);
    }
    for (int i = 0; i < 8; i++)
        ran_there &= pthread_equal(h.seen[i], t[i]) != 0;
    CU_ASSERT(ran_there);
    CU_ASSERT(sl_fiber_done(h.f));
    sl_fiber_free(h.f);
}

void
sl_test_suite_fiber(void)
{
    CU_pSuite s = CU_add_suite("fiber", NULL, NULL);

    CU_add_test(s, "resume, yield, done", test_resume_yield_done);
    CU_add_test(s, "free before and after running", test_free);
    CU_add_test(s, "a deep stack", test_stack);
    CU_add_test(s, "resumed from another thread each time", test_threads);
}
