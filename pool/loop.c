/*
 * The reactor: epoll readiness and timers turned into task wakes.
 *
 * One thread loops: fire expired timers, compute the time to the earliest
 * deadline, epoll_wait() that long, record the events of the batch into
 * each sl_io and wake its task, then release the task references of
 * sockets deregistered meanwhile.  An eventfd, registered with data.ptr
 * NULL, interrupts the wait when a timer is armed earlier than the
 * reactor is sleeping, when a deregistration is pending and on stop.
 *
 * Deregistration.  sl_loop_del() removes the fd from epoll at once, but a
 * batch already returned by epoll_wait() may still name its sl_io, which
 * lives inside the task's owner.  So the registration's task reference is
 * not dropped by del: the task goes on l->pending and the reactor drops
 * it after it has finished the batch it is processing.  Any entry found
 * on the list at that point is safe to release: its EPOLL_CTL_DEL ran
 * before it was listed, hence before the next epoll_wait() call, so no
 * later batch can name it, and the batch that might have named it is
 * done.  To make del unable to fail, l->pending always has room for one
 * entry per registration (grown in sl_loop_add(), where an error can be
 * returned).
 *
 * Timers.  A binary min-heap of sl_timer pointers ordered by deadline,
 * each timer remembering its heap_index.  An armed timer holds a
 * reference on its task.  Expiry happens under l->lock: the timer leaves
 * the heap and its task is woken while the lock is still held, so a
 * sl_timer_cancel() that returns has either removed the timer (it never
 * fires) or happened after the wake (it had already fired).  The timer's
 * reference is dropped after the lock is released.
 *
 * Lock order and re-entrancy.  l->lock may be held while calling
 * sl_task_wake() (which takes the scheduler's leaf lock, and cannot drop a
 * last reference there because the caller still holds the timer's), and
 * sl_task_ref().  It is never held across sl_task_unref(): that can run
 * task->destroy, which may call sl_timer_cancel() or sl_loop_del() on
 * this very loop from this very thread.  References to drop are collected
 * in small on-stack batches under the lock and dropped after unlocking.
 */
#include "pool/loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pool/clock.h"

#define EVENT_BATCH   64  /* epoll events per epoll_wait() */
#define RELEASE_BATCH 64  /* references dropped per lock round */

struct sl_loop {
    int               epfd;
    int               evfd;
    pthread_t         thread;
    bool              started;       /* reactor thread exists; start/stop */
    atomic_bool       quit;          /* set by stop, read by the reactor */

    pthread_mutex_t   lock;          /* everything below */
    struct sl_timer **heap;
    size_t            heap_len;
    size_t            heap_cap;
    /* The deadline the reactor is sleeping towards: UINT64_MAX for no
     * timeout, 0 while it is awake (it recomputes before sleeping), so an
     * arm only writes the eventfd when it would otherwise fire late. */
    uint64_t          wait_deadline;
    bool              alive;         /* a reactor will release pending */
    bool              closed;        /* stopped: arms are ignored */
    struct sl_task  **pending;       /* deregistered, reference to drop */
    size_t            npending;
    size_t            pending_cap;   /* >= nreg + npending, always */
    size_t            nreg;          /* registrations not yet deleted */
};

static void
kick(struct sl_loop *l)
{
    uint64_t one = 1;

    /* Can only fail with EAGAIN when the counter is about to overflow,
     * in which case the reactor is woken anyway. */
    if (write(l->evfd, &one, sizeof(one)) < 0)
        return;
}

/* ---- the timer heap; all under l->lock ---- */

static void
heap_set(struct sl_loop *l, size_t i, struct sl_timer *t)
{
    l->heap[i] = t;
    t->heap_index = (int) i;
}

