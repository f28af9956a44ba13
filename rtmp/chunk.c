/*
 * The RTMP chunk stream (Adobe RTMP specification, section 5.3).
 *
 * Reader.  The reader is a two-state machine: between chunks it gathers a
 * chunk header (basic header, message header, optional extended
 * timestamp); inside a chunk it copies payload bytes into the message
 * buffer of the chunk stream the header named.  A header that the input
 * splits is collected in a small array inside the reader (18 bytes is the
 * longest header there is), so callers may cut the byte stream anywhere.
 * Everything the peer sends is read through sl_rd and every length is
 * checked against the limits before it becomes an allocation size.
 *
 * Choices where the specification is loose or peers disagree:
 *
 *  - A format 0, 1 or 2 header on a chunk stream whose message is still
 *    incomplete restarts that message: the partial payload is dropped and
 *    the new header starts a new message.  This is liberal (the peer
 *    should have sent an Abort Message first) and costs nothing.
 *  - A format 3 header that starts a new message re-applies the chunk
 *    stream's last timestamp delta.  After a format 0 header that delta is
 *    the format 0 timestamp itself, as section 5.3.1.2.4 says ("the
 *    timestamp delta for this Type 3 chunk is the same as the timestamp of
 *    the Type 0 chunk").  Some servers use 0 instead; our writer never
 *    emits a format 3 new message right after a format 0, so the bytes it
 *    produces mean the same to both readings.
 *  - When a chunk stream's last format 0/1/2 header carried an extended
 *    timestamp, every format 3 chunk on it is required to carry the four
 *    extended bytes too.  On a continuation chunk their value is ignored;
 *    on a format 3 chunk that starts a new message the stored delta is
 *    re-applied and the value is ignored as well (it repeats the delta).
 *    Peers that omit the field on format 3 chunks are not supported.
 *  - Chunk stream slots are taken by the first format 0 header of a csid
 *    and never given back: a peer may use at most max_streams distinct
 *    chunk stream ids over the connection's life.
 *
 * Memory: a message's payload buffer is allocated at its full length when
 * its first chunk header arrives; unfinished messages together may hold at
 * most max_message_size + PENDING_SLACK bytes (see start_message()).
 *
 * Writers.  sl_chunk_encode() always emits a format 0 chunk followed by
 * format 3 continuations; the stateful sl_chunk_writer compresses headers
 * per chunk stream, see choose_fmt().
 */
#include "rtmp/chunk.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rd.h"

#define MIN_CSID 2u
#define MAX_CSID 65599u
#define NUM_CSIDS (MAX_CSID - MIN_CSID + 1)
#define EXT_MARK 0xffffffu
#define MAX_MSG_LEN 0xffffffu /* the length field has 24 bits */
#define MAX_HDR 18            /* 3 basic + 11 message + 4 extended */

/* Message header length by chunk format (section 5.3.1.2). */
static const uint8_t msg_hdr_len[4] = {11, 7, 3, 0};

/* Unfinished messages are allocated at full length when they start, so
 * without a bound a peer could open every chunk stream with a maximal
 * message and drip bytes into them, holding max_streams times
 * max_message_size.  Together they may hold one maximal message plus
 * PENDING_SLACK: plenty for a big keyframe interleaved with audio and
 * commands. */
#define PENDING_SLACK (1024 * 1024)
#define INITIAL_STREAMS 4

struct sl_chunk_reader;
struct rstream;
static void drop_message(struct sl_chunk_reader *r, struct rstream *st);

/* One chunk stream as the reader remembers it. */
struct rstream {
    uint32_t       csid;
    uint32_t       msid;
    uint32_t       len;   /* length of the current/last message */
    uint32_t       ts;    /* absolute timestamp of that message */
    uint32_t       delta; /* re-applied by a format 3 new message */
    uint8_t        type;
    uint8_t        ext;     /* last format 0/1/2 header was extended */
    uint32_t       got;     /* payload bytes of the message so far */
    struct sl_buf *payload; /* message in progress, or NULL */
};

