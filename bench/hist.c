/*
 * Log-linear bucketing: see hist.h.  The bucket of v >= 128 is found
 * from the position k of its highest set bit (k >= 7) and the next six
 * bits below it, which is what keeps the relative error constant.
 */
#include "bench/hist.h"

#include <string.h>

#define LINEAR 128 /* values with a bucket of their own */
#define SUB 64     /* buckets per power of two above LINEAR */

void
sl_hist_init(struct sl_hist *h)
{
    memset(h, 0, sizeof(*h));
}

static unsigned
bucket_of(uint64_t v)
{
    unsigned k, idx;

    if (v < LINEAR)
        return (unsigned) v;
    k = 63u - (unsigned) __builtin_clzll(v);
    /* v >> (k - 6) lies in [64, 127]: the top bit and six below it. */
    idx = LINEAR + (k - 7) * SUB + (unsigned) ((v >> (k - 6)) - SUB);
    return idx < SL_HIST_BUCKETS ? idx : SL_HIST_BUCKETS - 1;
}

/* The middle of bucket i, the value reported for anything in it. */
static uint64_t
value_of(unsigned i)
{
    unsigned k, m;
    uint64_t lo, width;

    if (i < LINEAR)
        return i;
    k = (i - LINEAR) / SUB + 7;
    m = (i - LINEAR) % SUB + SUB;
    width = (uint64_t) 1 << (k - 6);
    lo = (uint64_t) m << (k - 6);
    return lo + width / 2;
}

void
sl_hist_add(struct sl_hist *h, uint64_t v)
{
    h->n[bucket_of(v)]++;
    h->count++;
    if (v > h->max)
        h->max = v;
}

uint64_t
sl_hist_quantile(const struct sl_hist *h, double q)
{
    uint64_t rank, seen = 0;

    if (h->count == 0)
        return 0;
    if (q <= 0)
        q = 0;
    if (q >= 1)
        return h->max;
    /* The smallest bucket whose cumulative count exceeds q * count. */
    rank = (uint64_t) (q * (double) h->count);
    for (unsigned i = 0; i < SL_HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen > rank) {
            uint64_t v = value_of(i);

            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}
