/*
 * The scheduler: a million runs with none lost, doubled or overlapping;
 * wakes from many threads never lost; stealing under imbalance; shutdown
 * that drains and joins; destroy exactly once.
 *
 * Every wait is bounded, and a watchdog alarm ends the process if a stop
 * or join ever hangs, so the suite cannot block a build.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "pool/sched.h"

/* Under ThreadSanitizer everything runs ~10x slower: scale counts down. */
#if defined(__SANITIZE_THREAD__)
#define SL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SL_TSAN 1
#endif
#endif
#ifdef SL_TSAN
#define SCALE 4
#else
#define SCALE 1
#endif

#define WATCHDOG_S 60

#define WAIT_UNTIL(cond, ms)                                        \
    do {                                                            \
        uint64_t until_ = sl_now_ms() + (ms);                       \
        while (!(cond) && sl_now_ms() < until_)                     \
            sleep_ms(1);                                            \
    } while (0)

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* A test task: counts its runs and catches two workers inside at once. */
struct ttask {
    struct sl_task t;
    atomic_int     inside;
    atomic_long    runs;
    long           target;    /* runs wanted; the run re-wakes until then */
    atomic_long    pending;   /* wakes issued, not yet seen by a run */
    atomic_long    seen;      /* wakes seen by runs */
    atomic_int     destroyed;
    atomic_int     ran_on;    /* bit per worker index (up to 31) */
    int            spin_us;   /* busy work per run */
};

static atomic_long total_runs;
static atomic_long overlaps;
static atomic_long destroys;

static void
busy_us(int us)
{
    uint64_t end;
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    end = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u +
          (uint64_t) us;
    do {
        clock_gettime(CLOCK_MONOTONIC, &ts);
    } while ((uint64_t) ts.tv_sec * 1000000u +
             (uint64_t) ts.tv_nsec / 1000u < end);
}

static void
ttask_run(struct sl_task *t)
{
    struct ttask *tt = (struct ttask *) t;
    long          n;
    int           w = sl_sched_current_worker();

    if (atomic_exchange(&tt->inside, 1) != 0)
        atomic_fetch_add(&overlaps, 1);
    if (w >= 0 && w < 31)
        atomic_fetch_or_explicit(&tt->ran_on, 1 << w, memory_order_relaxed);
    atomic_fetch_add_explicit(&tt->seen,
                              atomic_exchange(&tt->pending, 0),
                              memory_order_relaxed);
    if (tt->spin_us > 0)
        busy_us(tt->spin_us);
    n = atomic_fetch_add_explicit(&tt->runs, 1, memory_order_relaxed) + 1;
    atomic_fetch_add_explicit(&total_runs, 1, memory_order_relaxed);
    if (n < tt->target)
        sl_task_wake(t);  /* during the run: RUNNING -> NOTIFIED */
    atomic_store(&tt->inside, 0);
}

static void
ttask_destroy(struct sl_task *t)
{
    struct ttask *tt = (struct ttask *) t;

    atomic_fetch_add(&tt->destroyed, 1);
    atomic_fetch_add(&destroys, 1);
}

static struct ttask *
ttasks_new(struct sl_sched *s, int n, long target)
{
    struct ttask *ts = calloc((size_t) n, sizeof(*ts));

    for (int i = 0; ts != NULL && i < n; i++) {
        sl_task_init(&ts[i].t, s, ttask_run, ttask_destroy);
        ts[i].target = target;
    }
    return ts;
}

/* Drops the owner references; each task must be idle with exactly that
 * one reference left, and be destroyed exactly once. */
static void
ttasks_release(struct ttask *ts, int n)
{
    int bad_state = 0, bad_refs = 0, bad_destroy = 0;

    for (int i = 0; i < n; i++) {
        if (atomic_load(&ts[i].t.state) != SL_TASK_IDLE)
            bad_state++;
        if (atomic_load(&ts[i].t.refs) != 1)
            bad_refs++;
        sl_task_unref(&ts[i].t);
        if (atomic_load(&ts[i].destroyed) != 1)
            bad_destroy++;
    }
    CU_ASSERT_EQUAL(bad_state, 0);
    CU_ASSERT_EQUAL(bad_refs, 0);
    CU_ASSERT_EQUAL(bad_destroy, 0);
    free(ts);
}

