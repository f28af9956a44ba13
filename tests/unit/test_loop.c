/*
 * The reactor: readiness turned into wakes with the right SL_IO_* bits,
 * timers in deadline order (cancel, re-arm, stop), and deregistration
 * that frees a task exactly once and never touches it afterwards (run
 * under ASan to make the latter an assertion).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pool/clock.h"
#include "pool/loop.h"
#include "pool/sched.h"

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

struct ltask {
    struct sl_task  t;
    struct sl_io    io;
    struct sl_timer timer;
    struct sl_loop *loop;       /* for destroy's cancel */
    atomic_uint     seen;       /* SL_IO_* bits collected by runs */
    atomic_int      runs;
    atomic_int      fired_at;   /* order of first run, 0 = never */
    int             id;
};

static atomic_int  fire_seq;
static atomic_int  order[16];
static atomic_int  destroyed;

static void
ltask_run(struct sl_task *t)
{
    struct ltask *lt = (struct ltask *) t;
    int           expect = 0;

    atomic_fetch_or(&lt->seen, sl_io_take_events(&lt->io));
    atomic_fetch_add(&lt->runs, 1);
    if (atomic_compare_exchange_strong(&lt->fired_at, &expect, -1)) {
        int pos = atomic_fetch_add(&fire_seq, 1);

        atomic_store(&lt->fired_at, pos + 1);
        if (pos < 16)
            atomic_store(&order[pos], lt->id);
    }
}

/* Frees the task; the owner's struct is gone after this.  Cancelling the
 * timer here is what real owners do, and it must not deadlock when this
 * runs on the reactor thread. */
static void
ltask_destroy(struct sl_task *t)
{
    struct ltask *lt = (struct ltask *) t;

    if (lt->loop != NULL)
        sl_timer_cancel(lt->loop, &lt->timer);
    atomic_fetch_add(&destroyed, 1);
    free(lt);
}

static struct ltask *
ltask_new(struct sl_sched *s, struct sl_loop *l, int fd, int id)
{
    struct ltask *lt = calloc(1, sizeof(*lt));

    if (lt == NULL)
        return NULL;
    sl_task_init(&lt->t, s, ltask_run, ltask_destroy);
    lt->io.fd = fd;
    atomic_init(&lt->io.events, 0);
    atomic_init(&lt->io.defer, 0);
    lt->io.task = &lt->t;
    sl_timer_init(&lt->timer, &lt->t);
    lt->loop = l;
    lt->id = id;
    return lt;
}

struct env {
    struct sl_sched *s;
    struct sl_loop  *l;
};

static void
env_up(struct env *e, int workers)
{
    alarm(WATCHDOG_S);
    e->s = sl_sched_new(workers, 64);
    e->l = sl_loop_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->l);
    CU_ASSERT_EQUAL_FATAL(sl_sched_start(e->s), 0);
    CU_ASSERT_EQUAL_FATAL(sl_loop_start(e->l), 0);
    atomic_store(&fire_seq, 0);
    for (int i = 0; i < 16; i++)
        atomic_store(&order[i], -1);
}

/* The loop first, so no wake reaches a stopped scheduler. */
static void
env_down(struct env *e)
{
    sl_loop_stop(e->l);
    sl_sched_stop(e->s);
    sl_loop_free(e->l);
    sl_sched_free(e->s);
    alarm(0);
}

