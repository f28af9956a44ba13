/*
 * The real media clients the integration tests drive (ffmpeg as
 * publisher and player) and ffprobe's view of what a player wrote.
 *
 * Test media comes from ffmpeg's lavfi sources at test time: testsrc2
 * video and a sine tone, encoded with libx264 (ultrafast, zerolatency)
 * and AAC, so a run needs nothing committed and little CPU.
 */
#ifndef SL_TEST_MEDIA_H
#define SL_TEST_MEDIA_H

#include <stddef.h>

#include "tests/support/proc.h"

/* What to publish.  Frames sent = fps * seconds exactly (the sources
 * are given that duration). */
struct sl_av {
    int width, height;
    int fps;
    int seconds;
    int gop; /* keyframe interval in frames */
    int qp;  /* 0: the encoder's default rate control;
                > 0: constant QP (low = many bytes) */
};

/* Starts `ffmpeg -re ... -f flv url` with the av parameters; its output
 * goes to log.  0 or -errno. */
int sl_ffmpeg_publish(struct sl_proc *p, const char *url,
                      const struct sl_av *av, const char *log);

/* Starts `ffmpeg -i url -c copy -f flv out` (a player that records
 * what it receives); its output goes to log.  0 or -errno. */
int sl_ffmpeg_play(struct sl_proc *p, const char *url, const char *out,
                   const char *log);

/* ffprobe's view of a media file. */
struct sl_probe {
    int  ok;         /* ffprobe ran and exited 0 */
    char vcodec[32]; /* "" when there is no video stream */
    char acodec[32];
    int  width, height;
    long video_packets;
    long audio_packets;
    int  first_video_key; /* the first video packet has flag K */
    int  video_dts_monotonic;
    int  audio_dts_monotonic;
    long first_video_dts; /* ms in FLV */
};

/* Runs ffprobe (bounded) on file; its raw output is kept next to it.
 * 0, or -errno when ffprobe could not run or did not finish. */
int sl_probe_file(const char *file, struct sl_probe *pr);

/* Prints a one-line summary of pr to stderr, prefixed by what. */
void sl_probe_print(const char *what, const struct sl_probe *pr);

/* 1 when got is within pct percent of want. */
int sl_within_pct(long got, long want, double pct);

#endif