static void
reset_counters(void)
{
    atomic_store(&total_runs, 0);
    atomic_store(&overlaps, 0);
}

/* 8 workers, 1,000,000 runs: 2,000 tasks that each re-wake themselves
 * from inside their run 500 times.  Every run is counted per task; a lost
 * wake stalls the count, a doubled one overshoots it, and two workers in
 * one run trip the inside flag. */
static void
test_million_runs(void)
{
    enum { NTASKS = 2000 };
    const long       per = 500 / SCALE;
    const long       total = NTASKS * per;
    struct sl_sched *s = sl_sched_new(8, 256);
    struct ttask    *ts;
    long             bad = 0;
    uint64_t         ran = 0;
    int              workers_used = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    ts = ttasks_new(s, NTASKS, per);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ts);
    reset_counters();
    alarm(WATCHDOG_S);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
    for (int i = 0; i < NTASKS; i++)
        sl_task_wake(&ts[i].t);
    WAIT_UNTIL(atomic_load(&total_runs) >= total, 30000);
    sl_sched_stop(s);
    alarm(0);

    CU_ASSERT_EQUAL(atomic_load(&total_runs), total);
    CU_ASSERT_EQUAL(atomic_load(&overlaps), 0);
    for (int i = 0; i < NTASKS; i++)
        if (atomic_load(&ts[i].runs) != per)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    for (int i = 0; i < sl_sched_workers(s); i++) {
        struct sl_worker_stats st;

        sl_sched_worker_stats(s, i, &st);
        ran += st.tasks_run;
        workers_used += st.tasks_run > 0;
    }
    CU_ASSERT_EQUAL(ran, (uint64_t) total);
    CU_ASSERT(workers_used >= 1);
    ttasks_release(ts, NTASKS);
    sl_sched_free(s);
}

/* Wakes from outside threads and from other tasks' runs, racing with the
 * runs themselves.  A waker bumps the task's pending count and then wakes
 * it; a run takes the pending count.  Wakes coalesce, so the number of
 * runs is not fixed, but once everything is quiet every wake must have
 * been seen by some run that started after it: no wake is lost. */
#define STORM_TASKS 64

struct storm {
    struct ttask *ts;
    atomic_long   issued;
    long          per_thread;
    unsigned      seed;
};

static struct storm *storm_ctx;
static atomic_long   cross_budget;

static void
wake_counted(struct storm *st, struct ttask *tt)
{
    atomic_fetch_add(&tt->pending, 1);
    atomic_fetch_add(&st->issued, 1);
    sl_task_wake(&tt->t);
}

static void
storm_run(struct sl_task *t)
{
    struct ttask *tt = (struct ttask *) t;
    long          idx = tt - storm_ctx->ts;

    ttask_run(t);
    /* Cross-wakes from a worker go to its local deque. */
    if (atomic_fetch_sub(&cross_budget, 1) > 0)
        wake_counted(storm_ctx,
                     &storm_ctx->ts[(idx * 7 + 3) % STORM_TASKS]);
}

static void *
storm_thread(void *arg)
{
    struct storm *st = arg;
    unsigned      r = st->seed;

    for (long i = 0; i < st->per_thread; i++) {
        r = r * 1103515245u + 12345u;
        wake_counted(st, &st->ts[(r >> 8) % STORM_TASKS]);
    }
    return NULL;
}