/*
 * Reader states:
 *  ST_HEADER:  between chunks; hdr[0..hlen) holds a partial header.
 *  ST_PAYLOAD: inside a chunk of cur; chunk_left payload bytes remain.
 *              When cur->payload is NULL the message was aborted while
 *              this chunk was arriving and its remaining bytes are skipped.
 *  ST_ERROR:   a protocol violation or allocation failure happened; the
 *              reader refuses further input.
 */
enum { ST_HEADER, ST_PAYLOAD, ST_ERROR };

struct sl_chunk_reader {
    int             state;
    uint32_t        chunk_size; /* the peer's, for incoming chunks */
    uint32_t        max_message_size;
    unsigned        max_streams;
    unsigned        nstreams; /* slots in use in streams[] */
    unsigned        cap;      /* slots allocated, grows up to max_streams */
    struct rstream *streams;
    struct rstream *cur; /* stream of the chunk being read */
    uint32_t        chunk_left;
    uint64_t        bytes;
    uint64_t        pending; /* bytes allocated for unfinished messages */
    uint64_t        max_pending;
    const char     *error;
    uint8_t         hlen;
    uint8_t         hdr[MAX_HDR];
};

struct sl_chunk_reader *
sl_chunk_reader_new(uint32_t max_message_size, unsigned max_streams)
{
    struct sl_chunk_reader *r;

    /* A reader that can open no chunk stream could never deliver a
     * message; a table larger than the csid space is never needed. */
    if (max_streams == 0)
        return NULL;
    if (max_streams > NUM_CSIDS)
        max_streams = NUM_CSIDS;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    /* Most peers use two to five chunk streams; the table starts small
     * and doubles on demand, so a player costs a few dozen bytes here
     * rather than max_streams slots. */
    r->cap = max_streams < INITIAL_STREAMS ? max_streams : INITIAL_STREAMS;
    r->streams = calloc(r->cap, sizeof(*r->streams));
    if (r->streams == NULL) {
        free(r);
        return NULL;
    }
    r->state = ST_HEADER;
    r->chunk_size = SL_CHUNK_DEFAULT_SIZE;
    r->max_message_size = max_message_size;
    r->max_pending = (uint64_t) max_message_size + PENDING_SLACK;
    r->max_streams = max_streams;
    r->error = "no error";
    return r;
}

void
sl_chunk_reader_free(struct sl_chunk_reader *r)
{
    if (r == NULL)
        return;
    for (unsigned i = 0; i < r->nstreams; i++)
        drop_message(r, &r->streams[i]);
    /* Every allocation was accounted and given back. */
    assert(r->pending == 0);
    free(r->streams);
    free(r);
}

/* Doubles the chunk stream table (up to max_streams).  r->cur points into
 * the table, so it moves with it.  0 or -ENOMEM. */
