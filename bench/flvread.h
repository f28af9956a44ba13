/*
 * What an HTTP-FLV player of the load generator parses: the end and the
 * verdict of an HTTP response head, and an FLV byte stream read tag by
 * tag.  Pure: bytes and state in, consumed / -EAGAIN / -EPROTO out; no
 * socket, clock or allocation, so both are fed at every split point by
 * tests/unit/test_flvread.c.
 *
 * The FLV reader keeps no tag body.  The generator identifies a video
 * frame by its length, timestamp and first SL_BENCH_HASH_BYTES bytes
 * (bench/measure.c), so the reader copies that much of each body and
 * skips the rest: a player's memory stays a small fixed struct however
 * large the frames are, and no frame is reassembled or copied whole.
 */
#ifndef SL_BENCH_FLVREAD_H
#define SL_BENCH_FLVREAD_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp/flv.h"

/* Bytes of a frame body that identify it (with its length). */
#define SL_BENCH_HASH_BYTES 64

/* The longest response head an HTTP-FLV player accepts. */
#define SL_BENCH_HEAD_MAX 4096

/* Looks for the blank line that ends a response head in p[0..len); the
 * first `from` bytes are known not to hold its start (pass what was
 * searched before, so a head that arrives byte by byte is not searched
 * again from the start).  Returns the head's length through the blank
 * line, or -EAGAIN when it has not ended yet; only the first
 * SL_BENCH_HEAD_MAX bytes are searched. */
int sl_bench_http_head_end(const uint8_t *p, size_t len, size_t from);

/* Judges a complete response head (as found above): 0 for a 200 with
 * Content-Type video/x-flv and a close-delimited body; -EPROTO for any
 * other status, another or no Content-Type, a Transfer-Encoding (chunked
 * bodies are not read) or a malformed status line, with the reason in
 * why (at most cap bytes, always terminated). */
int sl_bench_http_head_check(const uint8_t *p, size_t len, char *why,
                             size_t cap);

/* What one call of sl_bench_flvrd_read() completed. */
enum sl_bench_flv_event {
    SL_BENCH_FLV_NONE,   /* all input consumed, nothing complete */
    SL_BENCH_FLV_HEADER, /* the file header and PreviousTagSize0 */
    SL_BENCH_FLV_TAG     /* a tag's body (its trailer is checked later) */
};

struct sl_bench_flv_msg {
    enum sl_bench_flv_event event;
    uint8_t                 type;     /* 8 audio, 9 video, 18 script */
    uint32_t                ts;       /* milliseconds, with the extension */
    uint32_t                len;      /* the whole body's length */
    const uint8_t          *head;     /* its first head_len bytes */
    uint32_t                head_len; /* min(len, SL_BENCH_HASH_BYTES) */
    uint8_t                 flags;    /* HEADER: 4 audio, 1 video */
};

/* The reader's state; zeroed by sl_bench_flvrd_init().  Its fields are
 * the reader's own: callers look only at err. */
struct sl_bench_flvrd {
    uint8_t     part;                /* what is being read (flvread.c) */
    uint8_t     type, flags;         /* the current tag; the file's flags */
    uint8_t     buf[SL_FLV_TAG_HDR]; /* a header or trailer in parts */
    uint32_t    have;                /* bytes of the part read so far */
    uint32_t    skip;                /* file header bytes beyond 9 to skip */
    uint32_t    len, ts;             /* the current tag's */
    uint8_t     head[SL_BENCH_HASH_BYTES];
    const char *err; /* why the last -EPROTO happened */
};

void sl_bench_flvrd_init(struct sl_bench_flvrd *r);

/* Consumes bytes of the stream that follows the response head until an
 * event completes or the input ends.  Returns the bytes consumed; when
 * out->event is not NONE, the return may be less than len and out->head
 * points into r (valid until the next call).  -EPROTO when the bytes are
 * not FLV: a bad signature, version or PreviousTagSize, a tag type other
 * than 8, 9 and 18 (the encryption filter included) or a stream id other
 * than 0; r->err says which.  After an error the reader must not be fed
 * again. */
int sl_bench_flvrd_read(struct sl_bench_flvrd *r, const uint8_t *in, size_t len,
                        struct sl_bench_flv_msg *out);

#endif