static void
sift_up(struct sl_loop *l, size_t i)
{
    struct sl_timer *t = l->heap[i];

    while (i > 0) {
        size_t p = (i - 1) / 2;

        if (l->heap[p]->deadline_ms <= t->deadline_ms)
            break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}

static void
sift_down(struct sl_loop *l, size_t i)
{
    struct sl_timer *t = l->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= l->heap_len)
            break;
        if (c + 1 < l->heap_len &&
            l->heap[c + 1]->deadline_ms < l->heap[c]->deadline_ms)
            c++;
        if (l->heap[c]->deadline_ms >= t->deadline_ms)
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

static void
heap_remove(struct sl_loop *l, struct sl_timer *t)
{
    size_t           i = (size_t) t->heap_index;
    struct sl_timer *last = l->heap[--l->heap_len];

    t->heap_index = -1;
    if (last == t)
        return;
    heap_set(l, i, last);
    sift_up(l, i);
    sift_down(l, (size_t) last->heap_index);
}

static int
heap_reserve(struct sl_loop *l)
{
    struct sl_timer **h;
    size_t            cap;

    if (l->heap_len < l->heap_cap)
        return 0;
    cap = l->heap_cap ? l->heap_cap * 2 : 64;
    h = realloc(l->heap, cap * sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    l->heap = h;
    l->heap_cap = cap;
    return 0;
}

/* ---- the reactor ---- */

/* Fires every timer whose deadline has passed. */
static void
fire_timers(struct sl_loop *l)
{
    struct sl_task *drop[RELEASE_BATCH];
    size_t          n;

    do {
        uint64_t now = sl_now_ms();

        n = 0;
        pthread_mutex_lock(&l->lock);
        while (n < RELEASE_BATCH && l->heap_len > 0 &&
               l->heap[0]->deadline_ms <= now) {
            struct sl_timer *t = l->heap[0];

            heap_remove(l, t);
            /* Woken under the lock: see "Timers" at the top. */
            sl_task_wake(t->task);
            drop[n++] = t->task;
        }
        pthread_mutex_unlock(&l->lock);
        /* The timer itself may be gone now; its task is not, until the
         * reference it held is dropped here. */
        for (size_t i = 0; i < n; i++)
            sl_task_unref(drop[i]);
    } while (n == RELEASE_BATCH);
}

/* Drops the references of deregistered sockets.  Called between batches
 * (and after the reactor has stopped), never while a batch that might
 * name one of them is being processed. */
static void
release_pending(struct sl_loop *l)
{
    struct sl_task *drop[RELEASE_BATCH];
    size_t          n;

    do {
        n = 0;
        pthread_mutex_lock(&l->lock);
        while (n < RELEASE_BATCH && l->npending > 0)
            drop[n++] = l->pending[--l->npending];
        pthread_mutex_unlock(&l->lock);
        for (size_t i = 0; i < n; i++)
            sl_task_unref(drop[i]);
    } while (n == RELEASE_BATCH);
}

static void
deliver(struct sl_loop *l, const struct epoll_event *ev)
{
    struct sl_io *io = ev->data.ptr;
    unsigned      bits = 0;

    if (io == NULL) {
        uint64_t v;

        /* Our eventfd: just reset it; the loop re-reads everything. */
        if (read(l->evfd, &v, sizeof(v)) < 0)
            return;
        return;
    }
    if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
        bits |= SL_IO_IN;  /* EOF is read like data */
    if (ev->events & (EPOLLRDHUP | EPOLLHUP))
        bits |= SL_IO_HUP;
    if (ev->events & EPOLLOUT)
        bits |= SL_IO_OUT;
    if (ev->events & (EPOLLERR | EPOLLHUP))
        bits |= SL_IO_ERR;
    /* Release: pairs with the acquire in sl_io_take_events().  seq_cst,
     * with the load of defer below: see sl_io_defer(). */
    atomic_fetch_or_explicit(&io->events, bits, memory_order_seq_cst);
    /* An edge-triggered event reports the whole readiness, so a
     * readable socket is nearly always "writable" too: only an error or
     * a hang-up goes past a deferral. */
    if (!(bits & (SL_IO_ERR | SL_IO_HUP)) &&
        atomic_load_explicit(&io->defer, memory_order_seq_cst))
        return; /* the owner's timer will take it */
    sl_task_wake(io->task);
}

static void *
reactor_main(void *arg)
{
    struct sl_loop     *l = arg;
    struct epoll_event  evs[EVENT_BATCH];

    while (!atomic_load_explicit(&l->quit, memory_order_acquire)) {
        int timeout = -1;
        int n;

        fire_timers(l);
        pthread_mutex_lock(&l->lock);
        if (l->heap_len > 0) {
            uint64_t d = l->heap[0]->deadline_ms;
            uint64_t now = sl_now_ms();

            if (d <= now)
                timeout = 0;
            else
                timeout = d - now > INT_MAX ? INT_MAX : (int) (d - now);
            l->wait_deadline = d;
        } else {
            l->wait_deadline = UINT64_MAX;
        }
        pthread_mutex_unlock(&l->lock);

        n = epoll_wait(l->epfd, evs, EVENT_BATCH, timeout);

        pthread_mutex_lock(&l->lock);
        l->wait_deadline = 0;
        pthread_mutex_unlock(&l->lock);
        for (int i = 0; i < n; i++)
            deliver(l, &evs[i]);
        /* The batch is done: deregistered tasks may go now. */
        release_pending(l);
    }
    return NULL;
}

/* ---- public ---- */

struct sl_loop *
sl_loop_new(void)
{
    struct sl_loop     *l = calloc(1, sizeof(*l));
    struct epoll_event  ev = { .events = EPOLLIN, .data.ptr = NULL };

    if (l == NULL)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->pending_cap = 64;
    l->pending = malloc(l->pending_cap * sizeof(*l->pending));
    if (l->epfd < 0 || l->evfd < 0 || l->pending == NULL ||
        heap_reserve(l) != 0)
        goto fail;
    /* Level-triggered, so a kick is never missed however it interleaves
     * with the read that resets the counter. */
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0)
        goto fail;
    atomic_init(&l->quit, false);
    pthread_mutex_init(&l->lock, NULL);
    return l;

fail:
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->evfd >= 0)
        close(l->evfd);
    free(l->pending);
    free(l->heap);
    free(l);
    return NULL;
}