static void
test_wake_storm(void)
{
    struct sl_sched *s = sl_sched_new(4, 64);
    struct storm     st[4];
    pthread_t        th[4];
    long             seen = 0, issued = 0;
    bool             quiet = false;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    st[0].ts = ttasks_new(s, STORM_TASKS, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st[0].ts);
    for (int i = 0; i < STORM_TASKS; i++)
        st[0].ts[i].t.run = storm_run;
    storm_ctx = &st[0];
    atomic_store(&st[0].issued, 0);
    atomic_store(&cross_budget, 100000 / SCALE);
    reset_counters();
    alarm(WATCHDOG_S);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
    for (int i = 0; i < 4; i++) {
        st[i].ts = st[0].ts;
        atomic_init(&st[i].issued, 0);
        st[i].per_thread = 50000 / SCALE;
        st[i].seed = (unsigned) i * 7919u + 1;
    }
    /* st[0] also counts the cross-wakes, so start it last. */
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, storm_thread, &st[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* Quiet means: cross-wakes used up and every issued wake seen. */
    for (uint64_t until = sl_now_ms() + 10000; sl_now_ms() < until;) {
        issued = 0;
        seen = 0;
        for (int i = 0; i < 4; i++)
            issued += atomic_load(&st[i].issued);
        for (int i = 0; i < STORM_TASKS; i++)
            seen += atomic_load(&st[0].ts[i].seen);
        if (atomic_load(&cross_budget) <= 0 && seen == issued) {
            quiet = true;
            break;
        }
        sleep_ms(1);
    }
    sl_sched_stop(s);
    alarm(0);
    CU_ASSERT(quiet);
    CU_ASSERT_EQUAL(seen, issued);
    CU_ASSERT_EQUAL(atomic_load(&overlaps), 0);
    ttasks_release(st[0].ts, STORM_TASKS);
    sl_sched_free(s);
}

/* Steals and injected takes summed over s's workers. */
static void
worker_totals(struct sl_sched *s, uint64_t *steals, uint64_t *injected)
{
    for (int i = 0; i < sl_sched_workers(s); i++) {
        struct sl_worker_stats st;

        sl_sched_worker_stats(s, i, &st);
        *steals += st.steals;
        *injected += st.injected;
    }
}

/* All work appears on one worker: a spawner task wakes many children from
 * inside its run, so they land in that worker's deque.  Other workers can
 * only get them by stealing. */
static struct ttask *spawn_children;
static int           spawn_count;

static void
spawner_run(struct sl_task *t)
{
    for (int i = 0; i < spawn_count; i++)
        sl_task_wake(&spawn_children[i].t);
}

static void
test_steal_imbalanced(void)
{
    enum { CHILDREN = 1000 };
    struct sl_sched *s = sl_sched_new(4, 2048);
    struct ttask    *spawner;
    uint64_t         steals = 0, injected = 0;
    int              mask = 0, workers = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    spawner = ttasks_new(s, 1, 0);
    spawn_children = ttasks_new(s, CHILDREN, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spawner);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spawn_children);
    spawner->t.run = spawner_run;
    spawn_count = CHILDREN;
    for (int i = 0; i < CHILDREN; i++)
        spawn_children[i].spin_us = 100;  /* ~100 ms of work in all */
    reset_counters();
    alarm(WATCHDOG_S);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
    sl_task_wake(&spawner->t);
    WAIT_UNTIL(atomic_load(&total_runs) >= CHILDREN, 10000);
    sl_sched_stop(s);
    alarm(0);

    CU_ASSERT_EQUAL(atomic_load(&total_runs), CHILDREN);
    for (int i = 0; i < CHILDREN; i++)
        mask |= atomic_load(&spawn_children[i].ran_on);
    worker_totals(s, &steals, &injected);
    for (int i = 0; i < sl_sched_workers(s); i++)
        workers += (mask >> i) & 1;
    CU_ASSERT(steals > 0);
    CU_ASSERT(workers > 1);
    /* Only the spawner came through the injection queue. */
    CU_ASSERT_EQUAL(injected, 1);
    ttasks_release(spawner, 1);
    ttasks_release(spawn_children, CHILDREN);
    sl_sched_free(s);
}

