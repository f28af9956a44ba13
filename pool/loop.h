/*
 * The reactor: one thread blocked in epoll_wait() that turns socket
 * readiness and expired timers into task wakes.  It never runs session
 * code; it only records which events arrived and wakes the owning task.
 *
 * Sockets are registered once, edge-triggered, for input, output and
 * hang-up, so a session reads until EAGAIN and writes until EAGAIN and is
 * told again only when something changes.
 */
#ifndef SL_LOOP_H
#define SL_LOOP_H

#include <stdatomic.h>
#include <stdint.h>

#include "pool/sched.h"

#define SL_IO_IN  1u  /* readable, or a peer closed its side */
#define SL_IO_OUT 2u  /* writable again */
#define SL_IO_ERR 4u  /* error or hang-up */
/* The peer closed its side (with SL_IO_IN): the end of the stream is
 * in the socket, so a reader that stops at a short read (rather than at
 * EAGAIN) must read on until it gets it; no later event will say so. */
#define SL_IO_HUP 8u

struct sl_loop;

/* Embedded in whatever owns the socket. */
struct sl_io {
    int             fd;
    atomic_uint     events;  /* SL_IO_* bits not yet taken by the task */
    struct sl_task *task;    /* woken on every event (but see defer) */
    /* Set through sl_io_defer() by the owner while a timer of its own
     * will run the task anyway: readability is then only recorded in
     * events, without a wake, and that run takes it. */
    atomic_bool defer;
};

/* A one-shot timer embedded in its owner.  While armed it holds a
 * reference on its task; when it expires the reactor wakes the task and
 * drops that reference.  The task decides what is due by comparing
 * sl_now_ms() against its own deadlines, so a timer carries no payload. */
struct sl_timer {
    uint64_t        deadline_ms;  /* sl_now_ms() time it fires */
    int             heap_index;   /* -1 when not armed; owned by loop */
    struct sl_task *task;
};

struct sl_loop *sl_loop_new(void);
/* Starts the reactor thread.  0 or -errno. */
int sl_loop_start(struct sl_loop *l);
/* Stops and joins the reactor; armed timers are cancelled (dropping their
 * references) and pending deregistrations complete. */
void sl_loop_stop(struct sl_loop *l);
void sl_loop_free(struct sl_loop *l);

/* Any thread.  Registers io->fd edge-triggered; takes a reference on
 * io->task that sl_loop_del() gives back.  0 or -errno (-ESHUTDOWN after
 * sl_loop_stop(), -ENOMEM, or epoll_ctl's error). */
int sl_loop_add(struct sl_loop *l, struct sl_io *io);

/* Any thread, once per successful add.  Removes the fd from epoll (the
 * caller closes it afterwards).  The reference taken by add is dropped by
 * the reactor after the batch of events it may be processing, so an event
 * already read for this fd can never touch a freed task.  With no reactor
 * running (before start, after stop) it is dropped before returning, so
 * the caller should hold a reference of its own across the call. */
void sl_loop_del(struct sl_loop *l, struct sl_io *io);

/* The events that arrived since the last call, cleared atomically. */
static inline unsigned
sl_io_take_events(struct sl_io *io)
{
    return atomic_exchange_explicit(&io->events, 0, memory_order_acquire);
}

/* The task's own thread.  on: from now on readiness (SL_IO_IN,
 * SL_IO_OUT) is recorded without waking the task (SL_IO_ERR and
 * SL_IO_HUP still wake); the caller must have a wake coming (an armed
 * timer) that will take the events.  Returns 0.  off: events wake
 * again; returns the bits recorded and not yet taken, which the caller
 * must act on (or wake its task for): an event that arrived while the
 * flag was being cleared may have been recorded without a wake. */
unsigned sl_io_defer(struct sl_io *io, int on);

void sl_timer_init(struct sl_timer *t, struct sl_task *task);
/* Any thread.  Arms (or moves) t to fire at deadline_ms.  Ignored after
 * sl_loop_stop() (no reference is taken). */
void sl_timer_arm(struct sl_loop *l, struct sl_timer *t, uint64_t deadline_ms);
/* Any thread.  Disarms t if armed; after it returns t will not fire. */
void sl_timer_cancel(struct sl_loop *l, struct sl_timer *t);

#endif
