#include "relay/io.h"

#include <stdlib.h>
#include <time.h>

#include "pool/clock.h"

static int
interrupted(void *opaque)
{
    struct sl_relay_io *io = opaque;
    uint64_t d = atomic_load_explicit(&io->deadline_ms, memory_order_relaxed);

    if (atomic_load_explicit(&io->stop, memory_order_relaxed))
        return 1;
    return d != 0 && sl_now_ms() > d;
}

AVIOInterruptCB
sl_relay_io_cb(struct sl_relay_io *io)
{
    AVIOInterruptCB cb = {interrupted, io};

    return cb;
}

void
sl_relay_io_deadline(struct sl_relay_io *io, uint32_t ms)
{
    atomic_store_explicit(&io->deadline_ms, ms ? sl_now_ms() + ms : 0,
                          memory_order_relaxed);
}

uint32_t
sl_relay_jitter(uint32_t delay_ms, unsigned *seed)
{
    int64_t span = delay_ms / 5;
    int64_t j = span > 0 ? (int64_t) (rand_r(seed) % (2 * span + 1)) - span : 0;

    return (uint32_t) ((int64_t) delay_ms + j);
}

uint32_t
sl_relay_backoff(uint32_t delay_ms, uint32_t max_ms)
{
    uint64_t next = (uint64_t) delay_ms * 2;

    return next > max_ms ? max_ms : (uint32_t) next;
}

int
sl_relay_sleep(struct sl_relay_io *io, uint32_t ms)
{
    struct timespec step = {0, 50 * 1000 * 1000};
    uint64_t        end = sl_now_ms() + ms;

    while (sl_now_ms() < end) {
        if (atomic_load(&io->stop))
            return 1;
        nanosleep(&step, NULL);
    }
    return atomic_load(&io->stop) != 0;
}