/* sl_task_wake_many: a fanner task wakes a batch of children from its
 * run, round after round (more than its deque holds, so some overflow to
 * the injection queue), while a thread outside the pool wakes the same
 * batch.  Every wake is seen by a later run, none runs in two workers at
 * once, and the idle workers still get to steal. */
#define FAN_CHILDREN 300
#define FAN_ROUNDS 200
static struct sl_task *fan_batch[FAN_CHILDREN];
static struct ttask   *fan_children;
static atomic_long     fan_issued;
static atomic_int      fan_rounds;

static void
fan_wake(void)
{
    for (int i = 0; i < FAN_CHILDREN; i++)
        atomic_fetch_add(&fan_children[i].pending, 1);
    atomic_fetch_add(&fan_issued, FAN_CHILDREN);
    sl_task_wake_many(fan_batch, FAN_CHILDREN);
}

static void
fanner_run(struct sl_task *t)
{
    fan_wake();
    if (atomic_fetch_add(&fan_rounds, 1) + 1 < FAN_ROUNDS)
        sl_task_wake(t);
}

static void *
fan_outside(void *arg)
{
    (void) arg;
    for (int r = 0; r < FAN_ROUNDS / 4; r++)
        fan_wake();
    return NULL;
}

static void
test_wake_many(void)
{
    struct sl_sched *s = sl_sched_new(3, 64);
    struct ttask    *fanner;
    pthread_t        th;
    long             seen = 0;
    uint64_t         steals = 0, injected = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    fanner = ttasks_new(s, 1, 0);
    fan_children = ttasks_new(s, FAN_CHILDREN, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fanner);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fan_children);
    fanner->t.run = fanner_run;
    for (int i = 0; i < FAN_CHILDREN; i++) {
        fan_batch[i] = &fan_children[i].t;
        fan_children[i].spin_us = 2;
    }
    atomic_store(&fan_issued, 0);
    atomic_store(&fan_rounds, 0);
    reset_counters();
    alarm(WATCHDOG_S);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
    sl_task_wake(&fanner->t);
    pthread_create(&th, NULL, fan_outside, NULL);
    pthread_join(th, NULL);
    for (uint64_t until = sl_now_ms() + 10000; sl_now_ms() < until;) {
        seen = 0;
        for (int i = 0; i < FAN_CHILDREN; i++)
            seen += atomic_load(&fan_children[i].seen);
        if (atomic_load(&fan_rounds) >= FAN_ROUNDS &&
            seen == atomic_load(&fan_issued))
            break;
        sleep_ms(1);
    }
    sl_sched_stop(s);
    alarm(0);
    CU_ASSERT_EQUAL(atomic_load(&fan_rounds), FAN_ROUNDS);
    CU_ASSERT_EQUAL(seen, atomic_load(&fan_issued));
    CU_ASSERT_EQUAL(seen, (long) FAN_CHILDREN * (FAN_ROUNDS + FAN_ROUNDS / 4));
    CU_ASSERT_EQUAL(atomic_load(&overlaps), 0);
    worker_totals(s, &steals, &injected);
    /* Children went to other workers (stolen) and past the full deque
     * (injected; the outside thread's wakes are injected too). */
    CU_ASSERT(steals > 0);
    CU_ASSERT(injected > 0);
    ttasks_release(fanner, 1);
    ttasks_release(fan_children, FAN_CHILDREN);
    sl_sched_free(s);
}

/* Start and stop, again and again, idle and with a little work. */
static void
test_start_stop_repeated(void)
{
    alarm(WATCHDOG_S);
    for (int round = 0; round < 50; round++) {
        struct sl_sched *s = sl_sched_new(1 + round % 8, 16);
        struct ttask    *ts;

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        ts = ttasks_new(s, 8, 3);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ts);
        CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
        CU_ASSERT_EQUAL(sl_sched_start(s), -EINVAL);
        if (round & 1)
            for (int i = 0; i < 8; i++)
                sl_task_wake(&ts[i].t);
        sl_sched_stop(s);
        sl_sched_stop(s);  /* a second stop is harmless */
        ttasks_release(ts, 8);
        sl_sched_free(s);
    }
    alarm(0);
}

