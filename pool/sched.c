/*
 * The work-stealing scheduler.
 *
 * Where work lives.  A task that is SCHEDULED sits in exactly one place:
 * a worker's deque or the injection queue.  Workers push to their own
 * deque (a wake issued from inside a run, or a NOTIFIED task re-queued at
 * the end of its run); everyone else, and a worker whose deque is full,
 * appends to the injection queue, a FIFO linked through task->next and
 * guarded by s->lock.
 *
 * Finding work.  A worker pops its own deque (newest first: the data the
 * task touches is likely still in cache), then takes the oldest task from
 * the injection queue, then steals about half of another worker's deque
 * (oldest first), starting from a random victim and trying each in turn.
 * A worker that finds nothing parks on s->cond.
 *
 * Parking without losing wakeups.  Every push bumps s->epoch after the
 * item is visible and then reads s->sleepers; a parking worker reads the
 * epoch before it searches, and after a fruitless search increments
 * s->sleepers and re-reads the epoch, all under s->lock, before waiting.
 * All four accesses are seq_cst, so they sit in one total order (Dekker):
 *  - if the parker's re-read sees the old epoch, the push's bump comes
 *    later in that order, so the pusher's read of sleepers comes after
 *    the parker's increment and sees it; the pusher then takes s->lock
 *    to signal, which it can only get once the parker is inside
 *    pthread_cond_wait() (the mutex was held from the increment until the
 *    wait released it), so the signal is not lost;
 *  - otherwise the epoch moved, and the parker searches again instead of
 *    sleeping.  A push that happened before the first epoch read is
 *    visible to the search itself, since that read acquired the bump.
 * To avoid a futex wake per push when workers are already looking for
 * work, a pusher does not signal while s->searching is non-zero: a
 * searcher that misses the new item sees the epoch move when it tries to
 * park, and searches again.  The searching count is dropped before the
 * park check, so when every idle worker is parked the pusher sees zero.
 * When a searcher finds work and was the last one searching it wakes a
 * sleeper, so a burst of pushed work spreads over the idle workers one
 * by one instead of waiting for the next push.
 *
 * Shutdown is close-then-drain.  sl_sched_stop() sets s->closing under
 * s->lock and broadcasts.  From then on sl_task_wake() is a no-op: it
 * changes neither the task's state nor its references, so a task that
 * was IDLE stays IDLE and one that was RUNNING ends its run as IDLE.  A
 * wake that raced with the close (it checked closing before the flag was
 * set) still completes: on a worker it lands in that worker's deque,
 * which its owner drains before exiting; into the injection queue it is
 * refused under s->lock, and the waker then reverts the task to IDLE and
 * drops the queue reference it took.  A task NOTIFIED before the close is
 * treated as already queued and runs once more.  Workers exit when, after
 * seeing closing, one full search finds nothing: every deque is drained
 * by its owner and the injection queue is re-checked after the flag is
 * seen.  Anything left in the injection queue after the join (only
 * possible when the scheduler was never started) is released without
 * running: each such task goes back to IDLE and loses its queue reference.
 *
 * Lock order: s->lock is a leaf.  Nothing is called with it held except
 * queue manipulation and pthread_cond_*; task code and destroy callbacks
 * never run under it.  The reactor (loop.c) may call sl_task_wake() with
 * its own lock held, which is fine for the same reason.
 */
#include "pool/sched.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool/deque.h"

struct worker {
    _Alignas(64) struct sl_sched *s;  /* one cache line per worker */
    struct sl_deque  *dq;
    pthread_t         thread;
    int               index;
    uint32_t          rng;       /* victim choice; touched only by owner */
    /* The task that runs after the current one, already taken from the
     * deque (take_next); touched only by the owner. */
    struct sl_task   *in_hand;
    /* Statistics: written only by the owner, read by anyone, relaxed. */
    _Atomic uint64_t  tasks_run;
    _Atomic uint64_t  steals;
    _Atomic uint64_t  injected;
    _Atomic uint64_t  parks;
};

