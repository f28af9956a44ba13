/*
 * The work-stealing scheduler: N worker threads, each with a local
 * Chase-Lev deque, plus a mutex-guarded injection queue that non-worker
 * threads (acceptors, the reactor, transcoders) push into.  An idle worker
 * takes from its own deque, then the injection queue, then steals half of
 * a random victim's deque, and parks when there is nothing anywhere.
 *
 * A task is scheduled at most once at a time.  Its state word moves
 *   IDLE      -> SCHEDULED  by sl_task_wake() (the waker queues it)
 *   SCHEDULED -> RUNNING    by the worker that dequeues it
 *   RUNNING   -> NOTIFIED   by sl_task_wake() during a run (not queued)
 *   RUNNING   -> IDLE       when the run ends, or
 *   NOTIFIED  -> SCHEDULED  when the run ends after a wake (re-queued)
 * so a task's run function never executes on two workers at once and a
 * wake is never lost: code guarded by "I am the running task" needs no
 * lock of its own.
 *
 * Lifetime: a task is refcounted.  Whoever may still wake it holds a
 * reference (its owner, the reactor registration, an armed timer, a hub
 * subscription); being queued holds one too.  The last sl_task_unref()
 * calls task->destroy on that thread.
 */
#ifndef SL_SCHED_H
#define SL_SCHED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct sl_sched;
struct sl_task;

typedef void (*sl_task_fn)(struct sl_task *t);

enum sl_task_state {
    SL_TASK_IDLE = 0,   /* not queued, not running */
    SL_TASK_SCHEDULED,  /* in exactly one queue, waiting for a worker */
    SL_TASK_RUNNING,    /* a worker is inside run() */
    SL_TASK_NOTIFIED    /* running, and woken again: run once more */
};

/* Before a worker runs a task from its deque it prefetches the first
 * SL_TASK_HOT_BYTES at the address of the task that will run after it,
 * while this one runs: an owner that embeds its task first and keeps
 * what every run touches in those bytes finds them in cache (a run that
 * follows a socket write otherwise starts with a miss on each line). */
#define SL_TASK_HOT_BYTES 320

/* An owner whose runs also touch another object first (a session's
 * protocol state) names it in hot_extra: the worker fetches its first
 * SL_TASK_EXTRA_BYTES one run ahead too. */
#define SL_TASK_EXTRA_BYTES 192

struct sl_task {
    atomic_int       state;    /* enum sl_task_state */
    atomic_uint      refs;
    sl_task_fn       run;      /* the task's body; runs on a worker */
    sl_task_fn       destroy;  /* frees the task at refcount zero */
    struct sl_task  *next;     /* injection queue link, owned by sched */
    struct sl_sched *sched;
    const void      *hot_extra; /* see SL_TASK_EXTRA_BYTES; NULL: none */
};

/* Initialises t with one reference, owned by the caller. */
void sl_task_init(struct sl_task *t, struct sl_sched *s, sl_task_fn run,
                  sl_task_fn destroy);

void sl_task_ref(struct sl_task *t);
void sl_task_unref(struct sl_task *t);

/* Any thread.  Makes sure t runs (again) after this call.  On a worker of
 * t's scheduler it queues to that worker's deque, elsewhere to the
 * injection queue.  After sl_sched_stop() has begun, wakes are dropped. */
void sl_task_wake(struct sl_task *t);

/* sl_task_wake on each of ts[0..n), for a waker with many tasks at once
 * (a stream's players at the end of a merge window): the tasks' first
 * lines are fetched a few ahead, and on a worker of their scheduler one
 * notify of the idle workers covers them all. */
void sl_task_wake_many(struct sl_task *const *ts, size_t n);

/* A scheduler with nworkers threads (>= 1) and deques of deque_cap items.
 * Threads start in sl_sched_start().  NULL when out of memory. */
struct sl_sched *sl_sched_new(int nworkers, size_t deque_cap);
int sl_sched_start(struct sl_sched *s);

/* Close, then drain: refuses new wakes, runs what is already queued,
 * wakes parked workers and joins every thread.  Call from a non-worker
 * thread.  Safe to call once; sl_sched_free() afterwards.  A dropped wake
 * leaves the task's state and references untouched; tasks queued on a
 * scheduler that never started are released unrun (back to IDLE, queue
 * reference dropped). */
void sl_sched_stop(struct sl_sched *s);
void sl_sched_free(struct sl_sched *s);

int sl_sched_workers(const struct sl_sched *s);

/* Index of the calling worker thread in its scheduler, or -1 when the
 * caller is not a worker. */
int sl_sched_current_worker(void);

struct sl_worker_stats {
    uint64_t tasks_run;  /* runs completed by this worker */
    uint64_t steals;     /* items taken from other workers' deques */
    uint64_t injected;   /* items taken from the injection queue */
    uint64_t parks;      /* times it went to sleep */
};

/* Counters of worker i (relaxed reads; any thread). */
void sl_sched_worker_stats(struct sl_sched *s, int i,
                           struct sl_worker_stats *out);

/* Default worker count: the CPUs this process may run on (affinity
 * mask), so `taskset -c 0 sluice` gets one worker. */
int sl_sched_default_workers(void);

#endif