/* Work queued before the stop is run exactly once; nothing is dropped. */
static void
test_stop_drains_queued(void)
{
    enum { N = 20000 };
    struct sl_sched *s = sl_sched_new(4, 64);
    struct ttask    *ts;
    long             bad = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    ts = ttasks_new(s, N, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ts);
    reset_counters();
    alarm(WATCHDOG_S);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
    for (int i = 0; i < N; i++)
        sl_task_wake(&ts[i].t);
    sl_sched_stop(s);
    alarm(0);
    CU_ASSERT_EQUAL(atomic_load(&total_runs), N);
    for (int i = 0; i < N; i++)
        bad += atomic_load(&ts[i].runs) != 1;
    CU_ASSERT_EQUAL(bad, 0);
    /* After the stop, wakes are dropped and leave no trace. */
    sl_task_wake(&ts[0].t);
    CU_ASSERT_EQUAL(atomic_load(&ts[0].t.state), SL_TASK_IDLE);
    CU_ASSERT_EQUAL(atomic_load(&ts[0].t.refs), 1);
    ttasks_release(ts, N);
    sl_sched_free(s);
}

/* Tasks that wake themselves forever, plus outside threads waking them
 * through the stop: the stop must still finish, and every task must end
 * idle holding only its owner's reference (dropped wakes leak nothing and
 * leave nothing SCHEDULED). */
static atomic_bool hammer_stop;
static struct ttask *hammer_tasks;

static void *
hammer(void *arg)
{
    unsigned r = (unsigned) (uintptr_t) arg;

    while (!atomic_load(&hammer_stop)) {
        r = r * 1103515245u + 12345u;
        sl_task_wake(&hammer_tasks[(r >> 8) % 32].t);
    }
    return NULL;
}

static void
test_stop_under_fire(void)
{
    struct sl_sched *s = sl_sched_new(4, 16);
    pthread_t        th[2];

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    hammer_tasks = ttasks_new(s, 32, 1L << 40);  /* never stops waking */
    CU_ASSERT_PTR_NOT_NULL_FATAL(hammer_tasks);
    atomic_store(&hammer_stop, false);
    alarm(WATCHDOG_S);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, hammer, (void *) (uintptr_t) (i + 1));
    sleep_ms(30);
    sl_sched_stop(s);
    atomic_store(&hammer_stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    alarm(0);
    CU_ASSERT_EQUAL(atomic_load(&overlaps), 0);
    ttasks_release(hammer_tasks, 32);
    sl_sched_free(s);
}

/* A scheduler that never started: queued tasks are released unrun. */
static void
test_stop_never_started(void)
{
    struct sl_sched *s = sl_sched_new(2, 16);
    struct ttask    *ts;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    ts = ttasks_new(s, 10, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ts);
    for (int i = 0; i < 10; i++)
        sl_task_wake(&ts[i].t);
    CU_ASSERT_EQUAL(atomic_load(&ts[0].t.state), SL_TASK_SCHEDULED);
    CU_ASSERT_EQUAL(atomic_load(&ts[0].t.refs), 2);
    sl_sched_stop(s);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(atomic_load(&ts[i].runs), 0);
    ttasks_release(ts, 10);
    sl_sched_free(s);
}

/* Tasks whose owner drops its reference while several threads, each
 * holding a reference of their own, keep waking them: destroy runs
 * exactly once per task, on whichever thread drops the last reference. */
struct dtask {
    struct sl_task t;
    int            id;
};

static atomic_int *dflags;

static void
dtask_run(struct sl_task *t)
{
    (void) t;
}

static void
dtask_destroy(struct sl_task *t)
{
    struct dtask *d = (struct dtask *) t;

    atomic_fetch_add(&dflags[d->id], 1);
    free(d);
}

struct dwaker {
    struct dtask **tasks;
    int            n;
};