static void
test_readable(void)
{
    struct env    e;
    struct ltask *lt;
    int           sv[2];
    int           before = atomic_load(&destroyed);

    env_up(&e, 2);
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                                     SOCK_CLOEXEC, 0, sv), 0);
    lt = ltask_new(e.s, e.l, sv[0], 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lt);
    CU_ASSERT_EQUAL_FATAL(sl_loop_add(e.l, &lt->io), 0);
    /* The registration's reference (a run may hold a queue one too). */
    CU_ASSERT(atomic_load(&lt->t.refs) >= 2);
    /* Edge-triggered registration reports the initial writability. */
    WAIT_UNTIL(atomic_load(&lt->seen) & SL_IO_OUT, 5000);
    CU_ASSERT(atomic_load(&lt->seen) & SL_IO_OUT);
    CU_ASSERT_FALSE(atomic_load(&lt->seen) & SL_IO_IN);
    atomic_store(&lt->seen, 0);

    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    WAIT_UNTIL(atomic_load(&lt->seen) & SL_IO_IN, 5000);
    CU_ASSERT(atomic_load(&lt->seen) & SL_IO_IN);

    /* The peer closing its side reads as input too. */
    atomic_store(&lt->seen, 0);
    close(sv[1]);
    WAIT_UNTIL(atomic_load(&lt->seen) & SL_IO_IN, 5000);
    CU_ASSERT(atomic_load(&lt->seen) & SL_IO_IN);

    sl_loop_del(e.l, &lt->io);
    close(sv[0]);
    sl_task_unref(&lt->t);
    WAIT_UNTIL(atomic_load(&destroyed) == before + 1, 5000);
    CU_ASSERT_EQUAL(atomic_load(&destroyed), before + 1);
    env_down(&e);
}

/* A deferred io records readiness without waking its task; clearing the
 * deferral hands back what was recorded; a hang-up wakes through it. */
static void
test_deferred(void)
{
    struct env    e;
    struct ltask *lt;
    int           sv[2], runs;
    unsigned      left;
    int           before = atomic_load(&destroyed);

    env_up(&e, 1);
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                                     SOCK_CLOEXEC, 0, sv), 0);
    lt = ltask_new(e.s, e.l, sv[0], 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lt);
    CU_ASSERT_EQUAL_FATAL(sl_loop_add(e.l, &lt->io), 0);
    WAIT_UNTIL(atomic_load(&lt->seen) & SL_IO_OUT, 5000);
    CU_ASSERT_FATAL(atomic_load(&lt->seen) & SL_IO_OUT);
    atomic_store(&lt->seen, 0);
    runs = atomic_load(&lt->runs);

    CU_ASSERT_EQUAL(sl_io_defer(&lt->io, 1), 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    /* No run comes for it: wait as long as a wake takes many times over. */
    sleep_ms(300);
    CU_ASSERT_EQUAL(atomic_load(&lt->runs), runs);
    /* Cleared: the bit the reactor recorded is handed back. */
    left = sl_io_defer(&lt->io, 0);
    CU_ASSERT(left & SL_IO_IN);

    /* Deferred again, a hang-up still wakes, and says so. */
    sl_io_defer(&lt->io, 1);
    close(sv[1]);
    WAIT_UNTIL(atomic_load(&lt->seen) & SL_IO_HUP, 5000);
    CU_ASSERT(atomic_load(&lt->seen) & SL_IO_HUP);
    CU_ASSERT(atomic_load(&lt->seen) & SL_IO_IN);

    sl_loop_del(e.l, &lt->io);
    close(sv[0]);
    sl_task_unref(&lt->t);
    WAIT_UNTIL(atomic_load(&destroyed) == before + 1, 5000);
    CU_ASSERT_EQUAL(atomic_load(&destroyed), before + 1);
    env_down(&e);
}

static void
test_writable_again(void)
{
    struct env    e;
    struct ltask *lt;
    int           sv[2];
    static char   chunk[65536];
    char          sink[65536];
    ssize_t       n;
    long          filled = 0;

    env_up(&e, 2);
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                                     SOCK_CLOEXEC, 0, sv), 0);
    lt = ltask_new(e.s, e.l, sv[0], 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lt);
    CU_ASSERT_EQUAL_FATAL(sl_loop_add(e.l, &lt->io), 0);
    WAIT_UNTIL(atomic_load(&lt->seen) & SL_IO_OUT, 5000);

    while ((n = write(sv[0], chunk, sizeof(chunk))) > 0)
        filled += n;
    CU_ASSERT_EQUAL(n, -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT(filled > 0);
    /* Nothing more can come until the peer reads. */
    sleep_ms(20);
    atomic_store(&lt->seen, 0);

    while (read(sv[1], sink, sizeof(sink)) > 0)
        ;
    WAIT_UNTIL(atomic_load(&lt->seen) & SL_IO_OUT, 5000);
    CU_ASSERT(atomic_load(&lt->seen) & SL_IO_OUT);

    sl_loop_del(e.l, &lt->io);
    close(sv[0]);
    close(sv[1]);
    sl_task_unref(&lt->t);
    env_down(&e);
}

