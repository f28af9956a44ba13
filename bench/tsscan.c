/*
 * The SRT player's MPEG-TS scanner (see tsscan.h).  Each packet is
 * looked at once, in place when it lies whole in the caller's bytes, or
 * from `part` when it was split across reads.
 *
 * Continuity: ISO/IEC 13818-1 makes a PID's 4-bit continuity_counter
 * step by one on every packet that carries a payload, stay the same on
 * packets without one, and allows one repeat (a duplicate packet).  A
 * packet whose adaptation field sets discontinuity_indicator restarts
 * the count.  Anything else is a skip: packets of that PID were lost.
 * The null PID (0x1FFF) has no counter.
 */
#include "bench/tsscan.h"

#include <errno.h>
#include <string.h>

#define SYNC 0x47
#define PID_NULL 0x1fff

void
sl_bench_ts_init(struct sl_bench_ts *t)
{
    memset(t, 0, sizeof(*t));
}

/* The PID's continuity entry; NULL when the table is full. */
static struct sl_bench_ts_pid *
pid_entry(struct sl_bench_ts *t, uint16_t pid, int *fresh)
{
    *fresh = 0;
    for (unsigned i = 0; i < t->npids; i++)
        if (t->pids[i].pid == pid)
            return &t->pids[i];
    if (t->npids == SL_BENCH_TS_PIDS)
        return NULL;
    *fresh = 1;
    t->pids[t->npids].pid = pid;
    return &t->pids[t->npids++];
}

/* Follows pid's counter.  1 when the packet repeats the one before
 * (its payload was seen already), else 0. */
static int
continuity(struct sl_bench_ts *t, uint16_t pid, uint8_t cc, int restart)
{
    int                     fresh;
    struct sl_bench_ts_pid *e = pid_entry(t, pid, &fresh);

    if (e == NULL) {
        t->untracked++;
        return 0;
    }
    if (!fresh && !restart) {
        if (cc == e->cc && !e->dup_seen) {
            e->dup_seen = 1; /* one repeat is allowed */
            return 1;
        }
        if (cc != ((e->cc + 1) & 0x0f))
            t->cc_errors++;
    }
    e->cc = cc;
    e->dup_seen = 0;
    return 0;
}

/* One whole packet.  1 when a video PES begins in it, 0 when not,
 * -EPROTO when it is not a TS packet. */
static int
packet(struct sl_bench_ts *t, const uint8_t *p)
{
    uint16_t pid = (uint16_t) (((p[1] & 0x1f) << 8) | p[2]);
    int      pusi = (p[1] & 0x40) != 0;
    int      afc = (p[3] >> 4) & 3;
    size_t   off = 4;
    int      restart = 0;

    if (p[0] != SYNC)
        return -EPROTO;
    if (afc & 2) {
        size_t aflen = p[4];

        /* 183 bytes at most: the rest of the packet after its length. */
        if (aflen > SL_BENCH_TS_PACKET - 5)
            return -EPROTO;
        if (aflen > 0)
            restart = (p[5] & 0x80) != 0; /* discontinuity_indicator */
        off = 5 + aflen;
    }
    t->packets++;
    if (!(afc & 1))
        return 0; /* no payload: the counter does not move */
    if (pid != PID_NULL && continuity(t, pid, p[3] & 0x0f, restart))
        return 0; /* a duplicate begins no new PES packet */
    /* A PES packet begins with 00 00 01 and its stream_id; a section's
     * pointer_field and table_id never read 00 00 01. */
    if (!pusi || SL_BENCH_TS_PACKET - off < 4 || p[off] != 0 ||
        p[off + 1] != 0 || p[off + 2] != 1)
        return 0;
    if (p[off + 3] >= 0xe0 && p[off + 3] <= 0xef) {
        t->video_pes++;
        return 1;
    }
    if (p[off + 3] >= 0xc0 && p[off + 3] <= 0xdf)
        t->audio_pes++;
    return 0;
}

int
sl_bench_ts_scan(struct sl_bench_ts *t, const uint8_t *p, size_t len)
{
    int frames = 0, rc;

    if (t->npart > 0) {
        size_t n = SL_BENCH_TS_PACKET - t->npart;

        if (n > len)
            n = len;
        memcpy(t->part + t->npart, p, n);
        t->npart += n;
        p += n;
        len -= n;
        if (t->npart < SL_BENCH_TS_PACKET)
            return 0;
        t->npart = 0;
        rc = packet(t, t->part);
        if (rc < 0)
            return rc;
        frames += rc;
    }
    for (; len >= SL_BENCH_TS_PACKET;
         p += SL_BENCH_TS_PACKET, len -= SL_BENCH_TS_PACKET) {
        rc = packet(t, p);
        if (rc < 0)
            return rc;
        frames += rc;
    }
    if (len > 0) {
        memcpy(t->part, p, len);
        t->npart = len;
    }
    return frames;
}