int
sl_loop_start(struct sl_loop *l)
{
    int err;

    pthread_mutex_lock(&l->lock);
    if (l->started || l->closed) {
        pthread_mutex_unlock(&l->lock);
        return -EINVAL;
    }
    l->alive = true;
    pthread_mutex_unlock(&l->lock);
    err = pthread_create(&l->thread, NULL, reactor_main, l);
    if (err != 0) {
        pthread_mutex_lock(&l->lock);
        l->alive = false;
        pthread_mutex_unlock(&l->lock);
        /* Deregistrations listed meanwhile have no reactor to wait for. */
        release_pending(l);
        return -err;
    }
    l->started = true;
    return 0;
}

void
sl_loop_stop(struct sl_loop *l)
{
    struct sl_task *drop[RELEASE_BATCH];
    size_t          n;

    if (l->started) {
        atomic_store_explicit(&l->quit, true, memory_order_release);
        kick(l);
        pthread_join(l->thread, NULL);
        l->started = false;
    }
    /* No reactor from here on: later deletes drop their reference
     * themselves and later arms are ignored. */
    pthread_mutex_lock(&l->lock);
    l->alive = false;
    l->closed = true;
    pthread_mutex_unlock(&l->lock);
    release_pending(l);
    /* Cancel what is still armed.  destroy callbacks run from the unrefs
     * may cancel other timers; closed keeps new ones from appearing, so
     * this ends. */
    do {
        n = 0;
        pthread_mutex_lock(&l->lock);
        while (n < RELEASE_BATCH && l->heap_len > 0) {
            struct sl_timer *t = l->heap[--l->heap_len];

            t->heap_index = -1;
            drop[n++] = t->task;
        }
        pthread_mutex_unlock(&l->lock);
        for (size_t i = 0; i < n; i++)
            sl_task_unref(drop[i]);
    } while (n == RELEASE_BATCH);
}

void
sl_loop_free(struct sl_loop *l)
{
    if (l == NULL)
        return;
    sl_loop_stop(l);
    close(l->epfd);
    close(l->evfd);
    pthread_mutex_destroy(&l->lock);
    free(l->pending);
    free(l->heap);
    free(l);
}

