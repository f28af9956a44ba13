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

/* ---- any ffmpeg command, and players that keep the server's clock ---- */

/* Starts `ffmpeg -hide_banner -nostdin -loglevel warning` followed by
 * args (NULL-terminated); its output goes to log.  0 or -errno. */
int sl_ffmpeg_spawn(struct sl_proc *p, const char *const args[],
                    const char *log);

/* Like sl_ffmpeg_play, with -copyts: the recording keeps the timestamps
 * the server sent instead of starting at 0, so recordings of different
 * streams of one server can be compared time for time. */
int sl_ffmpeg_record(struct sl_proc *p, const char *url, const char *out,
                     const char *log);

/* ---- ffprobe's packet list ---- */

/* One packet, in file order.  Times in ms (the FLV time base). */
struct sl_pkt {
    char type; /* 'v' video, 'a' audio, '?' anything else */
    char key;  /* 1 when flagged K */
    long pts;  /* LONG_MIN when ffprobe says N/A */
    long dts;
    long size; /* bytes of the packet (the codec payload) */
};

struct sl_pkts {
    struct sl_pkt *p;
    size_t         n;
};

/* Runs ffprobe -show_packets (bounded) on file; its raw output is kept
 * next to it (FILE.pktlist).  0, or -errno (out is then empty).  Free
 * with sl_pkts_free. */
int  sl_probe_packets(const char *file, struct sl_pkts *out);
void sl_pkts_free(struct sl_pkts *pk);

/* Packets of a type ('v' or 'a') with a pts; first and last (smallest
 * and largest) pts into *first and *last when there is one. */
size_t sl_pkts_span(const struct sl_pkts *pk, char type, long *first,
                    long *last);

/* The pts of video keyframes, in file order, into out (at most cap);
 * returns how many there are (which may exceed cap). */
size_t sl_pkts_keyframes(const struct sl_pkts *pk, long *out, size_t cap);

/* Average rate in kbit/s (bits per ms) of the packets of a type whose
 * pts is in [from, to): their sizes in bits over to - from.  -1 when
 * to <= from. */
double sl_pkts_kbps(const struct sl_pkts *pk, char type, long from, long to);

/* 1 when a packet of the type has a pts within tol ms of pts. */
int sl_pkts_has_pts(const struct sl_pkts *pk, char type, long pts, long tol);

#endif