/* Timers armed out of order fire in deadline order.  One worker, so runs
 * happen in the order of the wakes. */
static void
test_timer_order(void)
{
    static const int offs[] = { 60, 20, 100, 40, 80, 120 };
    enum { N = sizeof(offs) / sizeof(offs[0]) };
    struct env    e;
    struct ltask *lt[N];
    uint64_t      now;
    int           before = atomic_load(&destroyed);

    env_up(&e, 1);
    now = sl_now_ms();
    for (int i = 0; i < N; i++) {
        lt[i] = ltask_new(e.s, e.l, -1, offs[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(lt[i]);
        sl_timer_arm(e.l, &lt[i]->timer, now + (uint64_t) offs[i]);
    }
    WAIT_UNTIL(atomic_load(&fire_seq) == N, 5000);
    CU_ASSERT_EQUAL(atomic_load(&fire_seq), N);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(atomic_load(&order[i]), 20 * (i + 1));
    /* The expired timers' references go back. */
    for (int i = 0; i < N; i++) {
        WAIT_UNTIL(atomic_load(&lt[i]->t.refs) == 1, 5000);
        CU_ASSERT_EQUAL(lt[i]->timer.heap_index, -1);
        sl_task_unref(&lt[i]->t);
    }
    CU_ASSERT_EQUAL(atomic_load(&destroyed), before + N);
    env_down(&e);
}

static void
test_timer_cancel_and_rearm(void)
{
    struct env    e;
    struct ltask *gone, *marker, *sooner, *later;
    uint64_t      t0;

    env_up(&e, 2);
    gone = ltask_new(e.s, e.l, -1, 1);
    marker = ltask_new(e.s, e.l, -1, 2);
    sooner = ltask_new(e.s, e.l, -1, 3);
    later = ltask_new(e.s, e.l, -1, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gone);
    CU_ASSERT_PTR_NOT_NULL_FATAL(marker);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sooner);
    CU_ASSERT_PTR_NOT_NULL_FATAL(later);

    /* A cancelled timer never fires and gives its reference back. */
    t0 = sl_now_ms();
    sl_timer_arm(e.l, &gone->timer, t0 + 100);
    sl_timer_arm(e.l, &marker->timer, t0 + 150);
    sl_timer_cancel(e.l, &gone->timer);
    sl_timer_cancel(e.l, &gone->timer);  /* twice is fine */
    CU_ASSERT_EQUAL(atomic_load(&gone->t.refs), 1);
    CU_ASSERT_EQUAL(gone->timer.heap_index, -1);
    WAIT_UNTIL(atomic_load(&marker->runs) > 0, 5000);
    CU_ASSERT(atomic_load(&marker->runs) > 0);
    sleep_ms(20);
    CU_ASSERT_EQUAL(atomic_load(&gone->runs), 0);

    /* Re-arming earlier moves the timer (and interrupts a reactor that
     * is sleeping towards the old, later deadline).  Re-arming takes no
     * second reference. */
    t0 = sl_now_ms();
    sl_timer_arm(e.l, &sooner->timer, t0 + 10000);
    CU_ASSERT_EQUAL(atomic_load(&sooner->t.refs), 2);
    sl_timer_arm(e.l, &sooner->timer, t0 + 9000);
    CU_ASSERT_EQUAL(atomic_load(&sooner->t.refs), 2);
    sleep_ms(10);  /* let the reactor settle into the long wait */
    sl_timer_arm(e.l, &sooner->timer, t0 + 30);
    WAIT_UNTIL(atomic_load(&sooner->runs) > 0, 5000);
    CU_ASSERT(atomic_load(&sooner->runs) > 0);
    CU_ASSERT(sl_now_ms() - t0 < 2000);

    /* Re-arming later moves it too. */
    t0 = sl_now_ms();
    sl_timer_arm(e.l, &later->timer, t0 + 100);
    sl_timer_arm(e.l, &later->timer, t0 + 300);
    sleep_ms(150);
    CU_ASSERT_EQUAL(atomic_load(&later->runs), 0);
    WAIT_UNTIL(atomic_load(&later->runs) > 0, 5000);
    CU_ASSERT(atomic_load(&later->runs) > 0);
    CU_ASSERT(sl_now_ms() - t0 >= 300);

    WAIT_UNTIL(atomic_load(&sooner->t.refs) == 1 &&
               atomic_load(&later->t.refs) == 1 &&
               atomic_load(&marker->t.refs) == 1, 5000);
    CU_ASSERT_EQUAL(atomic_load(&sooner->t.refs), 1);
    CU_ASSERT_EQUAL(atomic_load(&later->t.refs), 1);
    sl_task_unref(&gone->t);
    sl_task_unref(&marker->t);
    sl_task_unref(&sooner->t);
    sl_task_unref(&later->t);
    env_down(&e);
}

/* A timer whose task the owner has already released: the reactor drops
 * the last reference, so destroy runs on the reactor thread and cancels
 * its own (fired) timer without deadlocking.  The scheduler is stopped so
 * the wake is dropped and the reactor's drop is surely the last. */
static void
test_timer_last_ref_on_reactor(void)
{
    enum { N = 20 };
    struct sl_sched *s = sl_sched_new(1, 16);
    struct sl_loop  *l = sl_loop_new();
    int              before = atomic_load(&destroyed);
    uint64_t         now;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    alarm(WATCHDOG_S);
    sl_sched_stop(s);
    CU_ASSERT_EQUAL_FATAL(sl_loop_start(l), 0);
    now = sl_now_ms();
    for (int i = 0; i < N; i++) {
        struct ltask *lt = ltask_new(s, l, -1, i);

        CU_ASSERT_PTR_NOT_NULL_FATAL(lt);
        sl_timer_arm(l, &lt->timer, now + 5 + (uint64_t) i);
        sl_task_unref(&lt->t);  /* only the timer holds it now */
    }
    WAIT_UNTIL(atomic_load(&destroyed) == before + N, 5000);
    CU_ASSERT_EQUAL(atomic_load(&destroyed), before + N);
    sl_loop_stop(l);
    sl_loop_free(l);
    sl_sched_free(s);
    alarm(0);
}

/* Register, provoke events, deregister and drop the owner's reference,
 * many times over while the reactor is busy delivering: each task is
 * destroyed exactly once (ASan would catch the reactor touching one
 * afterwards), and promptly even though the reactor has no timer to wake
 * it. */
static void
test_del_then_unref(void)
{
    enum { N = 300 };
    struct env e;
    int        before = atomic_load(&destroyed);

    env_up(&e, 2);
    for (int i = 0; i < N; i++) {
        struct ltask *lt;
        int           sv[2];

        CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM |
                                         SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                                         sv), 0);
        lt = ltask_new(e.s, e.l, sv[0], i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(lt);
        CU_ASSERT_EQUAL_FATAL(sl_loop_add(e.l, &lt->io), 0);
        CU_ASSERT_EQUAL(write(sv[1], "ping", 4), 4);
        if (i & 1)
            sched_yield();  /* sometimes let the events get delivered */
        sl_loop_del(e.l, &lt->io);
        close(sv[0]);
        close(sv[1]);
        sl_task_unref(&lt->t);
    }
    WAIT_UNTIL(atomic_load(&destroyed) == before + N, 5000);
    CU_ASSERT_EQUAL(atomic_load(&destroyed), before + N);
    env_down(&e);
}

