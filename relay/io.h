/*
 * What push and pull share around libavformat: an interrupt callback
 * that ends any blocking connect, read or write when the relay stops or
 * when the current operation's deadline passes (libavformat polls it at
 * least every 100 ms while it waits), and the sleep between attempts
 * (relay/retry.h says how long).
 */
#ifndef SL_RELAY_IO_H
#define SL_RELAY_IO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libavformat/avio.h>

struct sl_relay_io {
    atomic_int    stop;        /* set from other threads */
    atomic_ullong deadline_ms; /* 0: none */
};

/* For AVFormatContext.interrupt_callback / avio_open2. */
AVIOInterruptCB sl_relay_io_cb(struct sl_relay_io *io);

/* The current operation must end within ms from now (0: no bound). */
void sl_relay_io_deadline(struct sl_relay_io *io, uint32_t ms);

/* 1 when the current operation's deadline is set and has passed: the
 * operation that just failed ran out of time (rather than being refused
 * or stopped).  The thread that set the deadline calls it. */
int sl_relay_io_expired(struct sl_relay_io *io);

/* Sleeps ms, waking early when io->stop is set (polled every 50 ms; the
 * last step is cut to end on time).  1 when stopped. */
int sl_relay_sleep(struct sl_relay_io *io, uint32_t ms);

#endif
