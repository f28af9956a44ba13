/*
 * A log-linear histogram of non-negative integers (the bench records
 * latencies in microseconds).  Values below 128 have a bucket each;
 * above, every power of two is cut into 64 equal buckets, so a reported
 * percentile is within 1/64 (1.6%) of the true value whatever its
 * magnitude.  Fixed size (about 18 KiB), no allocation: one histogram is
 * shared by every player, so the generator's memory does not grow with
 * the number of messages or players.  Single-threaded.
 */
#ifndef SL_BENCH_HIST_H
#define SL_BENCH_HIST_H

#include <stdint.h>

#define SL_HIST_BUCKETS (128 + 34 * 64) /* up to 2^41 */

struct sl_hist {
    uint64_t count;
    uint64_t max;
    uint64_t n[SL_HIST_BUCKETS];
};

void sl_hist_init(struct sl_hist *h);

/* Records v; values beyond the last bucket land in it (max stays exact). */
void sl_hist_add(struct sl_hist *h, uint64_t v);

/* The value below which a fraction q (0..1) of the records lie: the
 * middle of the bucket holding that rank.  0 for an empty histogram. */
uint64_t sl_hist_quantile(const struct sl_hist *h, double q);

#endif