/* Stopping the loop with timers armed gives their references back (and
 * destroys tasks only they held); deletes and arms after the stop do the
 * right thing without a reactor. */
static void
test_stop_with_armed_timers(void)
{
    enum { N = 100 };
    struct env    e;
    struct ltask *kept[N];
    int           before = atomic_load(&destroyed);
    uint64_t      far = sl_now_ms() + 3600 * 1000;
    struct ltask *lt;
    int           sv[2];

    env_up(&e, 2);
    for (int i = 0; i < N; i++) {
        kept[i] = ltask_new(e.s, e.l, -1, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(kept[i]);
        sl_timer_arm(e.l, &kept[i]->timer, far + (uint64_t) (i % 7));
        /* Every other one is held by its timer alone. */
        lt = ltask_new(e.s, e.l, -1, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(lt);
        sl_timer_arm(e.l, &lt->timer, far - (uint64_t) i);
        sl_task_unref(&lt->t);
    }
    /* One registration still open at the stop. */
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                                     SOCK_CLOEXEC, 0, sv), 0);
    lt = ltask_new(e.s, e.l, sv[0], -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lt);
    CU_ASSERT_EQUAL_FATAL(sl_loop_add(e.l, &lt->io), 0);
    /* Let the initial SL_IO_OUT run finish, so that only the owner and
     * the registration hold references. */
    WAIT_UNTIL(atomic_load(&lt->runs) > 0 &&
               atomic_load(&lt->t.refs) == 2, 5000);

    sl_loop_stop(e.l);
    CU_ASSERT_EQUAL(atomic_load(&destroyed), before + N);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(atomic_load(&kept[i]->t.refs), 1);
        CU_ASSERT_EQUAL(kept[i]->timer.heap_index, -1);
    }
    /* After the stop an arm is ignored and takes no reference. */
    sl_timer_arm(e.l, &kept[0]->timer, sl_now_ms());
    CU_ASSERT_EQUAL(atomic_load(&kept[0]->t.refs), 1);
    CU_ASSERT_EQUAL(sl_loop_add(e.l, &kept[0]->io), -ESHUTDOWN);
    /* A delete after the stop gives the reference back at once. */
    CU_ASSERT_EQUAL(atomic_load(&lt->t.refs), 2);
    sl_loop_del(e.l, &lt->io);
    CU_ASSERT_EQUAL(atomic_load(&lt->t.refs), 1);
    close(sv[0]);
    close(sv[1]);
    sl_task_unref(&lt->t);
    for (int i = 0; i < N; i++)
        sl_task_unref(&kept[i]->t);
    CU_ASSERT_EQUAL(atomic_load(&destroyed), before + 2 * N + 1);
    env_down(&e);
}

