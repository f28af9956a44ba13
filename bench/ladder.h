/*
 * The transcoding-ladder benchmark, run as
 *
 *   sluice-bench --ladder -i FILE.flv [-c CONFIG] [-a APP]
 *   sluice-bench --ladder --print-rungs WxH[@FPS] [-c CONFIG] [-a APP]
 *
 * The first form pushes every tag of an H.264/AAC FLV file through the
 * ladder that APP's renditions describe (transcode/ladder.h, offline: no
 * frame is shed), as fast as the ladder takes them, and prints the CPU
 * and wall time it cost with what each rung produced.  The second prints
 * the rungs a WxH source (at FPS, 30 if not given) would get, one line
 * each with the threads and x264 options Sluice gives its encoders (and
 * a line for the decoder's threads), so bench/ladder.sh can give the
 * ffmpeg command line the same settings.  See
 * docs/performance.md, "Transcoding ladder".
 */
#ifndef SL_BENCH_LADDER_H
#define SL_BENCH_LADDER_H

/* argv[0] is "--ladder"; the options follow.  Returns the process exit
 * status: 0, 1 when the run failed, 2 for a usage error. */
int sl_bench_ladder_main(int argc, char **argv);

#endif