int
sl_loop_add(struct sl_loop *l, struct sl_io *io)
{
    struct epoll_event ev;
    int                err;

    pthread_mutex_lock(&l->lock);
    if (l->closed) {
        pthread_mutex_unlock(&l->lock);
        return -ESHUTDOWN;
    }
    /* Reserve the pending slot that this registration's del will use. */
    if (l->nreg + l->npending + 1 > l->pending_cap) {
        size_t           cap = l->pending_cap * 2;
        struct sl_task **p = realloc(l->pending, cap * sizeof(*p));

        if (p == NULL) {
            pthread_mutex_unlock(&l->lock);
            return -ENOMEM;
        }
        l->pending = p;
        l->pending_cap = cap;
    }
    l->nreg++;
    pthread_mutex_unlock(&l->lock);

    /* The reference must exist before the fd can produce an event. */
    sl_task_ref(io->task);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = io;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0) {
        err = -errno;
        pthread_mutex_lock(&l->lock);
        l->nreg--;
        pthread_mutex_unlock(&l->lock);
        /* Not the last reference: the caller holds one. */
        sl_task_unref(io->task);
        return err;
    }
    return 0;
}

void
sl_loop_del(struct sl_loop *l, struct sl_io *io)
{
    struct sl_task *t = io->task;
    bool            deferred;

    /* An error (the fd was already closed, say) still leaves it out of
     * the interest list, which is all we need. */
    (void) epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    pthread_mutex_lock(&l->lock);
    l->nreg--;
    deferred = l->alive;
    if (deferred)
        l->pending[l->npending++] = t;  /* room reserved by add */
    pthread_mutex_unlock(&l->lock);
    if (deferred)
        kick(l);  /* release promptly even when the reactor is idle */
    else
        sl_task_unref(t);  /* no reactor, so no batch in flight */
}

/* No wake is lost when the flag is cleared.  deliver() ORs the bits,
 * then reads the flag; this stores the flag, then reads the bits; all
 * four seq_cst, so they sit in one total order.  If deliver's read saw
 * the flag still set, that read precedes the store here, and so does
 * the OR before it: the read of the bits below sees them, and the
 * caller acts on them.  Otherwise deliver saw the flag clear and woke
 * the task itself.  Setting the flag needs no such care: the caller has
 * a timer armed, whose run takes whatever was recorded. */
unsigned
sl_io_defer(struct sl_io *io, int on)
{
    atomic_store_explicit(&io->defer, on != 0, memory_order_seq_cst);
    if (on)
        return 0;
    return atomic_load_explicit(&io->events, memory_order_seq_cst);
}

void
sl_timer_init(struct sl_timer *t, struct sl_task *task)
{
    t->deadline_ms = 0;
    t->heap_index = -1;
    t->task = task;
}

void
sl_timer_arm(struct sl_loop *l, struct sl_timer *t, uint64_t deadline_ms)
{
    bool wake_reactor;

    pthread_mutex_lock(&l->lock);
    if (l->closed) {
        pthread_mutex_unlock(&l->lock);
        return;
    }
    t->deadline_ms = deadline_ms;
    if (t->heap_index < 0) {
        if (heap_reserve(l) != 0) {
            /* Out of memory: wake the task now rather than never.  It
             * checks its own deadlines, so an early wake is harmless. */
            sl_task_wake(t->task);
            pthread_mutex_unlock(&l->lock);
            return;
        }
        /* Not the last reference, so fine under the lock. */
        sl_task_ref(t->task);
        heap_set(l, l->heap_len++, t);
        sift_up(l, (size_t) t->heap_index);
    } else {
        sift_up(l, (size_t) t->heap_index);
        sift_down(l, (size_t) t->heap_index);
    }
    wake_reactor = l->heap[0] == t && deadline_ms < l->wait_deadline;
    if (wake_reactor)
        l->wait_deadline = 0;  /* one kick is enough until it recomputes */
    pthread_mutex_unlock(&l->lock);
    if (wake_reactor)
        kick(l);
}

void
sl_timer_cancel(struct sl_loop *l, struct sl_timer *t)
{
    struct sl_task *drop = NULL;

    pthread_mutex_lock(&l->lock);
    if (t->heap_index >= 0) {
        heap_remove(l, t);
        drop = t->task;
    }
    pthread_mutex_unlock(&l->lock);
    if (drop != NULL)
        sl_task_unref(drop);
}