static void *
dwaker_main(void *arg)
{
    struct dwaker *dw = arg;

    for (int round = 0; round < 20; round++)
        for (int i = 0; i < dw->n; i++)
            sl_task_wake(&dw->tasks[i]->t);
    for (int i = 0; i < dw->n; i++)
        sl_task_unref(&dw->tasks[i]->t);
    return NULL;
}

static void
test_destroy_once(void)
{
    enum { N = 2000, WAKERS = 3 };
    struct sl_sched *s = sl_sched_new(4, 64);
    struct dtask   **tasks = calloc(N, sizeof(*tasks));
    struct dwaker    dw = { tasks, N };
    pthread_t        th[WAKERS];
    int              bad = 0;

    dflags = calloc(N, sizeof(*dflags));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tasks);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dflags);
    for (int i = 0; i < N; i++) {
        tasks[i] = malloc(sizeof(**tasks));
        CU_ASSERT_PTR_NOT_NULL_FATAL(tasks[i]);
        sl_task_init(&tasks[i]->t, s, dtask_run, dtask_destroy);
        tasks[i]->id = i;
        for (int k = 0; k < WAKERS; k++)
            sl_task_ref(&tasks[i]->t);
    }
    alarm(WATCHDOG_S);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
    for (int k = 0; k < WAKERS; k++)
        pthread_create(&th[k], NULL, dwaker_main, &dw);
    for (int i = 0; i < N; i++) {
        sl_task_wake(&tasks[i]->t);
        sl_task_unref(&tasks[i]->t);  /* the owner lets go early */
    }
    for (int k = 0; k < WAKERS; k++)
        pthread_join(th[k], NULL);
    /* Queue references go when the runs end; the stop drains them. */
    sl_sched_stop(s);
    alarm(0);
    for (int i = 0; i < N; i++)
        bad += atomic_load(&dflags[i]) != 1;
    CU_ASSERT_EQUAL(bad, 0);
    free(dflags);
    free(tasks);
    sl_sched_free(s);
}

static atomic_int where_ran = -2;

static void
where_run(struct sl_task *t)
{
    atomic_store(&where_ran, sl_sched_current_worker());
}

static void
test_current_worker(void)
{
    struct sl_sched *s = sl_sched_new(3, 16);
    struct ttask    *ts;
    int              w;

    CU_ASSERT(sl_sched_default_workers() >= 1);
    CU_ASSERT_EQUAL(sl_sched_current_worker(), -1);
    CU_ASSERT_PTR_NULL(sl_sched_new(0, 16));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(sl_sched_workers(s), 3);
    ts = ttasks_new(s, 1, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ts);
    ts->t.run = where_run;
    alarm(WATCHDOG_S);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(s), 0);
    sl_task_wake(&ts->t);
    WAIT_UNTIL(atomic_load(&where_ran) != -2, 5000);
    sl_sched_stop(s);
    alarm(0);
    w = atomic_load(&where_ran);
    CU_ASSERT(w >= 0 && w < 3);
    ttasks_release(ts, 1);
    sl_sched_free(s);
}

void
sl_test_suite_sched(void)
{
    CU_pSuite s = CU_add_suite("sched", NULL, NULL);

    CU_add_test(s, "current worker and defaults", test_current_worker);
    CU_add_test(s, "1e6 runs on 8 workers, none lost or doubled",
                test_million_runs);
    CU_add_test(s, "wake storm loses no wake", test_wake_storm);
    CU_add_test(s, "imbalanced load is stolen", test_steal_imbalanced);
    CU_add_test(s, "wake_many: every wake seen, none doubled",
                test_wake_many);
    CU_add_test(s, "start/stop repeated", test_start_stop_repeated);
    CU_add_test(s, "stop drains queued work", test_stop_drains_queued);
    CU_add_test(s, "stop under fire keeps refs consistent",
                test_stop_under_fire);
    CU_add_test(s, "stop of a never-started scheduler",
                test_stop_never_started);
    CU_add_test(s, "destroy exactly once", test_destroy_once);
}
