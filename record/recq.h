/*
 * A recording's queue: the message bodies the tap hands over, waiting
 * for the writer thread.  It holds references (no copies) and is
 * bounded in messages and bytes; what does not fit is dropped so the
 * publisher never waits for the disk:
 *
 *  - video: once a frame does not fit, video is dropped up to the next
 *    keyframe that fits (a file must not get frames it cannot decode);
 *  - audio: the frame that does not fit is dropped;
 *  - codec headers and metadata: the latest of each is remembered, and a
 *    body equal to the latest is not queued again.  They may go
 *    SL_RECQ_HDR_SLACK messages (and 1 MiB) past the bound; one that
 *    still does not fit is dropped and video is dropped to the next
 *    keyframe, before which the latest headers are queued again.
 *
 * Dropped frames are counted.  Not thread-safe: the owner's lock guards
 * every call (the tap, on the publisher's thread, pushes; the writer
 * takes).
 */
#ifndef SL_RECORD_RECQ_H
#define SL_RECORD_RECQ_H

#include <stdint.h>

#include "pool/buf.h"
#include "pool/queue.h"

#define SL_RECQ_HDR_SLACK 16

enum sl_recq_kind {
    SL_RECQ_META,  /* onMetaData */
    SL_RECQ_VSEQ,  /* video codec header */
    SL_RECQ_ASEQ,  /* audio codec header */
    SL_RECQ_VKEY,  /* video keyframe */
    SL_RECQ_VIDEO, /* other video frame */
    SL_RECQ_AUDIO, /* audio frame */
    SL_RECQ_DATA   /* another data message (cue points, text) */
};

struct sl_recq_item {
    struct sl_list link;
    uint8_t        type; /* RTMP message type: 8, 9 or 18 */
    uint8_t        kind; /* enum sl_recq_kind */
    int64_t        ts;
    struct sl_buf *buf; /* a reference of the item's own */
};

struct sl_recq {
    struct sl_list items;
    uint32_t       n, max_msgs;
    uint64_t       bytes, max_bytes;
    int            drop_video;         /* until a keyframe fits */
    int            resend_headers;     /* a header was dropped */
    struct sl_buf *meta, *vseq, *aseq; /* the latest seen, or NULL */
    uint64_t       dropped;            /* frames (and data messages) */
};

void sl_recq_init(struct sl_recq *q, uint32_t max_msgs, uint64_t max_bytes);

/* Classifies a message as the hub hands it to a tap (type 8, 9 or 18;
 * metadata as an onMetaData body); -1 for what a recording leaves out
 * (end-of-sequence and command frames, empty bodies, other types). */
int sl_recq_classify(uint8_t type, const struct sl_buf *b);

/* Queues a reference to b under the policy above.  1 queued, 0 dropped
 * or left out, -ENOMEM. */
int sl_recq_push(struct sl_recq *q, uint8_t type, int64_t ts, struct sl_buf *b);

/* Moves every queued item, in order, to the tail of out (the caller
 * then owns them) and empties the queue's counts. */
void sl_recq_take(struct sl_recq *q, struct sl_list *out);

/* Frees an item and drops its reference; frees every item of a list. */
void sl_recq_item_free(struct sl_recq_item *it);
void sl_recq_free_list(struct sl_list *l);

/* Frees the queued items and the remembered headers. */
void sl_recq_clear(struct sl_recq *q);

#endif
