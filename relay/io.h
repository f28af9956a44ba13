/*
 * What push and pull share around libavformat: an interrupt callback
 * that ends any blocking connect, read or write when the relay stops or
 * when the current operation's deadline passes (libavformat polls it at
 * least every 100 ms while it waits), and the retry delay.
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

/* The next retry delay: delay doubled, capped at max_ms. */
uint32_t sl_relay_backoff(uint32_t delay_ms, uint32_t max_ms);
/* The delay to wait now: delay_ms with up to 20% of jitter either way,
 * so many relays do not reconnect in step.  seed: rand_r state. */
uint32_t sl_relay_jitter(uint32_t delay_ms, unsigned *seed);

/* Sleeps up to ms, waking early when io->stop is set (polled every
 * 50 ms).  1 when stopped. */
int sl_relay_sleep(struct sl_relay_io *io, uint32_t ms);

#endif