static int
grow_streams(struct sl_chunk_reader *r)
{
    unsigned        ncap = r->cap * 2;
    ptrdiff_t       cur = r->cur != NULL ? r->cur - r->streams : -1;
    struct rstream *t;

    if (ncap > r->max_streams)
        ncap = r->max_streams;
    t = realloc(r->streams, ncap * sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    memset(t + r->cap, 0, (ncap - r->cap) * sizeof(*t));
    if (cur >= 0)
        r->cur = t + cur;
    r->streams = t;
    r->cap = ncap;
    return 0;
}

/* Linear search: max_streams is small (a client uses a handful of chunk
 * streams), and the last stream used is tried first because chunks of
 * one message usually follow each other. */
static struct rstream *
find_stream(struct sl_chunk_reader *r, uint32_t csid)
{
    if (r->cur != NULL && r->cur->csid == csid)
        return r->cur;
    for (unsigned i = 0; i < r->nstreams; i++)
        if (r->streams[i].csid == csid)
            return &r->streams[i];
    return NULL;
}

static int
fail(struct sl_chunk_reader *r, int err, const char *why)
{
    r->state = ST_ERROR;
    r->error = why;
    return err;
}

/* Decodes the basic header at the start of p (n >= its size). */
static void
read_basic(struct sl_rd *rd, unsigned *fmt, uint32_t *csid)
{
    uint8_t b0 = sl_rd_u8(rd);

    *fmt = b0 >> 6;
    *csid = b0 & 0x3f;
    if (*csid == 0) {
        *csid = 64 + sl_rd_u8(rd);
    } else if (*csid == 1) {
        uint32_t lo = sl_rd_u8(rd);

        *csid = 64 + lo + 256 * (uint32_t) sl_rd_u8(rd);
    }
}

/*
 * The size of the chunk header that starts at p, judged from the n bytes
 * available.  A result larger than n means "at least this many bytes are
 * needed"; the caller gathers them and asks again, because the full size
 * depends on bytes not yet seen (the basic header's size on the first
 * byte, the extended timestamp on the timestamp field or, for format 3,
 * on the chunk stream's state).  Never more than MAX_HDR.
 */
static size_t
header_size(struct sl_chunk_reader *r, const uint8_t *p, size_t n)
{
    struct sl_rd    rd;
    struct rstream *st;
    unsigned        fmt;
    uint32_t        csid;
    size_t          basic, need;

    if (n < 1)
        return 1;
    basic = (p[0] & 0x3f) == 0 ? 2 : (p[0] & 0x3f) == 1 ? 3 : 1;
    need = basic + msg_hdr_len[p[0] >> 6];
    if (n < need)
        return need;
    sl_rd_init(&rd, p, need);
    read_basic(&rd, &fmt, &csid);
    if (fmt < 3) {
        if (sl_rd_u24(&rd) == EXT_MARK)
            need += 4;
    } else {
        /* An unknown csid is rejected once the header is parsed. */
        st = find_stream(r, csid);
        if (st != NULL && st->ext)
            need += 4;
    }
    return need;
}

/* Allocates the payload of the message st's header just announced. */
static int
start_message(struct sl_chunk_reader *r, struct rstream *st)
{
    if (r->pending + st->len > r->max_pending)
        return fail(r, -EPROTO, "too much unfinished message data");
    st->payload = sl_buf_new(st->len);
    if (st->payload == NULL)
        return fail(r, -ENOMEM, "out of memory for a message");
    r->pending += st->len;
    st->got = 0;
    return 0;
}

/* Drops st's unfinished message, if any. */
static void
drop_message(struct sl_chunk_reader *r, struct rstream *st)
{
    if (st->payload == NULL)
        return;
    r->pending -= st->len;
    sl_buf_unref(st->payload);
    st->payload = NULL;
    st->got = 0;
}

/* Parses a complete chunk header (exactly n bytes, as header_size() said)
 * and prepares to read its payload. */
static int
parse_header(struct sl_chunk_reader *r, const uint8_t *p, size_t n)
{
    struct sl_rd    rd;
    struct rstream *st;
    unsigned        fmt;
    uint32_t        csid, field = 0, len = 0, msid = 0;
    uint8_t         type = 0;
    int             ext = 0, rc;

    sl_rd_init(&rd, p, n);
    read_basic(&rd, &fmt, &csid);
    st = find_stream(r, csid);
    if (st == NULL && fmt != 0)
        return fail(r, -EPROTO, "format 1-3 chunk on a new chunk stream");

    if (fmt == 3) {
        /* The extended field repeats the last one; see the top comment. */
        if (st->ext)
            (void) sl_rd_u32(&rd);
        if (st->payload == NULL) {
            st->ts += st->delta;
            if ((rc = start_message(r, st)) < 0)
                return rc;
        }
    } else {
        field = sl_rd_u24(&rd);
        if (fmt <= 1) {
            len = sl_rd_u24(&rd);
            type = sl_rd_u8(&rd);
        }
        if (fmt == 0)
            msid = sl_rd_u32_le(&rd);
        if (field == EXT_MARK) {
            field = sl_rd_u32(&rd);
            ext = 1;
        }
        if (fmt <= 1 && len > r->max_message_size)
            return fail(r, -EPROTO, "message longer than the limit");
        if (st == NULL) {
            if (r->nstreams == r->max_streams)
                return fail(r, -EPROTO, "too many chunk streams");
            if (r->nstreams == r->cap && grow_streams(r) < 0)
                return fail(r, -ENOMEM, "out of memory for a chunk stream");
            st = &r->streams[r->nstreams++];
            st->csid = csid;
        }
        /* A new header mid-message restarts the message (liberal). */
        drop_message(r, st);
        if (fmt == 0) {
            st->msid = msid;
            st->ts = field;
        } else {
            st->ts += field;
        }
        st->delta = field;
        if (fmt <= 1) {
            st->len = len;
            st->type = type;
        }
        st->ext = (uint8_t) ext;
        if ((rc = start_message(r, st)) < 0)
            return rc;
    }
    /* header_size() measured n from these same bytes and state. */
    if (rd.err || sl_rd_left(&rd) != 0)
        return fail(r, -EPROTO, "internal: header size mismatch");

    r->cur = st;
    r->chunk_left = st->len - st->got;
    if (r->chunk_left > r->chunk_size)
        r->chunk_left = r->chunk_size;
    r->state = ST_PAYLOAD;
    return 0;
}

/* Hands st's finished message to the caller. */
static void
deliver(struct sl_chunk_reader *r, struct rstream *st, struct sl_chunk_msg *msg)
{
    r->pending -= st->len;
    msg->csid = st->csid;
    msg->type = st->type;
    msg->msid = st->msid;
    msg->timestamp = st->ts;
    msg->payload = st->payload;
    msg->payload->len = st->len;
    st->payload = NULL;
    st->got = 0;
}

int
sl_chunk_read(struct sl_chunk_reader *r, const uint8_t *in, size_t len,
              struct sl_chunk_msg *msg)
{
    size_t pos = 0, need, n;
    int    rc;

    msg->payload = NULL;
    if (r->state == ST_ERROR)
        return -EPROTO;
    /* The return value is an int; a caller looping on the result still
     * gets the rest on the next call. */
    if (len > INT_MAX)
        len = INT_MAX;

    while (pos < len || (r->state == ST_PAYLOAD && r->chunk_left == 0)) {
        if (r->state == ST_HEADER) {
            if (r->hlen == 0) {
                need = header_size(r, in + pos, len - pos);
                if (need > len - pos) {
                    /* Keep the partial header; need <= MAX_HDR. */
                    n = len - pos;
                    memcpy(r->hdr, in + pos, n);
                    r->hlen = (uint8_t) n;
                    pos = len;
                    break;
                }
                rc = parse_header(r, in + pos, need);
                pos += need;
            } else {
                need = header_size(r, r->hdr, r->hlen);
                while (need > r->hlen && pos < len) {
                    n = need - r->hlen;
                    if (n > len - pos)
                        n = len - pos;
                    memcpy(r->hdr + r->hlen, in + pos, n);
                    r->hlen = (uint8_t) (r->hlen + n);
                    pos += n;
                    need = header_size(r, r->hdr, r->hlen);
                }
                if (need > r->hlen)
                    break;
                r->hlen = 0;
                rc = parse_header(r, r->hdr, need);
            }
            if (rc < 0) {
                r->bytes += pos;
                return rc;
            }
            continue;
        }

        /* ST_PAYLOAD */
        struct rstream *st = r->cur;

        n = len - pos;
        if (n > r->chunk_left)
            n = r->chunk_left;
        if (st->payload != NULL && n > 0) {
            memcpy(st->payload->data + st->got, in + pos, n);
            st->got += (uint32_t) n;
        }
        pos += n;
        r->chunk_left -= (uint32_t) n;
        if (r->chunk_left > 0)
            break;
        r->state = ST_HEADER;
        if (st->payload != NULL && st->got == st->len) {
            deliver(r, st, msg);
            break;
        }
    }
    r->bytes += pos;
    return (int) pos;
}

/* An invalid size is the peer's violation like any other, so it also
 * latches the reader's error state and sets the error string. */
int
sl_chunk_reader_set_chunk_size(struct sl_chunk_reader *r, uint32_t size)
{
    if (size == 0 || size > SL_CHUNK_MAX_SIZE)
        return fail(r, -EPROTO, "invalid chunk size");
    /* A chunk being read keeps the size it started with. */
    r->chunk_size = size;
    return 0;
}

void
sl_chunk_reader_abort(struct sl_chunk_reader *r, uint32_t csid)
{
    struct rstream *st = find_stream(r, csid);

    /* Unknown csids and idle streams: nothing to drop.  If the aborted
     * message's chunk is being read, its remaining bytes are skipped. */
    if (st == NULL)
        return;
    drop_message(r, st);
}

uint64_t
sl_chunk_reader_bytes(const struct sl_chunk_reader *r)
{
    return r->bytes;
}

const char *
sl_chunk_reader_error(const struct sl_chunk_reader *r)
{
    return r->error;
}

/* ---- writers ---- */

static size_t
basic_size(uint32_t csid)
{
    return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

static void
put_basic(struct sl_wr *w, unsigned fmt, uint32_t csid)
{
    uint8_t top = (uint8_t) (fmt << 6);

    if (csid < 64) {
        sl_wr_u8(w, (uint8_t) (top | csid));
    } else if (csid < 320) {
        sl_wr_u8(w, top);
        sl_wr_u8(w, (uint8_t) (csid - 64));
    } else {
        sl_wr_u8(w, (uint8_t) (top | 1));
        sl_wr_u8(w, (uint8_t) ((csid - 64) & 0xff));
        sl_wr_u8(w, (uint8_t) ((csid - 64) >> 8));
    }
}

/* What one message's chunks need, shared by both writers. */
struct out_msg {
    unsigned       fmt; /* of the first chunk */
    uint32_t       csid;
    uint8_t        type;
    uint32_t       msid;
    uint32_t       field; /* timestamp or delta (full 32 bits) */
    int            ext;   /* chunks carry the extended field */
    const uint8_t *payload;
    uint32_t       len;
    uint32_t       chunk_size;
};

/* Writes the chunks of m.  The first chunk's message header has the
 * fields of m->fmt; every chunk (format 3 continuations included)
 * carries the four-byte extended timestamp when m->ext is set. */
static void
put_message(struct sl_wr *w, const struct out_msg *m)
{
    uint32_t off = 0, n;
    uint32_t field24 = m->ext ? EXT_MARK : m->field;

    put_basic(w, m->fmt, m->csid);
    if (m->fmt < 3)
        sl_wr_u24(w, field24); /* timestamp or delta */
    if (m->fmt < 2) {
        sl_wr_u24(w, m->len); /* message length */
        sl_wr_u8(w, m->type); /* message type id */
    }
    if (m->fmt == 0)
        sl_wr_u32_le(w, m->msid); /* message stream id */
    for (;;) {
        if (m->ext)
            sl_wr_u32(w, m->field); /* extended timestamp */
        n = m->len - off;
        if (n > m->chunk_size)
            n = m->chunk_size;
        if (n > 0) /* payload may be NULL for an empty message */
            sl_wr_bytes(w, m->payload + off, n);
        off += n;
        if (off >= m->len || w->err)
            break;
        put_basic(w, 3, m->csid);
    }
}

/* Bytes put_message() writes for a message whose first header has the
 * given format (chunk_size > 0, len <= MAX_MSG_LEN). */
static size_t
message_size(unsigned fmt, uint32_t csid, int ext, size_t len,
             uint32_t chunk_size)
{
    size_t chunks = len == 0 ? 1 : (len - 1) / chunk_size + 1;
    size_t ext_len = ext ? 4 : 0;

    return basic_size(csid) + msg_hdr_len[fmt] + ext_len +
           (chunks - 1) * (basic_size(csid) + ext_len) + len;
}

/* Returns 0 when encode cannot produce the message (the caller then
 * gets NULL from sl_chunk_encode()): bad csid, chunk size 0, or a length
 * the 24-bit field cannot carry. */
size_t
sl_chunk_encoded_size(uint32_t csid, uint32_t timestamp, size_t len,
                      uint32_t chunk_size)
{
    if (csid < MIN_CSID || csid > MAX_CSID || chunk_size == 0 ||
        len > MAX_MSG_LEN)
        return 0;
    return message_size(0, csid, timestamp >= EXT_MARK, len, chunk_size);
}

/* NULL also for chunk size 0 and len above 2^24-1 (see encoded_size). */
struct sl_buf *
sl_chunk_encode(uint32_t csid, uint8_t type, uint32_t msid, uint32_t timestamp,
                const uint8_t *payload, size_t len, uint32_t chunk_size)
{
    size_t size = sl_chunk_encoded_size(csid, timestamp, len, chunk_size);
    struct sl_buf *b;
    struct sl_wr   w;
    struct out_msg m = {
        .fmt = 0,
        .csid = csid,
        .type = type,
        .msid = msid,
        .field = timestamp,
        .ext = timestamp >= EXT_MARK,
        .payload = payload,
        .len = (uint32_t) len,
        .chunk_size = chunk_size,
    };

    if (size == 0)
        return NULL;
    b = sl_buf_new(size);
    if (b == NULL)
        return NULL;
    sl_wr_init(&w, b->data, size);
    put_message(&w, &m);
    /* message_size() and put_message() must agree exactly. */
    if (w.err || sl_wr_len(&w) != size) {
        sl_buf_unref(b);
        return NULL;
    }
    b->len = (uint32_t) size;
    return b;
}

/* Reads a basic header; 0 with its csid, -1 when it is not fmt. */
static int
get_basic(struct sl_rd *r, unsigned fmt, uint32_t *csid)
{
    uint8_t b = sl_rd_u8(r);

    if (r->err || (b >> 6) != fmt)
        return -1;
    *csid = b & 0x3f;
    if (*csid == 0)
        *csid = 64 + sl_rd_u8(r);
    else if (*csid == 1) {
        *csid = 64 + sl_rd_u8(r);
        *csid += (uint32_t) sl_rd_u8(r) << 8;
    }
    return r->err ? -1 : 0;
}

int
sl_chunk_unwrap(const uint8_t *wire, size_t n, uint32_t chunk_size,
                struct sl_chunk_unwrapped *out, uint8_t *body, size_t cap)
{
    struct sl_rd r;
    uint32_t     csid, more, field, len, off = 0;
    int          ext;

    if (chunk_size == 0)
        return -EPROTO;
    sl_rd_init(&r, wire, n);
    if (get_basic(&r, 0, &csid) < 0)
        return -EPROTO;
    field = sl_rd_u24(&r);
    len = sl_rd_u24(&r);
    out->type = sl_rd_u8(&r);
    out->msid = sl_rd_u32_le(&r);
    out->len = len;
    ext = field == EXT_MARK;
    if (r.err)
        return -EPROTO;
    if (len > cap)
        return -ENOSPC;
    for (;;) {
        uint32_t       take = len - off < chunk_size ? len - off : chunk_size;
        const uint8_t *p;

        if (ext) {
            uint32_t v = sl_rd_u32(&r);

            /* Every chunk of one message repeats the same value. */
            if (off > 0 && v != field)
                return -EPROTO;
            field = v;
        }
        p = sl_rd_bytes(&r, take);
        if (r.err)
            return -EPROTO;
        if (take > 0)
            memcpy(body + off, p, take);
        off += take;
        if (off >= len)
            break;
        if (get_basic(&r, 3, &more) < 0 || more != csid)
            return -EPROTO;
    }
    out->timestamp = field;
    /* Exactly one message: anything after it is not ours to read. */
    return sl_rd_left(&r) == 0 ? (int) len : -EPROTO;
}

/* A control message on csid 2, message stream 0, timestamp 0. */
static struct sl_buf *
control(uint8_t type, const uint8_t *body, size_t len, uint32_t chunk_size)
{
    return sl_chunk_encode(2, type, 0, 0, body, len, chunk_size);
}

struct sl_buf *
sl_chunk_ctrl(uint8_t type, uint32_t value, uint32_t chunk_size)
{
    uint8_t      body[4];
    struct sl_wr w;

    sl_wr_init(&w, body, sizeof(body));
    sl_wr_u32(&w, value);
    return control(type, body, sizeof(body), chunk_size);
}

struct sl_buf *
sl_chunk_peer_bw(uint32_t window, uint8_t limit_type, uint32_t chunk_size)
{
    uint8_t      body[5];
    struct sl_wr w;

    sl_wr_init(&w, body, sizeof(body));
    sl_wr_u32(&w, window);    /* acknowledgement window size */
    sl_wr_u8(&w, limit_type); /* 0 hard, 1 soft, 2 dynamic */
    return control(SL_MSG_SET_PEER_BW, body, sizeof(body), chunk_size);
}

struct sl_buf *
sl_chunk_user_control(uint16_t event, uint32_t value, uint32_t chunk_size)
{
    uint8_t      body[6];
    struct sl_wr w;

    sl_wr_init(&w, body, sizeof(body));
    sl_wr_u16(&w, event); /* event type */
    sl_wr_u32(&w, value); /* event data, usually a stream id */
    return control(SL_MSG_USER_CONTROL, body, sizeof(body), chunk_size);
}

struct sl_buf *
sl_chunk_user_control2(uint16_t event, uint32_t v1, uint32_t v2,
                       uint32_t chunk_size)
{
    uint8_t      body[10];
    struct sl_wr w;

    sl_wr_init(&w, body, sizeof(body));
    sl_wr_u16(&w, event); /* event type */
    sl_wr_u32(&w, v1);    /* stream id */
    sl_wr_u32(&w, v2);    /* buffer length in milliseconds */
    return control(SL_MSG_USER_CONTROL, body, sizeof(body), chunk_size);
}

/*
 * The stateful writer remembers WRITER_SLOTS chunk streams.  When a
 * message goes to a csid it does not remember and the table is full, a
 * slot is recycled round-robin: the forgotten csid simply gets a format 0
 * header next time, which is always correct, so no csid is ever refused.
 */
#define WRITER_SLOTS 64

struct wstream {
    uint32_t csid; /* 0: free slot */
    uint32_t msid;
    uint32_t len;
    uint32_t ts;
    uint32_t delta; /* meaningful only when has_delta */
    uint32_t field; /* last format 0/1/2 timestamp field */
    uint8_t  type;
    uint8_t  has_delta; /* last header was format 1, 2 or 3 */
    uint8_t  ext;       /* that header was extended */
};

struct sl_chunk_writer {
    uint32_t       chunk_size;
    unsigned       next_victim;
    struct wstream streams[WRITER_SLOTS];
};

/* NULL also for a chunk size of 0 or above SL_CHUNK_MAX_SIZE. */
struct sl_chunk_writer *
sl_chunk_writer_new(uint32_t chunk_size)
{
    struct sl_chunk_writer *w;

    if (chunk_size == 0 || chunk_size > SL_CHUNK_MAX_SIZE)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->chunk_size = chunk_size;
    return w;
}

void
sl_chunk_writer_free(struct sl_chunk_writer *w)
{
    free(w);
}

/* The caller sends its Set Chunk Size message (encoded with the old size)
 * first and then calls this.  Invalid sizes (0, above SL_CHUNK_MAX_SIZE)
 * are ignored: the peer would reject them. */
void
sl_chunk_writer_set_chunk_size(struct sl_chunk_writer *w, uint32_t size)
{
    if (size == 0 || size > SL_CHUNK_MAX_SIZE)
        return;
    w->chunk_size = size;
}

/*
 * Header format for a message given the chunk stream's last header s
 * (NULL when unknown):
 *  0 for the first message, a new message stream id, or a timestamp that
 *    went backwards (a delta cannot be negative);
 *  1 when the length or type changed;
 *  2 when only the delta changed, and also for the first message after a
 *    format 0, whose delta readers disagree on (see the top comment);
 *  3 when the delta repeats too.
 */
static unsigned
choose_fmt(const struct wstream *s, uint8_t type, uint32_t msid,
           uint32_t timestamp, uint32_t len)
{
    if (s == NULL || s->msid != msid || timestamp < s->ts)
        return 0;
    if (s->len != len || s->type != type)
        return 1;
    if (!s->has_delta || s->delta != timestamp - s->ts)
        return 2;
    return 3;
}

/* -EINVAL for a csid outside 2..65599 or a len above 2^24-1. */
int
sl_chunk_write(struct sl_chunk_writer *w, uint8_t *out, size_t cap,
               uint32_t csid, uint8_t type, uint32_t msid, uint32_t timestamp,
               const uint8_t *payload, size_t len)
{
    struct wstream *s = NULL;
    struct out_msg  m;
    struct sl_wr    wr;

    if (csid < MIN_CSID || csid > MAX_CSID || len > MAX_MSG_LEN)
        return -EINVAL;
    for (unsigned i = 0; i < WRITER_SLOTS; i++) {
        if (w->streams[i].csid == csid) {
            s = &w->streams[i];
            break;
        }
    }

    m.fmt = choose_fmt(s, type, msid, timestamp, (uint32_t) len);
    m.csid = csid;
    m.type = type;
    m.msid = msid;
    m.payload = payload;
    m.len = (uint32_t) len;
    m.chunk_size = w->chunk_size;
    if (m.fmt == 0) {
        m.field = timestamp;
        m.ext = timestamp >= EXT_MARK;
    } else if (m.fmt < 3) {
        m.field = timestamp - s->ts;
        m.ext = m.field >= EXT_MARK;
    } else {
        /* Format 3 repeats the last extended field, if there was one. */
        m.field = s->field;
        m.ext = s->ext;
    }

    /* The result must fit an int; MAX_MSG_LEN chunked by 1 byte with the
     * longest headers is about 2^27, so it always does. */
    sl_wr_init(&wr, out, cap);
    put_message(&wr, &m);
    if (wr.err)
        return -ENOSPC;

    /* Commit the header state only once the message fitted. */
    if (s == NULL) {
        for (unsigned i = 0; i < WRITER_SLOTS && s == NULL; i++)
            if (w->streams[i].csid == 0)
                s = &w->streams[i];
        if (s == NULL) {
            s = &w->streams[w->next_victim];
            w->next_victim = (w->next_victim + 1) % WRITER_SLOTS;
        }
    }
    if (m.fmt < 3) {
        s->field = m.field;
        s->ext = (uint8_t) m.ext;
    }
    s->delta = m.fmt == 0 ? 0 : timestamp - s->ts;
    s->has_delta = m.fmt != 0;
    s->csid = csid;
    s->msid = msid;
    s->len = (uint32_t) len;
    s->type = type;
    s->ts = timestamp;
    return (int) sl_wr_len(&wr);
}