struct sl_sched {
    struct worker    *workers;
    int               nworkers;
    int               nstarted;  /* threads created; only start/stop */
    bool              stopped;   /* stop ran; only start/stop */

    pthread_mutex_t   lock;      /* inject queue, parking, closing */
    pthread_cond_t    cond;
    struct sl_task   *inj_head;  /* FIFO via task->next, under lock */
    struct sl_task   *inj_tail;
    /* Number of tasks in the injection queue, so a worker can skip the
     * mutex when it is empty.  Written under lock; read with acquire. */
    atomic_size_t     inj_len;

    _Atomic uint64_t  epoch;     /* bumped on every push, seq_cst */
    atomic_int        sleepers;  /* parked or about to park, seq_cst */
    atomic_int        searching; /* awake and looking for work, seq_cst */
    atomic_bool       closing;   /* stop has begun; set under lock */
};

/* The worker running on this thread, NULL elsewhere. */
static _Thread_local struct worker *self;

void
sl_task_init(struct sl_task *t, struct sl_sched *s, sl_task_fn run,
             sl_task_fn destroy)
{
    atomic_init(&t->state, SL_TASK_IDLE);
    atomic_init(&t->refs, 1);
    t->run = run;
    t->destroy = destroy;
    t->next = NULL;
    t->sched = s;
    t->hot_extra = NULL;
}

