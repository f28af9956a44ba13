#include "relay/io.h"

#include <time.h>

#include "pool/clock.h"

static int
interrupted(void *opaque)
{
    struct sl_relay_io *io = opaque;

    if (atomic_load_explicit(&io->stop, memory_order_relaxed))
        return 1;
    return sl_relay_io_expired(io);
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

int
sl_relay_io_expired(struct sl_relay_io *io)
{
    uint64_t d = atomic_load_explicit(&io->deadline_ms, memory_order_relaxed);

    return d != 0 && sl_now_ms() > d;
}

int
sl_relay_sleep(struct sl_relay_io *io, uint32_t ms)
{
    uint64_t end = sl_now_ms() + ms, now;

    while ((now = sl_now_ms()) < end) {
        uint64_t        left = end - now < 50 ? end - now : 50;
        struct timespec step = {0, (long) left * 1000 * 1000};

        if (atomic_load(&io->stop))
            return 1;
        nanosleep(&step, NULL);
    }
    return atomic_load(&io->stop) != 0;
}
