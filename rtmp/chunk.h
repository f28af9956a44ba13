/*
 * The RTMP chunk stream: a reader that reassembles messages from chunks,
 * and writers that split messages into chunks.
 *
 * Reader: a pure parser (bytes in, messages out; no socket or clock).
 * It understands all four chunk header formats (0: full, 1: same stream
 * id, 2: timestamp delta only, 3: nothing new), one-, two- and three-byte
 * basic headers, and extended timestamps, which are also present on
 * format-3 chunks whenever the chunk stream's last header carried one.
 * It enforces limits before any allocation: a message longer than
 * max_message_size and a chunk stream id beyond the table of max_streams
 * open chunk streams are -EPROTO.
 *
 * Writers: sl_chunk_encode() produces one message as format-0 + format-3
 * chunks, the form Sluice fans out to every player (stream-independent
 * bytes, so they are encoded once and shared).  sl_chunk_writer is a
 * stateful writer that compresses headers (formats 1, 2 and 3 when
 * fields repeat), used for a connection's own messages by the bench tool
 * and the tests.
 */
#ifndef SL_CHUNK_H
#define SL_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "pool/buf.h"
#include "rtmp/rtmp.h"

#define SL_CHUNK_DEFAULT_SIZE 128
#define SL_CHUNK_MAX_SIZE 0x7fffffffu

struct sl_chunk_msg {
    uint32_t       csid;      /* chunk stream it arrived on */
    uint8_t        type;      /* SL_MSG_* or any other id */
    uint32_t       msid;      /* message stream id */
    uint32_t       timestamp; /* absolute, as on the wire (mod 2^32) */
    struct sl_buf *payload;   /* whole message; owned by the receiver */
};

struct sl_chunk_reader;

/* NULL when out of memory.  max_streams bounds the chunk stream ids the
 * peer may use at once (ids are mapped into a small table). */
struct sl_chunk_reader *sl_chunk_reader_new(uint32_t max_message_size,
                                            unsigned max_streams);
void                    sl_chunk_reader_free(struct sl_chunk_reader *r);

/* Consumes bytes until one message completes or the input ends.  Returns
 * bytes consumed (>= 0); when a message completed, msg->payload is set
 * (the caller owns it) and the return may be less than len, so the caller
 * can act on the message (a Set Chunk Size, say) before feeding the rest.
 * Otherwise msg->payload is NULL and all input was consumed (partial
 * headers are kept inside the reader).  -EPROTO on a protocol violation
 * (see sl_chunk_reader_error() for why); -ENOMEM.  After an error the
 * reader must not be fed again. */
int sl_chunk_read(struct sl_chunk_reader *r, const uint8_t *in, size_t len,
                  struct sl_chunk_msg *msg);

/* Applies the peer's Set Chunk Size.  -EPROTO for 0 or above 2^31-1. */
int sl_chunk_reader_set_chunk_size(struct sl_chunk_reader *r, uint32_t size);

/* Applies the peer's Abort Message: drops the partial message on csid. */
void sl_chunk_reader_abort(struct sl_chunk_reader *r, uint32_t csid);

/* Total bytes consumed so far (for Acknowledgement). */
uint64_t sl_chunk_reader_bytes(const struct sl_chunk_reader *r);

/* A static string saying why the last -EPROTO happened. */
const char *sl_chunk_reader_error(const struct sl_chunk_reader *r);

/* Bytes sl_chunk_encode() produces for a len-byte message. */
size_t sl_chunk_encoded_size(uint32_t csid, uint32_t timestamp, size_t len,
                             uint32_t chunk_size);

/* One message as a format-0 chunk then format-3 continuations (each with
 * the extended timestamp when timestamp >= 0xffffff), in a new buffer
 * with one reference for the caller.  NULL when out of memory or for a
 * csid outside 2..65599. */
struct sl_buf *sl_chunk_encode(uint32_t csid, uint8_t type, uint32_t msid,
                               uint32_t timestamp, const uint8_t *payload,
                               size_t len, uint32_t chunk_size);

/* What sl_chunk_unwrap finds in one encoded message. */
struct sl_chunk_unwrapped {
    uint8_t  type;
    uint32_t msid;
    uint32_t timestamp; /* the full 32 bits */
    uint32_t len;       /* body bytes */
};

/* The inverse of sl_chunk_encode: wire[0..n) must be exactly one message
 * as it writes them (a format-0 chunk, then format-3 continuations of
 * chunk_size bytes on the same csid, each with the extended timestamp
 * when the first has it).  Copies the body into body[0..cap) and fills
 * out.  Returns the body's length, -ENOSPC when it is longer than cap
 * (out->len says how long), or -EPROTO for bytes of any other shape.
 * Pure; the hub uses it to turn its encoded messages into FLV tags for
 * HTTP players without keeping a second copy of every body. */
int sl_chunk_unwrap(const uint8_t *wire, size_t n, uint32_t chunk_size,
                    struct sl_chunk_unwrapped *out, uint8_t *body, size_t cap);

/* Protocol control and user control messages (csid 2, msid 0), encoded
 * with chunk_size: a new buffer with one reference, or NULL. */
struct sl_buf *sl_chunk_ctrl(uint8_t type, uint32_t value, uint32_t chunk_size);
struct sl_buf *sl_chunk_peer_bw(uint32_t window, uint8_t limit_type,
                                uint32_t chunk_size);
struct sl_buf *sl_chunk_user_control(uint16_t event, uint32_t value,
                                     uint32_t chunk_size);
/* A user control event with two 32-bit values (SetBufferLength). */
struct sl_buf *sl_chunk_user_control2(uint16_t event, uint32_t v1, uint32_t v2,
                                      uint32_t chunk_size);

/* Stateful header-compressing writer for one connection's outgoing
 * messages.  Remembers per chunk stream the last header so it can use
 * formats 1, 2 and 3. */
struct sl_chunk_writer;

struct sl_chunk_writer *sl_chunk_writer_new(uint32_t chunk_size);
void                    sl_chunk_writer_free(struct sl_chunk_writer *w);
void sl_chunk_writer_set_chunk_size(struct sl_chunk_writer *w, uint32_t size);

/* Appends the chunks of one message to out (at most cap bytes).  Returns
 * bytes written, or -ENOSPC when it does not fit (out is then garbage and
 * the writer's state unchanged). */
int sl_chunk_write(struct sl_chunk_writer *w, uint8_t *out, size_t cap,
                   uint32_t csid, uint8_t type, uint32_t msid,
                   uint32_t timestamp, const uint8_t *payload, size_t len);

#endif
