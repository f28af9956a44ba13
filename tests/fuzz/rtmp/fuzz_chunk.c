/*
 * libFuzzer target for the chunk stream reader.
 *
 * The input is fed in pieces whose sizes come from the input bytes
 * themselves, so the fuzzer also explores where reads are cut (inside
 * basic headers, message headers, extended timestamps, payloads).  Set
 * Chunk Size and Abort messages are acted on the way a server acts on
 * them, and every message the reader accepts is re-encoded with
 * sl_chunk_encode() and parsed back by a second reader, which must return
 * the same message: the writer and the reader have to agree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool/buf.h"
#include "rtmp/chunk.h"

#define MAX_MESSAGE (64 * 1024)
#define MAX_STREAMS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t
get_be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | p[3];
}

static void
check_round_trip(struct sl_chunk_reader *v, const struct sl_chunk_msg *m)
{
    struct sl_buf      *b;
    struct sl_chunk_msg out;
    int                 rc;

    b = sl_chunk_encode(m->csid, m->type, m->msid, m->timestamp,
                        m->payload->data, m->payload->len,
                        SL_CHUNK_DEFAULT_SIZE);
    if (b == NULL ||
        b->len != sl_chunk_encoded_size(m->csid, m->timestamp, m->payload->len,
                                        SL_CHUNK_DEFAULT_SIZE))
        abort();
    rc = sl_chunk_read(v, b->data, b->len, &out);
    if (rc != (int) b->len || out.payload == NULL || out.csid != m->csid ||
        out.type != m->type || out.msid != m->msid ||
        out.timestamp != m->timestamp || out.payload->len != m->payload->len ||
        memcmp(out.payload->data, m->payload->data, m->payload->len) != 0)
        abort();
    sl_buf_unref(out.payload);
    sl_buf_unref(b);
}

/* Acts on a message like a server would; -1 to stop. */
static int
handle(struct sl_chunk_reader *r, const struct sl_chunk_msg *m)
{
    if (m->type == SL_MSG_SET_CHUNK_SIZE) {
        if (m->payload->len < 4)
            return -1;
        if (sl_chunk_reader_set_chunk_size(r, get_be32(m->payload->data)))
            return -1;
    } else if (m->type == SL_MSG_ABORT) {
        if (m->payload->len < 4)
            return -1;
        sl_chunk_reader_abort(r, get_be32(m->payload->data));
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_chunk_reader *r = sl_chunk_reader_new(MAX_MESSAGE, MAX_STREAMS);
    struct sl_chunk_reader *v = sl_chunk_reader_new(MAX_MESSAGE, MAX_STREAMS);
    size_t                  off = 0;
    unsigned                k = 0;
    int                     stop = 0;

    if (r == NULL || v == NULL)
        abort();
    while (off < size && !stop) {
        /* Piece sizes 1..61 picked by the byte at the cut. */
        size_t   piece = 1 + (data[off] * 131u + k++) % 61;
        size_t   left;
        uint8_t *copy, *p;

        if (piece > size - off)
            piece = size - off;
        /* Each piece in its own allocation, so ASan sees any over-read. */
        copy = malloc(piece);
        if (copy == NULL)
            abort();
        p = copy;
        left = piece;
        memcpy(copy, data + off, piece);
        off += piece;
        while (left > 0 && !stop) {
            struct sl_chunk_msg m;
            int                 rc = sl_chunk_read(r, p, left, &m);

            if (rc < 0) {
                if (sl_chunk_reader_error(r) == NULL)
                    abort();
                stop = 1;
                break;
            }
            if ((size_t) rc > left)
                abort();
            p += rc;
            left -= (size_t) rc;
            if (m.payload == NULL) {
                /* No message means everything was consumed. */
                if (left != 0)
                    abort();
                break;
            }
            check_round_trip(v, &m);
            if (handle(r, &m) < 0)
                stop = 1;
            sl_buf_unref(m.payload);
        }
        free(copy);
    }
    if (!stop && sl_chunk_reader_bytes(r) != size)
        abort();
    sl_chunk_reader_free(r);
    sl_chunk_reader_free(v);
    return 0;
}
