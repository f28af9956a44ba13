/*
 * Fibers: a function that runs on a stack of its own and can give the
 * CPU back in the middle (sl_fiber_yield) to whoever resumed it, to go
 * on where it stopped at the next sl_fiber_resume.
 *
 * Why: a pull-style library call (libavformat's demuxer reading through
 * a custom AVIOContext) fed by push-style input (datagrams as they
 * arrive on a pool task).  When the input runs dry the read callback
 * yields instead of blocking a worker or failing the read, and the
 * library's state, stack frames included, waits for the next bytes: no
 * thread per stream.
 *
 * A fiber runs on one thread at a time but may be resumed from any
 * thread (a task that moved worker); resume and yield are not
 * thread-safe otherwise: the owner serialises them (a task runs on one
 * worker at a time).  Never yield while holding a lock.  Stacks are
 * mmap'd with a guard page below them.  The switches are told to ASan
 * and TSan, so the sanitizer builds follow them.
 */
#ifndef SL_FIBER_H
#define SL_FIBER_H

#include <stddef.h>

struct sl_fiber;
typedef void (*sl_fiber_fn)(struct sl_fiber *f, void *arg);

/* A fiber that will run fn(f, arg) on a stack of stack_bytes (rounded
 * up to pages) at its first resume.  NULL when out of memory. */
struct sl_fiber *sl_fiber_new(size_t stack_bytes, sl_fiber_fn fn, void *arg);

/* Runs f until it yields or fn returns.  1 when fn has returned (it
 * must not be resumed again), 0 when it yielded. */
int sl_fiber_resume(struct sl_fiber *f);

/* Inside fn only: back to the resumer. */
void sl_fiber_yield(struct sl_fiber *f);

/* Whether fn has returned. */
int sl_fiber_done(const struct sl_fiber *f);

/* Frees f, which must not be running.  A fiber that has not returned
 * loses its stack: whatever its frames held is not released, so the
 * owner makes it return first (see media/ts_in.c). */
void sl_fiber_free(struct sl_fiber *f);

#endif
