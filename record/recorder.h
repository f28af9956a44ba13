/*
 * Recording: every stream published in an app with `record = DIR` (and,
 * with `record_renditions = on`, every rung the ladder publishes) is
 * written to DIR/APP-NAME-YYYYMMDD-HHMMSS.flv, a new file at the first
 * keyframe after `record_segment` (docs/config.md).
 *
 * The recorder is a hub observer: a PUBLISH event starts a recording,
 * which taps the stream.  The tap callback only queues references into
 * the recording's bounded queue (record/recq.h), so the publisher never
 * waits for the disk.  One writer thread serves every recording: it
 * takes each queue's messages in turn and writes each as one FLV tag
 * with one writev(2) straight to the file (record/flvw.h), so a killed
 * process leaves files readable up to their last tag.  A write error
 * (disk full, I/O error) stops that recording with one log line; the
 * stream and its players go on.  The publisher leaving (the tap's
 * on_end) closes the file once the queue is written.
 *
 * Lock order: a stream's lock, then the recorder's lock (the tap
 * callback takes it under the stream lock).  The writer never holds the
 * recorder's lock while it writes, taps or untaps.
 */
#ifndef SL_RECORD_RECORDER_H
#define SL_RECORD_RECORDER_H

#include <limits.h>
#include <stdint.h>

#include "server/config.h"
#include "server/hub.h"

/* Per recording: at most this much queued for the writer. */
#define SL_REC_QUEUE_MSGS 2048
#define SL_REC_QUEUE_BYTES (8u * 1024 * 1024)

struct sl_recorder;

/* Registers with the hub (before any thread publishes) and starts the
 * writer thread.  Recordings follow the current config (sl_config_get)
 * at each publish.  NULL on failure. */
struct sl_recorder *sl_recorder_new(struct sl_hub *hub);

/* Stops taking new streams, writes what is queued, closes every file,
 * untaps and joins the writer.  Call after the publishers (sessions,
 * ladders, pulls) have stopped; one still publishing is cut off. */
void sl_recorder_free(struct sl_recorder *r);

enum sl_rec_state {
    SL_REC_WAITING,   /* no file yet: waiting for a keyframe */
    SL_REC_RECORDING, /* a file is open */
    SL_REC_FAILED,    /* stopped by a write error */
    SL_REC_DONE       /* the stream ended; the last file is closed */
};

struct sl_rec_stats {
    char     app[SL_NAME_MAX];
    char     name[SL_NAME_MAX];
    char     file[PATH_MAX]; /* the current (or last) file */
    int      state;          /* enum sl_rec_state */
    uint64_t bytes;          /* written, every file together */
    uint64_t files;
    uint64_t dropped; /* frames dropped because the queue was full */
};

/* Up to max running recordings into out; the count.  Any thread. */
int sl_recorder_stats(struct sl_recorder *r, struct sl_rec_stats *out, int max);

#endif
