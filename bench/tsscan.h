/*
 * What an SRT player of the load generator checks in the MPEG-TS it
 * reads: that the bytes are whole 188-byte packets, how many video and
 * audio PES packets (frames) begin in them, and whether a packet went
 * missing on the way (a continuity counter that skips).  Pure: bytes
 * and state in, a count or -EPROTO out; no socket, clock or
 * allocation, so tests/unit/test_tsscan.c feeds it at every split
 * point.
 *
 * It reads no PAT or PMT: a PES packet's kind is its stream_id (0xE0-
 * 0xEF video, 0xC0-0xDF audio), which is at the start of the payload of
 * the packet that begins it.  That is all the generator needs to count
 * frames, and it costs a few byte reads per packet, so a hundred players
 * on one core stay cheap.
 */
#ifndef SL_BENCH_TSSCAN_H
#define SL_BENCH_TSSCAN_H

#include <stddef.h>
#include <stdint.h>

#define SL_BENCH_TS_PACKET 188
/* PIDs whose continuity is followed; more are counted in `untracked`. */
#define SL_BENCH_TS_PIDS 16

struct sl_bench_ts_pid {
    uint16_t pid;
    uint8_t  cc;       /* the last counter seen with a payload */
    uint8_t  dup_seen; /* that counter was already repeated once */
};

/* One player's scanner; zero it (or sl_bench_ts_init) to start.  The
 * counts only grow; the caller keeps its own copies to take windows. */
struct sl_bench_ts {
    uint8_t  part[SL_BENCH_TS_PACKET]; /* a packet split across reads */
    size_t   npart;
    unsigned npids;
    struct sl_bench_ts_pid pids[SL_BENCH_TS_PIDS];

    uint64_t packets;   /* whole packets scanned */
    uint64_t video_pes; /* PES packets begun with a video stream_id */
    uint64_t audio_pes; /* ... with an audio stream_id */
    uint64_t cc_errors; /* counters that skipped: packets lost */
    uint64_t untracked; /* packets of PIDs beyond SL_BENCH_TS_PIDS */
};

void sl_bench_ts_init(struct sl_bench_ts *t);

/* Scans p[0..len), any split of the stream (a packet may span calls).
 * Returns the number of video PES packets that began in these bytes
 * (>= 0), or -EPROTO when a packet does not start with the sync byte
 * 0x47 (the stream is not whole packets, or not MPEG-TS); after
 * -EPROTO the bad packet is not counted and the caller
 * should stop reading this stream (the counts include the packets
 * before the bad one). */
int sl_bench_ts_scan(struct sl_bench_ts *t, const uint8_t *p, size_t len);

#endif
