/*
 * Publishing FLV files through the tests' RTMP client (rtmp_client.h):
 * the tags of each file one after the other on one connection, each
 * file's timestamps continuing after the previous one's.  A second file
 * starts with its own onMetaData and codec headers, so two files of
 * different sizes are a source that changes resolution mid-stream, as
 * an encoder makes it.
 */
#ifndef SL_TEST_FLVPUB_H
#define SL_TEST_FLVPUB_H

#include "bench/flvfile.h"
#include "tests/support/rtmp_client.h"

/* Makes out, an FLV file of testsrc2 at w x h and fps for seconds, a
 * keyframe every gop frames (H.264, libx264 ultrafast) plus a 440 Hz
 * sine (AAC, 44.1 kHz), with ffmpeg as fast as it goes (bounded by
 * timeout_s); its messages go to log.  0, or what sl_proc_run says. */
int sl_flvpub_make(const char *out, const char *log, int w, int h, int fps,
                   int seconds, int gop, double timeout_s);

/* Sends the tags of files[0..nfiles) on c, which already publishes
 * (message stream 1).  paced: each tag at its timestamp after the
 * first (real time); 0: as fast as the socket takes them.  The AVC end
 * of sequence ffmpeg ends a file with is left out (a switching encoder
 * sends none, only a new header).  0, -ETIMEDOUT when a tag would go
 * after deadline (sl_now() time), or the client's error. */
int sl_flvpub_send(struct sl_rc *c, const struct sl_flv_file *files, int nfiles,
                   int paced, double deadline);

#endif
