#include "relay/retry.h"

#include <stdlib.h>
#include <string.h>

void
sl_retry_init(struct sl_retry *r, uint32_t min_ms, uint32_t max_ms,
              uint32_t fast_ms)
{
    memset(r, 0, sizeof(*r));
    r->min_ms = min_ms > 0 ? min_ms : 1;
    r->max_ms = max_ms > r->min_ms ? max_ms : r->min_ms;
    r->fast_ms = fast_ms;
}

uint32_t
sl_retry_bound(const struct sl_retry *r, uint32_t timeout_ms)
{
    uint64_t b = (uint64_t) r->took_ms * 4;

    if (r->took_ms == 0 ||
        r->timeouts % SL_RETRY_SLOW_EVERY == SL_RETRY_SLOW_EVERY - 1)
        return timeout_ms;
    if (b < SL_RETRY_BOUND_MIN_MS)
        b = SL_RETRY_BOUND_MIN_MS;
    return b < timeout_ms ? (uint32_t) b : timeout_ms;
}

uint32_t
sl_retry_failed(struct sl_retry *r, uint64_t start_ms, uint64_t now_ms,
                int timed_out)
{
    uint64_t next;

    r->timeouts = timed_out ? r->timeouts + 1 : 0;
    if (r->since_ms == 0)
        r->since_ms = start_ms;
    /* The fast part: judged at the failure, so an endpoint back just
     * before fast_ms is still met by the next fast attempt. */
    if (now_ms - r->since_ms < r->fast_ms) {
        r->interval_ms = r->min_ms;
        return r->interval_ms;
    }
    /* Then doubling: from 2 x min_ms after fast attempts (which were
     * min_ms apart), from min_ms without any. */
    next = r->interval_ms == 0 ? r->min_ms : (uint64_t) r->interval_ms * 2;
    r->interval_ms = next > r->max_ms ? r->max_ms : (uint32_t) next;
    return r->interval_ms;
}

uint32_t
sl_retry_wait(uint32_t interval_ms, uint64_t start_ms, uint64_t now_ms,
              unsigned *seed)
{
    uint64_t span = interval_ms / 5;
    uint64_t wait = interval_ms;
    uint64_t spent = now_ms > start_ms ? now_ms - start_ms : 0;

    if (span > 0)
        wait += (uint64_t) rand_r(seed) % (span + 1);
    return wait > spent ? (uint32_t) (wait - spent) : 0;
}

void
sl_retry_connected(struct sl_retry *r, uint64_t start_ms, uint64_t now_ms)
{
    uint64_t took = now_ms > start_ms ? now_ms - start_ms : 0;

    /* 0 means "never connected": a connect within the same millisecond
     * took at most 1. */
    r->took_ms = took == 0           ? 1
                 : took > UINT32_MAX ? UINT32_MAX
                                     : (uint32_t) took;
    r->timeouts = 0;
}

void
sl_retry_healthy(struct sl_retry *r)
{
    r->since_ms = 0;
    r->interval_ms = 0;
    r->warned_ms = 0;
    r->quiet = 0;
}

int
sl_retry_warn(struct sl_retry *r, uint64_t now_ms, uint32_t *quiet)
{
    if (r->warned_ms != 0 && now_ms - r->warned_ms < SL_RETRY_WARN_EVERY_MS) {
        r->quiet++;
        return 0;
    }
    *quiet = r->quiet;
    r->quiet = 0;
    r->warned_ms = now_ms;
    return 1;
}
