/*
 * SRT players of one stream, run as
 *
 *   sluice-bench --srt-players N
 *       --srt-url 'srt://HOST:PORT?streamid=#!::r=APP/NAME,m=request'
 *       [-d seconds] [-w warmup_s] [-p SERVER_PID] [--fps F] [--csv]
 *
 * N libsrt callers (live mode, the stream id from the URL, %XX decoded)
 * share one local UDP port and one libsrt epoll set; each reads and
 * drops the MPEG-TS it is sent, counting its bytes, the video frames
 * that begin in it and the packets that went missing (bench/tsscan.h).
 * Once every player is connected (or failed) and the warm-up has
 * passed, a window of -d seconds is measured: each player's frames
 * against F (30) per second, its bytes per second, and, with -p, the
 * server's CPU (user and sys) and RSS from /proc as bench/measure.c
 * takes them for the RTMP players, the RSS baseline read before the
 * first player connects.  The stream's publisher is someone else's
 * (bench/srt.sh runs sluice-bench -n 0 beside it).  See
 * docs/performance.md, "SRT".
 */
#ifndef SL_BENCH_SRTPLAY_H
#define SL_BENCH_SRTPLAY_H

/* argv[1] is "--srt-players"; the options follow.  Returns the process
 * exit status: 0, 1 when the run failed, 2 for a usage error. */
int sl_bench_srt_main(int argc, char **argv);

#endif