void
sl_task_ref(struct sl_task *t)
{
    /* Relaxed: only a holder of a reference can make another, so the
     * count cannot be zero here and no ordering is published. */
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void
sl_task_unref(struct sl_task *t)
{
    /* acq_rel rather than release plus an acquire fence on the last
     * drop: the effect is the same (every holder's accesses happen before
     * destroy), and ThreadSanitizer understands it. */
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        t->destroy(t);
}

/* Wake one parked worker if there is one and nobody is already looking
 * for work.  Called after the item is visible in some queue. */
static void
notify(struct sl_sched *s)
{
    atomic_fetch_add_explicit(&s->epoch, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleepers, memory_order_seq_cst) == 0)
        return;
    if (atomic_load_explicit(&s->searching, memory_order_seq_cst) > 0)
        return;
    pthread_mutex_lock(&s->lock);
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Appends t to the injection queue.  A wake from outside (force false)
 * is refused once closing is set; a worker's own overflow (force true) is
 * not, because that worker re-checks the queue before it exits.  0 or
 * -ESHUTDOWN. */
static int
inject(struct sl_sched *s, struct sl_task *t, bool force)
{
    pthread_mutex_lock(&s->lock);
    if (!force && atomic_load_explicit(&s->closing, memory_order_relaxed)) {
        pthread_mutex_unlock(&s->lock);
        return -ESHUTDOWN;
    }
    t->next = NULL;
    if (s->inj_tail != NULL)
        s->inj_tail->next = t;
    else
        s->inj_head = t;
    s->inj_tail = t;
    atomic_store_explicit(&s->inj_len,
                          atomic_load_explicit(&s->inj_len,
                                               memory_order_relaxed) + 1,
                          memory_order_release);
    pthread_mutex_unlock(&s->lock);
    notify(s);
    return 0;
}

static struct sl_task *
take_injected(struct sl_sched *s)
{
    struct sl_task *t;

    /* Acquire pairs with the release in inject(); a zero read may be
     * stale, which the epoch check before parking covers. */
    if (atomic_load_explicit(&s->inj_len, memory_order_acquire) == 0)
        return NULL;
    pthread_mutex_lock(&s->lock);
    t = s->inj_head;
    if (t != NULL) {
        s->inj_head = t->next;
        if (s->inj_head == NULL)
            s->inj_tail = NULL;
        t->next = NULL;
        atomic_store_explicit(&s->inj_len,
                              atomic_load_explicit(&s->inj_len,
                                                   memory_order_relaxed) - 1,
                              memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->lock);
    return t;
}

/* Queues a SCHEDULED task that holds its queue reference: the current
 * worker's deque when there is room, else the injection queue. */
static void
enqueue_local(struct worker *w, struct sl_task *t)
{
    if (sl_deque_push(w->dq, t) == 0)
        notify(w->s);
    else
        inject(w->s, t, true);
}

/* A wake's state change: true when it moved t IDLE -> SCHEDULED, so the
 * caller owns queueing it. */
static bool
mark_woken(struct sl_task *t)
{
    int st = atomic_load_explicit(&t->state, memory_order_relaxed);

    for (;;) {
        int next;

        /* Every path ends with a successful RMW, even when the state does
         * not change (SCHEDULED, NOTIFIED): the RMW is a release that the
         * worker's next acquire RMW on the state (SCHEDULED -> RUNNING,
         * NOTIFIED -> SCHEDULED) synchronises with, so whatever the waker
         * wrote before waking (say, a packet queued for a session) is
         * visible to the run this wake guarantees.  A plain load that saw
         * SCHEDULED would give no such ordering. */
        switch (st) {
        case SL_TASK_IDLE:
            next = SL_TASK_SCHEDULED;
            break;
        case SL_TASK_RUNNING:
            next = SL_TASK_NOTIFIED;
            break;
        default:
            next = st;
            break;
        }
        if (atomic_compare_exchange_weak_explicit(&t->state, &st, next,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed))
            break;
    }
    return st == SL_TASK_IDLE;
}

void
sl_task_wake(struct sl_task *t)
{
    struct sl_sched *s = t->sched;

    /* Relaxed is enough for the fast check: a wake that misses a close
     * in progress is handled by the close protocol (see the top). */
    if (atomic_load_explicit(&s->closing, memory_order_relaxed))
        return;
    if (!mark_woken(t))
        return;  /* already queued, or the running worker re-queues it */

    /* We moved it IDLE -> SCHEDULED, so we own queueing it.  Being queued
     * holds a reference; the caller holds one, so this cannot race with
     * destroy. */
    sl_task_ref(t);
    if (self != NULL && self->s == s) {
        enqueue_local(self, t);
        return;
    }
    if (inject(s, t, false) == 0)
        return;
    /* The scheduler closed between our check and the queue.  Nobody else
     * changes a SCHEDULED task's state (wakes only touch it), so undo:
     * back to IDLE, drop the queue reference.  Release so that a later
     * wake's acquire sees a consistent task. */
    atomic_store_explicit(&t->state, SL_TASK_IDLE, memory_order_release);
    sl_task_unref(t);
}

/* How many tasks ahead sl_task_wake_many fetches a task's first line. */
#define WAKE_AHEAD 8

void
sl_task_wake_many(struct sl_task *const *ts, size_t n)
{
    struct sl_sched *s;
    bool             pushed = false;

    if (n == 0)
        return;
    s = ts[0]->sched;
    for (size_t i = 0; i < n && i < WAKE_AHEAD; i++)
        __builtin_prefetch(ts[i], 1, 3);
    if (self == NULL || self->s != s ||
        atomic_load_explicit(&s->closing, memory_order_relaxed)) {
        for (size_t i = 0; i < n; i++) {
            if (i + WAKE_AHEAD < n)
                __builtin_prefetch(ts[i + WAKE_AHEAD], 1, 3);
            sl_task_wake(ts[i]);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct sl_task *t = ts[i];

        if (i + WAKE_AHEAD < n)
            __builtin_prefetch(ts[i + WAKE_AHEAD], 1, 3);
        if (t->sched != s) {
            sl_task_wake(t);
            continue;
        }
        if (!mark_woken(t))
            continue;
        sl_task_ref(t); /* the queue's, as in sl_task_wake */
        if (sl_deque_push(self->dq, t) == 0)
            pushed = true;
        else
            inject(s, t, true);
    }
    /* One notify for the lot: each push is visible before it. */
    if (pushed)
        notify(s);
}

/* Before a task runs, the one that will run after it is taken from the
 * deque (in hand: no thief can take it while this one runs, so reading
 * it is safe) and the object it names in hot_extra is fetched; the hot
 * lines of the one after that (SL_TASK_HOT_BYTES) are fetched too, so
 * that when it is in hand, one run later, its first line (which names
 * its hot_extra) is in cache.  That one is only peeked at: a prefetch
 * never faults, so its being stolen or freed meanwhile costs nothing. */
static void
take_next(struct worker *w)
{
    struct sl_task *next = sl_deque_pop(w->dq);
    const char     *after;

    w->in_hand = next;
    if (next != NULL && next->hot_extra != NULL) {
        for (int off = 0; off < SL_TASK_EXTRA_BYTES; off += 64)
            __builtin_prefetch((const char *) next->hot_extra + off, 1, 3);
    }
    after = sl_deque_peek(w->dq);
    if (after == NULL)
        return;
    for (int off = 0; off < SL_TASK_HOT_BYTES; off += 64)
        __builtin_prefetch(after + off, 1, 3);
}

static void
run_task(struct worker *w, struct sl_task *t)
{
    int prev, exp = SL_TASK_RUNNING;

    take_next(w); /* find_work gave us the one in hand, if any */

    /* acq_rel exchange: acquires every waker's release RMW on the state
     * made while the task was SCHEDULED (see sl_task_wake). */
    prev = atomic_exchange_explicit(&t->state, SL_TASK_RUNNING,
                                    memory_order_acq_rel);
    assert(prev == SL_TASK_SCHEDULED);  /* only queued tasks get here */
    (void) prev;
    t->run(t);
    /* Only this worker writes it: a plain increment, no locked add. */
    atomic_store_explicit(
        &w->tasks_run,
        atomic_load_explicit(&w->tasks_run, memory_order_relaxed) + 1,
        memory_order_relaxed);
    /* Strong CAS: it fails only when a wake moved the task to NOTIFIED. */
    if (atomic_compare_exchange_strong_explicit(&t->state, &exp,
                                                SL_TASK_IDLE,
                                                memory_order_acq_rel,
                                                memory_order_acquire)) {
        /* Idle again: the queue reference goes.  Another worker may
         * already be running the task after a fresh wake; that wake took
         * its own reference. */
        sl_task_unref(t);
        return;
    }
    /* NOTIFIED: only this worker moves it on (wakes just touch it), so an
     * exchange suffices; acq_rel picks up the wakers' writes.  The queue
     * reference is kept for the new stay in the queue. */
    atomic_exchange_explicit(&t->state, SL_TASK_SCHEDULED,
                             memory_order_acq_rel);
    enqueue_local(w, t);
}

static uint32_t
next_rand(struct worker *w)
{
    /* xorshift32: cheap and good enough to spread victims. */
    uint32_t x = w->rng;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    w->rng = x;
    return x;
}

/* Steals about half of one victim's deque, trying victims from a random
 * start.  Returns one stolen task to run now; the rest go to w's deque,
 * which is empty when this is called, so with equal capacities they fit
 * (the injection queue takes any excess anyway). */
static struct sl_task *
steal_work(struct worker *w)
{
    struct sl_sched *s = w->s;
    int              n = s->nworkers;
    int              start;

    if (n < 2)
        return NULL;
    start = (int) (next_rand(w) % (uint32_t) n);
    for (int k = 0; k < n; k++) {
        struct worker  *v = &s->workers[(start + k) % n];
        struct sl_task *first;
        size_t          want;
        uint64_t        got = 1;

        if (v == w)
            continue;
        first = sl_deque_steal(v->dq);
        if (first == NULL)
            continue;
        /* Half of what is left, rounded up, counting the one we have. */
        want = (sl_deque_size(v->dq) + 1) / 2;
        for (size_t i = 0; i < want; i++) {
            struct sl_task *t = sl_deque_steal(v->dq);

            if (t == NULL)
                break;
            if (sl_deque_push(w->dq, t) != 0)
                inject(s, t, true);
            got++;
        }
        atomic_fetch_add_explicit(&w->steals, got, memory_order_relaxed);
        if (got > 1)
            notify(s);  /* our deque now has work others could steal */
        return first;
    }
    return NULL;
}

/* One pass over every place work can be. */
static struct sl_task *
find_work(struct worker *w, bool *searching)
{
    struct sl_sched *s = w->s;
    struct sl_task  *t = w->in_hand;

    if (t != NULL) {
        w->in_hand = NULL;
        return t;
    }
    t = sl_deque_pop(w->dq);
    if (t != NULL)
        return t;
    if (!*searching) {
        *searching = true;
        atomic_fetch_add_explicit(&s->searching, 1, memory_order_seq_cst);
    }
    t = take_injected(s);
    if (t != NULL) {
        atomic_fetch_add_explicit(&w->injected, 1, memory_order_relaxed);
        return t;
    }
    return steal_work(w);
}

/* Leaves the searching state after finding work; the last searcher to
 * leave wakes a sleeper so the remaining work keeps spreading. */
static void
stop_searching(struct sl_sched *s, bool *searching, bool found)
{
    if (!*searching)
        return;
    *searching = false;
    if (atomic_fetch_sub_explicit(&s->searching, 1,
                                  memory_order_seq_cst) == 1 &&
        found &&
        atomic_load_explicit(&s->sleepers, memory_order_seq_cst) > 0) {
        pthread_mutex_lock(&s->lock);
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
}

static void *
worker_main(void *arg)
{
    struct worker   *w = arg;
    struct sl_sched *s = w->s;
    bool             searching = false;

    self = w;
    for (;;) {
        uint64_t        epoch;
        struct sl_task *t;

        epoch = atomic_load_explicit(&s->epoch, memory_order_seq_cst);
        t = find_work(w, &searching);
        if (t != NULL) {
            stop_searching(s, &searching, true);
            run_task(w, t);
            continue;
        }
        /* Acquire: pairs with the release (seq_cst) store in stop; after
         * seeing it, the search below sees every task injected before the
         * close (those appends preceded the store under the same mutex). */
        if (atomic_load_explicit(&s->closing, memory_order_seq_cst)) {
            t = find_work(w, &searching);
            if (t != NULL) {
                stop_searching(s, &searching, true);
                run_task(w, t);
                continue;
            }
            stop_searching(s, &searching, false);
            break;
        }
        /* Park.  The searching count drops before sleepers rises so that
         * a pusher who finds everyone asleep also finds no searcher. */
        stop_searching(s, &searching, false);
        pthread_mutex_lock(&s->lock);
        atomic_fetch_add_explicit(&s->sleepers, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&s->epoch, memory_order_seq_cst) == epoch &&
            !atomic_load_explicit(&s->closing, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&w->parks, 1, memory_order_relaxed);
            /* One wait; a spurious return just means another search. */
            pthread_cond_wait(&s->cond, &s->lock);
        }
        atomic_fetch_sub_explicit(&s->sleepers, 1, memory_order_seq_cst);
        pthread_mutex_unlock(&s->lock);
    }
    self = NULL;
    return NULL;
}

struct sl_sched *
sl_sched_new(int nworkers, size_t deque_cap)
{
    struct sl_sched *s;

    if (nworkers < 1)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->workers = aligned_alloc(64, sizeof(*s->workers) * (size_t) nworkers);
    if (s->workers == NULL)
        goto fail;
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &s->workers[i];

        w->s = s;
        w->index = i;
        w->rng = 0x9e3779b9u * (uint32_t) (i + 1);
        w->in_hand = NULL;
        atomic_init(&w->tasks_run, 0);
        atomic_init(&w->steals, 0);
        atomic_init(&w->injected, 0);
        atomic_init(&w->parks, 0);
        w->dq = sl_deque_new(deque_cap);
        if (w->dq == NULL) {
            for (int j = 0; j < i; j++)
                sl_deque_free(s->workers[j].dq);
            goto fail;
        }
    }
    s->nworkers = nworkers;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    atomic_init(&s->inj_len, 0);
    atomic_init(&s->epoch, 0);
    atomic_init(&s->sleepers, 0);
    atomic_init(&s->searching, 0);
    atomic_init(&s->closing, false);
    return s;

fail:
    free(s->workers);
    free(s);
    return NULL;
}

/* Joins every started worker; closing must already be set. */
static void
join_workers(struct sl_sched *s)
{
    for (int i = 0; i < s->nstarted; i++)
        pthread_join(s->workers[i].thread, NULL);
    s->nstarted = 0;
}

static void
close_sched(struct sl_sched *s)
{
    pthread_mutex_lock(&s->lock);
    atomic_store_explicit(&s->closing, true, memory_order_seq_cst);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

int
sl_sched_start(struct sl_sched *s)
{
    if (s->nstarted > 0 || s->stopped ||
        atomic_load_explicit(&s->closing, memory_order_relaxed))
        return -EINVAL;
    for (int i = 0; i < s->nworkers; i++) {
        int err = pthread_create(&s->workers[i].thread, NULL, worker_main,
                                 &s->workers[i]);

        if (err != 0) {
            /* Drain whatever the started workers already picked up. */
            close_sched(s);
            join_workers(s);
            return -err;
        }
        s->nstarted = i + 1;
    }
    return 0;
}

void
sl_sched_stop(struct sl_sched *s)
{
    struct sl_task *t;

    if (s->stopped)
        return;
    s->stopped = true;
    close_sched(s);
    join_workers(s);
    /* Only a never-started (or failed-to-start) scheduler leaves tasks
     * here: release them unrun, keeping the bookkeeping consistent. */
    pthread_mutex_lock(&s->lock);
    t = s->inj_head;
    s->inj_head = s->inj_tail = NULL;
    atomic_store_explicit(&s->inj_len, 0, memory_order_relaxed);
    pthread_mutex_unlock(&s->lock);
    while (t != NULL) {
        struct sl_task *next = t->next;

        t->next = NULL;
        atomic_store_explicit(&t->state, SL_TASK_IDLE, memory_order_release);
        sl_task_unref(t);
        t = next;
    }
}

void
sl_sched_free(struct sl_sched *s)
{
    if (s == NULL)
        return;
    if (!s->stopped)
        sl_sched_stop(s);
    for (int i = 0; i < s->nworkers; i++)
        sl_deque_free(s->workers[i].dq);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s->workers);
    free(s);
}

int
sl_sched_workers(const struct sl_sched *s)
{
    return s->nworkers;
}

int
sl_sched_current_worker(void)
{
    return self != NULL ? self->index : -1;
}

void
sl_sched_worker_stats(struct sl_sched *s, int i, struct sl_worker_stats *out)
{
    struct worker *w;

    if (i < 0 || i >= s->nworkers) {
        *out = (struct sl_worker_stats) { 0 };
        return;
    }
    w = &s->workers[i];
    out->tasks_run = atomic_load_explicit(&w->tasks_run,
                                          memory_order_relaxed);
    out->steals = atomic_load_explicit(&w->steals, memory_order_relaxed);
    out->injected = atomic_load_explicit(&w->injected, memory_order_relaxed);
    out->parks = atomic_load_explicit(&w->parks, memory_order_relaxed);
}

int
sl_sched_default_workers(void)
{
    cpu_set_t set;
    int       n;
    long      online;

    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        n = CPU_COUNT(&set);
        return n > 0 ? n : 1;
    }
    online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int) online : 1;
}
