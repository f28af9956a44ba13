/*
 * When a relay tries again: the schedule of a push's reconnects and of
 * an edge pull's origin retries, and how long one attempt may take.
 * Pure: the caller passes the clock and the random state, so the unit
 * suite can walk whole outages.  Each push or pull thread owns one
 * struct sl_retry; nothing here is shared between threads.
 *
 * The schedule.  A downstream that goes away usually comes back within
 * seconds to a minute (a restart, a deploy, a network blip), and its
 * viewers see every second between its return and our next attempt.
 * Doubling the wait from the first failure makes that gap grow with the
 * outage (up to as long as the outage so far, then retry_max: a median
 * 2.9 s after 4 s away, 13-20 s after 40 s).  So for the first fast_ms
 * of an outage attempts start min_ms apart (1 s by default: the gap is
 * at most one interval, about half of one on average), and only a longer
 * outage backs off: the interval doubles at each failure, from 2 x
 * min_ms up to max_ms.  An endpoint that stays dead gets at most one
 * attempt per min_ms for fast_ms, then fewer and fewer.  fast_ms = 0
 * gives the plain doubling from min_ms.
 *
 * Intervals run from one attempt's start to the next one's, so an
 * attempt that took time (a connect that ran into its bound) does not
 * stretch the schedule.  Each is made up to 20% longer at random, never
 * shorter (so the rate stays within one per min_ms), so that relays
 * that lost the same downstream do not all come back in step.
 *
 * An outage begins with the first failed attempt and ends when a
 * connection has carried media long enough to count as healthy (the
 * caller decides: sl_retry_healthy).  The loss of a healthy connection
 * is followed by an attempt at once; a connection that fails before it
 * is healthy is a failed attempt like any other.
 *
 * How long one attempt may take (sl_retry_bound).  A refused connect
 * fails at once, but a host that drops our packets (down, firewalled,
 * a route gone) leaves the connect hanging until a deadline.  Linux
 * sends a SYN again 1 s after the first and 2 s after that, so an
 * attempt bounded by 5 s sends SYNs at 0, 1 and 3 s: a host that comes
 * back can wait 2 s for the next one.  Attempts bounded by 2 s follow
 * each other at once and a SYN goes out every second.  The bound covers
 * the whole attempt, though (libavformat has no hook between the TCP
 * connect and the RTMP handshake, connect and publish: 5-7 round trips,
 * more with TLS), and a far downstream needs longer.  So the bound is 4
 * times what the last successful attempt took, at least 2 s and at most
 * the caller's timeout; and the timeout itself before any success
 * (nothing is known yet) and on every 4th attempt in a row that ran out
 * of time (the downstream may have become slower: moved further away).
 */
#ifndef SL_RELAY_RETRY_H
#define SL_RELAY_RETRY_H

#include <stdint.h>

/* The shortest bound of an attempt after a success, ms. */
#define SL_RETRY_BOUND_MIN_MS 2000
/* Every this many attempts in a row that timed out, the next one gets
 * the full timeout. */
#define SL_RETRY_SLOW_EVERY 4
/* While failures go on, at most one warning line per this many ms. */
#define SL_RETRY_WARN_EVERY_MS 10000

struct sl_retry {
    /* The schedule, ms (min_ms <= max_ms). */
    uint32_t min_ms, max_ms, fast_ms;
    /* The outage: when its first failed attempt started (0: none), and
     * the interval given last (0: none yet in this outage). */
    uint64_t since_ms;
    uint32_t interval_ms;
    /* What the last successful attempt took (0: none yet), and the
     * attempts in a row since that ran out of time. */
    uint32_t took_ms;
    int      timeouts;
    /* Warnings: when the last one was due (0: none in this outage), and
     * the failures since that were not warned about. */
    uint64_t warned_ms;
    uint32_t quiet;
};

/* A schedule with no outage and no success yet.  Needs min_ms >= 1 and
 * max_ms >= min_ms (the config loader checks both). */
void sl_retry_init(struct sl_retry *r, uint32_t min_ms, uint32_t max_ms,
                   uint32_t fast_ms);

/* How long the next attempt may take, ms (see above); timeout_ms is the
 * longest. */
uint32_t sl_retry_bound(const struct sl_retry *r, uint32_t timeout_ms);

/* The attempt that started at start_ms failed at now_ms; timed_out: it
 * ran out of its bound.  Returns the interval from its start to the next
 * attempt's start, before jitter. */
uint32_t sl_retry_failed(struct sl_retry *r, uint64_t start_ms, uint64_t now_ms,
                         int timed_out);

/* How long to sleep at now_ms before the next attempt: interval_ms (from
 * sl_retry_failed) plus 0-20% of it at random, counted from start_ms;
 * 0 when that is already past.  seed: rand_r state. */
uint32_t sl_retry_wait(uint32_t interval_ms, uint64_t start_ms, uint64_t now_ms,
                       unsigned *seed);

/* The attempt that started at start_ms connected at now_ms.  The outage
 * goes on until the connection is healthy. */
void sl_retry_connected(struct sl_retry *r, uint64_t start_ms, uint64_t now_ms);

/* The connection carried media long enough: the outage, if any, is
 * over, and the next failure starts a new one at min_ms. */
void sl_retry_healthy(struct sl_retry *r);

/* Whether the failure at now_ms deserves a warning line: the first of an
 * outage does, then one per SL_RETRY_WARN_EVERY_MS (a dead endpoint is
 * tried every second; a line each time would bury the log).  1 with
 * *quiet = the failures since the last warning that got none (the
 * caller logs those at debug level); 0 when this one gets none. */
int sl_retry_warn(struct sl_retry *r, uint64_t now_ms, uint32_t *quiet);

#endif