static void
test_add_errors(void)
{
    struct env    e;
    struct ltask *lt;
    int           before = atomic_load(&destroyed);

    env_up(&e, 1);
    lt = ltask_new(e.s, e.l, -1, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lt);
    CU_ASSERT_EQUAL(sl_loop_add(e.l, &lt->io), -EBADF);
    CU_ASSERT_EQUAL(atomic_load(&lt->t.refs), 1);
    sl_task_unref(&lt->t);
    CU_ASSERT_EQUAL(atomic_load(&destroyed), before + 1);
    env_down(&e);
}

void
sl_test_suite_loop(void)
{
    CU_pSuite s = CU_add_suite("loop", NULL, NULL);

    CU_add_test(s, "socketpair write wakes with SL_IO_IN", test_readable);
    CU_add_test(s, "a deferred io records readiness, wakes on hang-up",
                test_deferred);
    CU_add_test(s, "EAGAIN then drain gives SL_IO_OUT", test_writable_again);
    CU_add_test(s, "timers fire in deadline order", test_timer_order);
    CU_add_test(s, "cancel never fires, re-arm moves",
                test_timer_cancel_and_rearm);
    CU_add_test(s, "last timer ref dropped on the reactor",
                test_timer_last_ref_on_reactor);
    CU_add_test(s, "del then unref frees exactly once", test_del_then_unref);
    CU_add_test(s, "stop with armed timers drops refs",
                test_stop_with_armed_timers);
    CU_add_test(s, "add errors give the reference back", test_add_errors);
}
