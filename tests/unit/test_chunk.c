/*
 * Chunk stream tests.  The centre is one byte stream that exercises every
 * header format, basic header size, extended timestamps, interleaving,
 * a chunk size change, an abort and empty messages; it is parsed whole,
 * split in two at every offset, byte by byte and in random pieces, and
 * every piece is copied so that it ends right before a PROT_NONE page:
 * a read one byte too far faults instead of passing silently.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool/buf.h"
#include "rtmp/chunk.h"
#include "tests/support/guard.h"

/* ---- expected messages and the test stream ---- */

#define MAX_PAYLOAD 1024
#define MAX_MSGS 48

struct exp_msg {
    uint32_t csid;
    uint8_t  type;
    uint32_t msid;
    uint32_t ts;
    uint32_t len;
    uint8_t  data[MAX_PAYLOAD];
};

struct stream {
    uint8_t        bytes[16384];
    size_t         len;
    struct exp_msg exp[MAX_MSGS];
    size_t         nexp;
};

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t) (seed + i * 7 + (i >> 8));
}

static struct exp_msg *
expect(struct stream *s, uint32_t csid, uint8_t type, uint32_t msid,
       uint32_t ts, const uint8_t *data, uint32_t len)
{
    struct exp_msg *e = &s->exp[s->nexp++];

    CU_ASSERT_FATAL(s->nexp <= MAX_MSGS && len <= MAX_PAYLOAD);
    e->csid = csid;
    e->type = type;
    e->msid = msid;
    e->ts = ts;
    e->len = len;
    if (len > 0)
        memcpy(e->data, data, len);
    return e;
}

static void
add_raw(struct stream *s, const uint8_t *p, size_t n)
{
    CU_ASSERT_FATAL(s->len + n <= sizeof(s->bytes));
    memcpy(s->bytes + s->len, p, n);
    s->len += n;
}

/* Appends a message from the stateful writer and checks the header
 * format it chose (the top two bits of the first byte). */
static void
add_w(struct stream *s, struct sl_chunk_writer *w, uint32_t csid, uint8_t type,
      uint32_t msid, uint32_t ts, uint32_t len, uint8_t seed, unsigned want_fmt)
{
    uint8_t payload[MAX_PAYLOAD];
    int     n;

    CU_ASSERT_FATAL(len <= MAX_PAYLOAD);
    fill(payload, len, seed);
    n = sl_chunk_write(w, s->bytes + s->len, sizeof(s->bytes) - s->len, csid,
                       type, msid, ts, payload, len);
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL(s->bytes[s->len] >> 6, want_fmt);
    s->len += (size_t) n;
    expect(s, csid, type, msid, ts, payload, len);
}

/* Appends an encoded buffer and drops it. */
static void
add_buf(struct stream *s, struct sl_buf *b)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    add_raw(s, b->data, b->len);
    sl_buf_unref(b);
}

static void
be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

/* Appends a control message with a 4-byte value and expects it. */
static void
add_ctrl(struct stream *s, uint8_t type, uint32_t value, uint32_t cs)
{
    uint8_t body[4];

    be32(body, value);
    add_buf(s, sl_chunk_ctrl(type, value, cs));
    expect(s, 2, type, 0, 0, body, 4);
}

/* Where the chunks of an sl_chunk_encode() output start and how long
 * each is. */
static size_t
chunk_spans(uint32_t csid, uint32_t ts, size_t len, uint32_t cs, size_t *start,
            size_t *size, size_t max)
{
    size_t basic = csid < 64 ? 1 : csid < 320 ? 2 : 3;
    size_t ext = ts >= 0xffffff ? 4 : 0, off = 0, left = len, i = 0;

    do {
        size_t n = left < cs ? left : cs;
        size_t h = basic + ext + (i == 0 ? 11 : 0);

        start[i] = off;
        size[i] = h + n;
        off += h + n;
        left -= n;
        i++;
    } while (left > 0 && i < max);
    return i;
}

static void
build_stream(struct stream *s)
{
    struct sl_chunk_writer *w = sl_chunk_writer_new(128);
    uint8_t                 pa[300], pb[200], raw[64];
    struct sl_buf          *a, *b;
    size_t                  as[8], asz[8], bs[8], bsz[8], na, nb;

    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    s->len = 0;
    s->nexp = 0;

    /* A connect-like command, then a window size. */
    add_w(s, w, 3, SL_MSG_COMMAND_AMF0, 0, 0, 300, 1, 0);
    add_ctrl(s, SL_MSG_WINDOW_ACK_SIZE, 2500000, 128);

    /* Audio walking through all four formats. */
    add_w(s, w, 4, SL_MSG_AUDIO, 1, 0, 50, 2, 0);
    add_w(s, w, 4, SL_MSG_AUDIO, 1, 23, 50, 3, 2);
    add_w(s, w, 4, SL_MSG_AUDIO, 1, 46, 50, 4, 3);
    add_w(s, w, 4, SL_MSG_AUDIO, 1, 69, 60, 5, 1);
    add_w(s, w, 6, SL_MSG_VIDEO, 1, 0, 1000, 6, 0);

    /* Two messages interleaved chunk by chunk. */
    fill(pa, sizeof(pa), 7);
    fill(pb, sizeof(pb), 8);
    a = sl_chunk_encode(7, SL_MSG_VIDEO, 1, 40, pa, sizeof(pa), 128);
    b = sl_chunk_encode(8, SL_MSG_AUDIO, 1, 41, pb, sizeof(pb), 128);
    CU_ASSERT_FATAL(a != NULL && b != NULL);
    na = chunk_spans(7, 40, sizeof(pa), 128, as, asz, 8);
    nb = chunk_spans(8, 41, sizeof(pb), 128, bs, bsz, 8);
    CU_ASSERT_EQUAL(as[na - 1] + asz[na - 1], a->len);
    CU_ASSERT_EQUAL(bs[nb - 1] + bsz[nb - 1], b->len);
    for (size_t i = 0; i < na || i < nb; i++) {
        if (i < na)
            add_raw(s, a->data + as[i], asz[i]);
        if (i < nb)
            add_raw(s, b->data + bs[i], bsz[i]);
    }
    /* B has fewer chunks, so it completes first. */
    expect(s, 8, SL_MSG_AUDIO, 1, 41, pb, sizeof(pb));
    expect(s, 7, SL_MSG_VIDEO, 1, 40, pa, sizeof(pa));
    sl_buf_unref(a);
    sl_buf_unref(b);

    /* The chunk size drops to 60 (the feeder applies it like a server). */
    add_ctrl(s, SL_MSG_SET_CHUNK_SIZE, 60, 128);
    sl_chunk_writer_set_chunk_size(w, 60);
    add_w(s, w, 6, SL_MSG_VIDEO, 1, 33, 200, 9, 1);

    /* One chunk of a 300-byte message on csid 9, an Abort, then format 3
     * chunks: they start a new message (ts 100 + delta 100, the format 0
     * timestamp) instead of continuing the aborted one. */
    fill(pa, sizeof(pa), 10);
    a = sl_chunk_encode(9, SL_MSG_AUDIO, 1, 100, pa, sizeof(pa), 60);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add_raw(s, a->data, 12 + 60);
    sl_buf_unref(a);
    add_ctrl(s, SL_MSG_ABORT, 9, 60);
    fill(pa, sizeof(pa), 11);
    for (int i = 0; i < 5; i++) {
        raw[0] = 0xc0 | 9;
        add_raw(s, raw, 1);
        add_raw(s, pa + 60 * i, 60);
    }
    expect(s, 9, SL_MSG_AUDIO, 1, 200, pa, sizeof(pa));

    /* Empty messages, the last with a one-byte format 3 header. */
    add_w(s, w, 5, SL_MSG_DATA_AMF0, 1, 70, 0, 0, 0);
    add_w(s, w, 5, SL_MSG_DATA_AMF0, 1, 80, 0, 0, 2);
    add_w(s, w, 5, SL_MSG_DATA_AMF0, 1, 90, 0, 0, 3);

    /* Extended timestamps: format 0, 2 and 3 (a new message), each with
     * format 3 continuations that repeat the extended field. */
    add_w(s, w, 10, SL_MSG_VIDEO, 1, 0x1000000, 150, 12, 0);
    add_w(s, w, 10, SL_MSG_VIDEO, 1, 0x2000000, 150, 13, 2);
    add_w(s, w, 10, SL_MSG_VIDEO, 1, 0x3000000, 150, 14, 3);

    /* Timestamp wrap: 0xfffffff0 + 0x20 = 0x10. */
    fill(pa, 10, 15);
    {
        /* clang-format off */
        static const uint8_t h0[] = {
            0x0b, 0xff, 0xff, 0xff, 0, 0, 10, SL_MSG_AUDIO, 1, 0, 0, 0,
            0xff, 0xff, 0xff, 0xf0};
        static const uint8_t h2[] = {0x8b, 0, 0, 0x20};
        /* clang-format on */

        add_raw(s, h0, sizeof(h0));
        add_raw(s, pa, 10);
        expect(s, 11, SL_MSG_AUDIO, 1, 0xfffffff0, pa, 10);
        add_raw(s, h2, sizeof(h2));
        add_raw(s, pa, 10);
        expect(s, 11, SL_MSG_AUDIO, 1, 0x10, pa, 10);
    }

    /* Two- and three-byte basic headers, with continuations. */
    add_w(s, w, 100, SL_MSG_COMMAND_AMF0, 0, 5, 100, 16, 0);
    add_w(s, w, 400, SL_MSG_COMMAND_AMF0, 0, 6, 130, 17, 0);
    add_w(s, w, 65599, SL_MSG_COMMAND_AMF0, 0, 7, 130, 18, 0);
    add_w(s, w, 400, SL_MSG_COMMAND_AMF0, 0, 9, 130, 19, 2);

    /* Back to csid 3: same length and type, first delta: format 2. */
    add_w(s, w, 3, SL_MSG_COMMAND_AMF0, 0, 1000, 300, 20, 2);
    sl_chunk_writer_free(w);
}

/* ---- feeding ---- */

struct got {
    size_t              n;
    struct sl_chunk_msg m[MAX_MSGS];
};

static void
got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        sl_buf_unref(g->m[i].payload);
    g->n = 0;
}

static uint32_t
get_be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | p[3];
}

/* Feeds one piece, placed before the guard page, acting on Set Chunk
 * Size and Abort the way a server does.  0 or the reader's error. */
static int
feed_piece(struct sl_chunk_reader *r, struct sl_guard *gp, const uint8_t *in,
           size_t n, struct got *g)
{
    const uint8_t *p = sl_guard_place(gp, in, n);

    do {
        struct sl_chunk_msg m;
        int                 rc = sl_chunk_read(r, p, n, &m);

        if (rc < 0)
            return rc;
        p += rc;
        n -= (size_t) rc;
        if (m.payload == NULL) {
            if (n != 0)
                return -EIO; /* must consume all without a message */
            break;
        }
        if (m.type == SL_MSG_SET_CHUNK_SIZE && m.payload->len >= 4) {
            rc = sl_chunk_reader_set_chunk_size(r, get_be32(m.payload->data));
            if (rc < 0) {
                sl_buf_unref(m.payload);
                return rc;
            }
        } else if (m.type == SL_MSG_ABORT && m.payload->len >= 4) {
            sl_chunk_reader_abort(r, get_be32(m.payload->data));
        }
        if (g->n == MAX_MSGS) {
            sl_buf_unref(m.payload);
            return -E2BIG;
        }
        g->m[g->n++] = m;
    } while (n > 0);
    return 0;
}

static int
same(const struct stream *s, const struct got *g)
{
    if (g->n != s->nexp)
        return 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct sl_chunk_msg *m = &g->m[i];
        const struct exp_msg      *e = &s->exp[i];

        if (m->csid != e->csid || m->type != e->type || m->msid != e->msid ||
            m->timestamp != e->ts || m->payload->len != e->len ||
            memcmp(m->payload->data, e->data, e->len) != 0)
            return 0;
    }
    return 1;
}

static struct stream stream;

/* Parses the stream cut at the given offsets (ascending, ending at len)
 * and reports whether it yields exactly the expected messages. */
static int
parse_cut(struct sl_guard *gp, const size_t *cuts, size_t ncuts)
{
    struct sl_chunk_reader *r = sl_chunk_reader_new(4096, 16);
    struct got              g = {0};
    size_t                  off = 0;
    int                     ok = r != NULL;

    for (size_t i = 0; ok && i < ncuts; i++) {
        ok = feed_piece(r, gp, stream.bytes + off, cuts[i] - off, &g) == 0;
        off = cuts[i];
    }
    ok = ok && same(&stream, &g) && sl_chunk_reader_bytes(r) == stream.len;
    got_free(&g);
    sl_chunk_reader_free(r);
    return ok;
}

static void
test_stream_whole(void)
{
    long            before = sl_buf_live_count();
    struct sl_guard gp;
    size_t          cut;

    build_stream(&stream);
    CU_ASSERT_FATAL(sl_guard_init(&gp, stream.len) == 0);
    cut = stream.len;
    CU_ASSERT(parse_cut(&gp, &cut, 1));
    sl_guard_free(&gp);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_stream_every_split(void)
{
    long            before = sl_buf_live_count();
    struct sl_guard gp;
    size_t          bad = 0;

    build_stream(&stream);
    CU_ASSERT_FATAL(sl_guard_init(&gp, stream.len) == 0);
    for (size_t k = 0; k <= stream.len; k++) {
        size_t cuts[2] = {k, stream.len};

        if (!parse_cut(&gp, cuts, 2))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    sl_guard_free(&gp);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_stream_bytewise(void)
{
    long            before = sl_buf_live_count();
    struct sl_guard gp;
    size_t         *cuts;

    build_stream(&stream);
    CU_ASSERT_FATAL(sl_guard_init(&gp, stream.len) == 0);
    cuts = malloc(stream.len * sizeof(*cuts));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cuts);
    for (size_t i = 0; i < stream.len; i++)
        cuts[i] = i + 1;
    CU_ASSERT(parse_cut(&gp, cuts, stream.len));
    free(cuts);
    sl_guard_free(&gp);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_stream_random_pieces(void)
{
    long            before = sl_buf_live_count();
    struct sl_guard gp;
    size_t         *cuts, n, bad = 0;
    unsigned        seed = 12345;

    build_stream(&stream);
    CU_ASSERT_FATAL(sl_guard_init(&gp, stream.len) == 0);
    cuts = malloc(stream.len * sizeof(*cuts));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cuts);
    for (int round = 0; round < 500; round++) {
        size_t off = 0;

        n = 0;
        while (off < stream.len) {
            seed = seed * 1103515245u + 12345u;
            off += 1 + (seed >> 16) % 40;
            if (off > stream.len)
                off = stream.len;
            cuts[n++] = off;
        }
        if (!parse_cut(&gp, cuts, n))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(cuts);
    sl_guard_free(&gp);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* ---- single features ---- */

/* Parses in (whole, guarded) with a fresh reader; returns the first
 * error or the number of messages in g. */
static int
parse(const uint8_t *in, size_t n, uint32_t max_len, unsigned max_streams,
      struct got *g)
{
    struct sl_chunk_reader *r = sl_chunk_reader_new(max_len, max_streams);
    struct sl_guard         gp;
    int                     rc;

    if (r == NULL || sl_guard_init(&gp, n) != 0) {
        sl_chunk_reader_free(r);
        return -ENOMEM;
    }
    rc = feed_piece(r, &gp, in, n, g);
    sl_guard_free(&gp);
    sl_chunk_reader_free(r);
    return rc < 0 ? rc : (int) g->n;
}

static void
test_writer_formats(void)
{
    struct sl_chunk_writer *w = sl_chunk_writer_new(128);
    uint8_t                 out[512], p[100];
    long                    before = sl_buf_live_count();

    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    fill(p, sizeof(p), 1);
    /* Header lengths 12, 4, 1, 8 for formats 0, 2, 3, 1. */
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 4, 8, 1, 10, p, 100),
                    12 + 100);
    CU_ASSERT_EQUAL(out[0], 0x04);
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 4, 8, 1, 30, p, 100),
                    4 + 100);
    CU_ASSERT_EQUAL(out[0], 0x84);
    CU_ASSERT_EQUAL(out[3], 20); /* the delta */
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 4, 8, 1, 50, p, 100),
                    1 + 100);
    CU_ASSERT_EQUAL(out[0], 0xc4);
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 4, 9, 1, 70, p, 99),
                    8 + 99);
    CU_ASSERT_EQUAL(out[0], 0x44);
    /* A new message stream id and a timestamp going back: format 0. */
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 4, 9, 2, 90, p, 99),
                    12 + 99);
    CU_ASSERT_EQUAL(out[0] >> 6, 0);
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 4, 9, 2, 80, p, 99),
                    12 + 99);
    CU_ASSERT_EQUAL(out[0] >> 6, 0);
    /* Bad csids and lengths. */
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 1, 9, 2, 0, p, 9),
                    -EINVAL);
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 65600, 9, 2, 0, p, 9),
                    -EINVAL);
    CU_ASSERT_EQUAL(
        sl_chunk_write(w, out, sizeof(out), 3, 9, 2, 0, p, 0x1000000), -EINVAL);
    sl_chunk_writer_free(w);
    CU_ASSERT_PTR_NULL(sl_chunk_writer_new(0));
    CU_ASSERT_PTR_NULL(sl_chunk_writer_new(0x80000000u));
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_writer_enospc(void)
{
    struct sl_chunk_writer *w = sl_chunk_writer_new(128);
    uint8_t                 out[512], p[200];

    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    fill(p, sizeof(p), 2);
    /* 200 bytes need 12 + 128 + 1 + 72 = 213. */
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, 212, 3, 20, 0, 5, p, 200), -ENOSPC);
    /* The failure left no state: the retry is still format 0. */
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, 213, 3, 20, 0, 5, p, 200), 213);
    CU_ASSERT_EQUAL(out[0], 0x03);
    CU_ASSERT_EQUAL(out[12 + 128], 0xc3);
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, 0, 3, 20, 0, 9, p, 200), -ENOSPC);
    CU_ASSERT_EQUAL(sl_chunk_write(w, out, sizeof(out), 3, 20, 0, 9, p, 200),
                    4 + 128 + 1 + 72);
    CU_ASSERT_EQUAL(out[0] >> 6, 2);
    sl_chunk_writer_free(w);
}

/* More csids than the writer remembers: forgotten ones get format 0
 * again and everything still parses back. */
static void
test_writer_many_csids(void)
{
    struct sl_chunk_writer *w = sl_chunk_writer_new(128);
    static uint8_t          out[100 * 2 * 40];
    uint8_t                 p[20];
    size_t                  len = 0;
    struct got              g = {0};
    long                    before = sl_buf_live_count();
    int                     rc, ok = 1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    fill(p, sizeof(p), 3);
    for (int round = 0; round < 2; round++) {
        for (uint32_t c = 2; c < 102; c++) {
            rc = sl_chunk_write(w, out + len, sizeof(out) - len, c, 8, 1,
                                round * 10 + c, p, sizeof(p));
            CU_ASSERT_FATAL(rc > 0);
            len += (size_t) rc;
        }
    }
    /* Parse in pieces of at most 48 messages. */
    {
        struct sl_chunk_reader *r = sl_chunk_reader_new(100, 200);
        struct sl_guard         gp;
        size_t                  off = 0, total = 0;

        CU_ASSERT_FATAL(r != NULL && sl_guard_init(&gp, len) == 0);
        while (off < len && ok) {
            struct sl_chunk_msg m;

            rc = sl_chunk_read(r, sl_guard_place(&gp, out + off, len - off),
                               len - off, &m);
            CU_ASSERT_FATAL(rc > 0);
            off += (size_t) rc;
            if (m.payload != NULL) {
                uint32_t c = 2 + total % 100;

                ok = m.csid == c && m.timestamp == (total / 100) * 10 + c &&
                     m.payload->len == sizeof(p) &&
                     memcmp(m.payload->data, p, sizeof(p)) == 0;
                sl_buf_unref(m.payload);
                total++;
            }
        }
        CU_ASSERT(ok);
        CU_ASSERT_EQUAL(total, 200);
        sl_guard_free(&gp);
        sl_chunk_reader_free(r);
    }
    got_free(&g);
    sl_chunk_writer_free(w);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_basic_header_sizes(void)
{
    static const uint32_t csids[] = {2, 63, 64, 319, 320, 65599};
    static const size_t   sizes[] = {1, 1, 2, 2, 3, 3};
    uint8_t               p[300];
    long                  before = sl_buf_live_count();

    fill(p, sizeof(p), 4);
    for (size_t i = 0; i < sizeof(csids) / sizeof(csids[0]); i++) {
        struct sl_buf *b = sl_chunk_encode(csids[i], 9, 1, 77, p, 10, 128);
        struct got     g = {0};
        uint32_t       c = csids[i];

        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(b->len, sizes[i] + 11 + 10);
        CU_ASSERT_EQUAL(sl_chunk_encoded_size(c, 77, 10, 128), b->len);
        if (sizes[i] == 1) {
            CU_ASSERT_EQUAL(b->data[0], c);
        } else if (sizes[i] == 2) {
            CU_ASSERT_EQUAL(b->data[0], 0);
            CU_ASSERT_EQUAL(b->data[1], c - 64);
        } else {
            CU_ASSERT_EQUAL(b->data[0], 1);
            CU_ASSERT_EQUAL(b->data[1], (c - 64) & 0xff);
            CU_ASSERT_EQUAL(b->data[2], (c - 64) >> 8);
        }
        CU_ASSERT_EQUAL(parse(b->data, b->len, 1000, 4, &g), 1);
        CU_ASSERT_EQUAL(g.m[0].csid, c);
        CU_ASSERT_EQUAL(g.m[0].timestamp, 77);
        got_free(&g);
        sl_buf_unref(b);

        /* Continuation chunks carry the same basic header size. */
        b = sl_chunk_encode(c, 9, 1, 77, p, 300, 128);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(b->len, 3 * sizes[i] + 11 + 300);
        CU_ASSERT_EQUAL(b->data[sizes[i] + 11 + 128], 0xc0 | b->data[0]);
        CU_ASSERT_EQUAL(parse(b->data, b->len, 1000, 4, &g), 1);
        CU_ASSERT_EQUAL(g.m[0].csid, c);
        CU_ASSERT_EQUAL(g.m[0].payload->len, 300);
        CU_ASSERT_EQUAL(memcmp(g.m[0].payload->data, p, 300), 0);
        got_free(&g);
        sl_buf_unref(b);
    }
    CU_ASSERT_PTR_NULL(sl_chunk_encode(0, 9, 1, 0, p, 10, 128));
    CU_ASSERT_PTR_NULL(sl_chunk_encode(1, 9, 1, 0, p, 10, 128));
    CU_ASSERT_PTR_NULL(sl_chunk_encode(65600, 9, 1, 0, p, 10, 128));
    CU_ASSERT_PTR_NULL(sl_chunk_encode(3, 9, 1, 0, p, 10, 0));
    CU_ASSERT_EQUAL(sl_chunk_encoded_size(65600, 0, 10, 128), 0);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_extended_timestamp_bytes(void)
{
    static const uint8_t ext[] = {0x00, 0xff, 0xff, 0xff};
    uint8_t              p[300], out[400];
    struct sl_buf       *b;
    struct got           g = {0};
    long                 before = sl_buf_live_count();
    int                  n;

    fill(p, sizeof(p), 5);
    /* 0xffffff itself must be extended: it is the marker. */
    b = sl_chunk_encode(3, 9, 1, 0xffffff, p, 300, 128);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->len, 12 + 4 + 128 + 5 + 128 + 5 + 44);
    CU_ASSERT_EQUAL(sl_chunk_encoded_size(3, 0xffffff, 300, 128), b->len);
    CU_ASSERT_EQUAL(memcmp(b->data + 1, "\xff\xff\xff", 3), 0);
    CU_ASSERT_EQUAL(memcmp(b->data + 12, ext, 4), 0);
    CU_ASSERT_EQUAL(b->data[16 + 128], 0xc3);
    CU_ASSERT_EQUAL(memcmp(b->data + 16 + 128 + 1, ext, 4), 0);
    CU_ASSERT_EQUAL(b->data[16 + 2 * 128 + 5], 0xc3);
    CU_ASSERT_EQUAL(memcmp(b->data + 16 + 2 * 128 + 6, ext, 4), 0);
    CU_ASSERT_EQUAL(parse(b->data, b->len, 1000, 4, &g), 1);
    CU_ASSERT_EQUAL(g.m[0].timestamp, 0xffffff);
    CU_ASSERT_EQUAL(memcmp(g.m[0].payload->data, p, 300), 0);
    got_free(&g);
    sl_buf_unref(b);

    /* Just below the marker: no extended field anywhere. */
    b = sl_chunk_encode(3, 9, 1, 0xfffffe, p, 300, 128);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->len, 12 + 300 + 2);
    sl_buf_unref(b);

    /* A format 3 chunk starting a new message carries the extended delta
     * and so does its continuation. */
    {
        struct sl_chunk_writer *w = sl_chunk_writer_new(128);
        struct stream          *s = &stream;

        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        s->len = 0;
        s->nexp = 0;
        add_w(s, w, 5, 8, 1, 0x1000000, 150, 1, 0);
        add_w(s, w, 5, 8, 1, 0x2000000, 150, 2, 2);
        CU_ASSERT_EQUAL(memcmp(s->bytes + s->len - 163,
                               "\x85\xff\xff\xff\x01\x00\x00\x00", 8),
                        0);
        n = sl_chunk_write(w, out, sizeof(out), 5, 8, 1, 0x3000000, p, 150);
        CU_ASSERT_EQUAL(n, 1 + 4 + 128 + 1 + 4 + 22);
        CU_ASSERT_EQUAL(memcmp(out, "\xc5\x01\x00\x00\x00", 5), 0);
        CU_ASSERT_EQUAL(memcmp(out + 133, "\xc5\x01\x00\x00\x00", 5), 0);
        add_raw(s, out, (size_t) n);
        expect(s, 5, 8, 1, 0x3000000, p, 150);
        CU_ASSERT_EQUAL(parse(s->bytes, s->len, 1000, 4, &g), 3);
        CU_ASSERT(same(s, &g));
        got_free(&g);
        sl_chunk_writer_free(w);
    }
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* Section 5.3.1.2.4: a format 3 new message right after a format 0
 * header uses the format 0 timestamp as its delta. */
static void
test_fmt3_after_fmt0(void)
{
    static const uint8_t in[] = {0x03, 0x00, 0x03, 0xe8, 0,   0,   2,
                                 8,    1,    0,    0,    0,   'a', 'b',
                                 0xc3, 'c',  'd',  0xc3, 'e', 'f'};
    struct got           g = {0};

    CU_ASSERT_EQUAL_FATAL(parse(in, sizeof(in), 100, 2, &g), 3);
    CU_ASSERT_EQUAL(g.m[0].timestamp, 1000);
    CU_ASSERT_EQUAL(g.m[1].timestamp, 2000);
    CU_ASSERT_EQUAL(g.m[2].timestamp, 3000);
    CU_ASSERT_EQUAL(memcmp(g.m[2].payload->data, "ef", 2), 0);
    got_free(&g);
}

/* A chunk size set on the reader applies to the next chunk, even in the
 * middle of another stream's message. */
static void
test_chunk_size_change(void)
{
    struct sl_chunk_reader *r = sl_chunk_reader_new(10000, 4);
    static uint8_t          p[5000];
    struct sl_buf          *b1, *b2;
    struct sl_chunk_msg     m;
    long                    before = sl_buf_live_count();
    uint64_t                total;
    int                     rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    fill(p, sizeof(p), 6);
    b1 = sl_chunk_encode(3, 9, 1, 0, p, 200, 128);
    b2 = sl_chunk_encode(4, 9, 1, 0, p, 5000, 4096);
    CU_ASSERT_FATAL(b1 != NULL && b2 != NULL);

    /* The first chunk of b1 at 128, then the rest at 4096: b1's second
     * chunk is 72 bytes either way, so it still parses. */
    rc = sl_chunk_read(r, b1->data, 12 + 128, &m);
    CU_ASSERT_EQUAL(rc, 12 + 128);
    CU_ASSERT_PTR_NULL(m.payload);
    total = b1->len + b2->len;
    CU_ASSERT_EQUAL(sl_chunk_reader_set_chunk_size(r, 4096), 0);
    rc = sl_chunk_read(r, b2->data, b2->len, &m);
    CU_ASSERT_EQUAL(rc, (int) b2->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m.payload);
    CU_ASSERT_EQUAL(m.payload->len, 5000);
    CU_ASSERT_EQUAL(memcmp(m.payload->data, p, 5000), 0);
    sl_buf_unref(m.payload);
    rc = sl_chunk_read(r, b1->data + 140, b1->len - 140, &m);
    CU_ASSERT_EQUAL(rc, (int) b1->len - 140);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m.payload);
    CU_ASSERT_EQUAL(memcmp(m.payload->data, p, 200), 0);
    sl_buf_unref(m.payload);
    sl_buf_unref(b1);
    sl_buf_unref(b2);

    /* Chunk size 1: every payload byte is its own chunk. */
    CU_ASSERT_EQUAL(sl_chunk_reader_set_chunk_size(r, 1), 0);
    b1 = sl_chunk_encode(3, 9, 1, 0x1234567, p, 5, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b1);
    CU_ASSERT_EQUAL(b1->len, 12 + 4 + 1 + 4 * (1 + 4 + 1));
    total += b1->len;
    rc = sl_chunk_read(r, b1->data, b1->len, &m);
    CU_ASSERT_EQUAL(rc, (int) b1->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m.payload);
    CU_ASSERT_EQUAL(m.timestamp, 0x1234567);
    CU_ASSERT_EQUAL(memcmp(m.payload->data, p, 5), 0);
    sl_buf_unref(m.payload);
    sl_buf_unref(b1);
    CU_ASSERT_EQUAL(sl_chunk_reader_bytes(r), total);
    sl_chunk_reader_free(r);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_chunk_size_limits(void)
{
    static const uint32_t bad[] = {0, 0x80000000u, 0xffffffffu};
    static const uint32_t good[] = {1, 128, 0x7fffffffu};

    for (size_t i = 0; i < 3; i++) {
        struct sl_chunk_reader *r = sl_chunk_reader_new(100, 2);

        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL(sl_chunk_reader_set_chunk_size(r, bad[i]), -EPROTO);
        CU_ASSERT_PTR_NOT_NULL(sl_chunk_reader_error(r));
        CU_ASSERT_EQUAL(sl_chunk_reader_set_chunk_size(r, good[i]), 0);
        sl_chunk_reader_free(r);
    }
}

static void
test_abort_mid_chunk(void)
{
    struct sl_chunk_reader *r = sl_chunk_reader_new(1000, 4);
    uint8_t                 p[300];
    struct sl_buf          *b, *c;
    struct sl_chunk_msg     m;
    long                    before = sl_buf_live_count();
    int                     rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    fill(p, sizeof(p), 7);
    b = sl_chunk_encode(3, 9, 1, 0, p, 300, 128);
    c = sl_chunk_encode(3, 9, 1, 50, p + 1, 20, 128);
    CU_ASSERT_FATAL(b != NULL && c != NULL);
    /* Input ends 100 bytes into the second chunk; the message is aborted
     * there, so the rest of that chunk is skipped. */
    rc = sl_chunk_read(r, b->data, 12 + 128 + 1 + 100, &m);
    CU_ASSERT_EQUAL(rc, 12 + 128 + 1 + 100);
    CU_ASSERT_PTR_NULL(m.payload);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + 3);
    sl_chunk_reader_abort(r, 3);
    sl_chunk_reader_abort(r, 3);  /* twice is harmless */
    sl_chunk_reader_abort(r, 40); /* unknown: ignored */
    CU_ASSERT_EQUAL(sl_buf_live_count(), before + 2);
    rc = sl_chunk_read(r, b->data + 241, 28, &m);
    CU_ASSERT_EQUAL(rc, 28);
    CU_ASSERT_PTR_NULL(m.payload);
    rc = sl_chunk_read(r, c->data, c->len, &m);
    CU_ASSERT_EQUAL(rc, (int) c->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m.payload);
    CU_ASSERT_EQUAL(m.timestamp, 50);
    CU_ASSERT_EQUAL(m.payload->len, 20);
    CU_ASSERT_EQUAL(memcmp(m.payload->data, p + 1, 20), 0);
    sl_buf_unref(m.payload);

    /* An aborted partial message is freed with the reader too. */
    rc = sl_chunk_read(r, b->data, 100, &m);
    CU_ASSERT_EQUAL(rc, 100);
    sl_chunk_reader_free(r);
    sl_buf_unref(b);
    sl_buf_unref(c);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* A new format 0 header in the middle of a message restarts it. */
static void
test_restart_mid_message(void)
{
    uint8_t        p[300], in[600];
    struct sl_buf *b, *c;
    struct got     g = {0};
    long           before = sl_buf_live_count();

    fill(p, sizeof(p), 8);
    b = sl_chunk_encode(3, 9, 1, 0, p, 300, 128);
    c = sl_chunk_encode(3, 8, 1, 10, p + 5, 30, 128);
    CU_ASSERT_FATAL(b != NULL && c != NULL);
    memcpy(in, b->data, 140);
    memcpy(in + 140, c->data, c->len);
    CU_ASSERT_EQUAL(parse(in, 140 + c->len, 1000, 4, &g), 1);
    CU_ASSERT_EQUAL(g.m[0].type, 8);
    CU_ASSERT_EQUAL(g.m[0].payload->len, 30);
    CU_ASSERT_EQUAL(memcmp(g.m[0].payload->data, p + 5, 30), 0);
    got_free(&g);
    sl_buf_unref(b);
    sl_buf_unref(c);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

static void
test_zero_length(void)
{
    struct sl_buf *b = sl_chunk_encode(3, 18, 1, 5, NULL, 0, 128);
    struct got     g = {0};
    long           before = sl_buf_live_count();

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->len, 12);
    CU_ASSERT_EQUAL(sl_chunk_encoded_size(3, 5, 0, 128), 12);
    CU_ASSERT_EQUAL(parse(b->data, b->len, 0, 1, &g), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g.m[0].payload);
    CU_ASSERT_EQUAL(g.m[0].payload->len, 0);
    CU_ASSERT_EQUAL(g.m[0].type, 18);
    CU_ASSERT_EQUAL(g.m[0].timestamp, 5);
    got_free(&g);
    sl_buf_unref(b);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before - 1);
}

static void
test_too_long(void)
{
    uint8_t                 p[101];
    struct sl_buf          *b;
    struct got              g = {0};
    struct sl_chunk_reader *r;
    struct sl_chunk_msg     m;
    long                    before;
    static const uint8_t    fmt1[] = {0x43, 0, 0, 1, 0, 0, 101, 8};

    fill(p, sizeof(p), 9);
    b = sl_chunk_encode(3, 9, 1, 0, p, 100, 128);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(parse(b->data, b->len, 100, 2, &g), 1);
    got_free(&g);
    sl_buf_unref(b);

    /* Rejected from the header alone, before any allocation. */
    b = sl_chunk_encode(3, 9, 1, 0, p, 101, 128);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    r = sl_chunk_reader_new(100, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    before = sl_buf_live_count();
    CU_ASSERT_EQUAL(sl_chunk_read(r, b->data, 12, &m), -EPROTO);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
    CU_ASSERT_PTR_NULL(m.payload);
    CU_ASSERT(strlen(sl_chunk_reader_error(r)) > 0);
    /* The reader stays failed. */
    CU_ASSERT_EQUAL(sl_chunk_read(r, b->data, b->len, &m), -EPROTO);
    sl_chunk_reader_free(r);
    sl_buf_unref(b);

    /* A format 1 header that grows the length past the limit. */
    {
        uint8_t in[64];

        b = sl_chunk_encode(3, 9, 1, 0, p, 10, 128);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        memcpy(in, b->data, b->len);
        memcpy(in + b->len, fmt1, sizeof(fmt1));
        CU_ASSERT_EQUAL(parse(in, b->len + sizeof(fmt1), 100, 2, &g), -EPROTO);
        CU_ASSERT_EQUAL(g.n, 1);
        got_free(&g);
        sl_buf_unref(b);
    }
}

static void
test_too_many_csids(void)
{
    uint8_t    in[64];
    size_t     n = 0;
    struct got g = {0};

    for (uint32_t c = 3; c <= 5; c++) {
        struct sl_buf *b = sl_chunk_encode(c, 9, 1, 0, in, 0, 128);

        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        memcpy(in + n, b->data, b->len);
        n += b->len;
        sl_buf_unref(b);
    }
    CU_ASSERT_EQUAL(parse(in, n, 100, 3, &g), 3);
    got_free(&g);
    CU_ASSERT_EQUAL(parse(in, n, 100, 2, &g), -EPROTO);
    CU_ASSERT_EQUAL(g.n, 2);
    got_free(&g);
    CU_ASSERT_PTR_NULL(sl_chunk_reader_new(100, 0));
}

/* Many chunk streams each starting a maximal message and sending one
 * chunk: the reader refuses once the unfinished messages together would
 * exceed one maximal message plus 1 MiB, instead of holding them all.
 * Finished and aborted messages give their share back. */
static void
test_unfinished_data_bounded(void)
{
    const uint32_t          max = 512 * 1024;
    struct sl_chunk_reader *r = sl_chunk_reader_new(max, 64);
    struct sl_chunk_msg     m;
    uint8_t                 hdr[12] = {0};
    uint8_t                 body[128] = {0};
    long                    before = sl_buf_live_count();
    int                     rc = 0, opened = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (uint32_t c = 3; c < 40 && rc >= 0; c++) {
        hdr[0] = (uint8_t) c;           /* fmt 0, csid c */
        hdr[4] = (uint8_t) (max >> 16); /* length = max */
        hdr[5] = (uint8_t) (max >> 8);
        hdr[6] = (uint8_t) max;
        hdr[7] = 9;
        rc = sl_chunk_read(r, hdr, 12, &m);
        if (rc >= 0)
            rc = sl_chunk_read(r, body, sizeof(body), &m);
        if (rc >= 0)
            opened++;
    }
    CU_ASSERT_EQUAL(rc, -EPROTO);
    CU_ASSERT_EQUAL(opened, 3); /* 3 x 512 KiB <= 512 KiB + 1 MiB */
    CU_ASSERT_STRING_EQUAL(sl_chunk_reader_error(r),
                           "too much unfinished message data");
    sl_chunk_reader_free(r);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);

    /* Aborting gives the share back: open, abort, open again, forever. */
    r = sl_chunk_reader_new(max, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (int i = 0; i < 20; i++) {
        hdr[0] = 3;
        CU_ASSERT(sl_chunk_read(r, hdr, 12, &m) >= 0);
        CU_ASSERT(sl_chunk_read(r, body, sizeof(body), &m) >= 0);
        sl_chunk_reader_abort(r, 3);
    }
    sl_chunk_reader_free(r);
}

static void
test_unknown_csid(void)
{
    static const uint8_t fmt1[] = {0x43, 0, 0, 1, 0, 0, 1, 8, 'x'};
    static const uint8_t fmt2[] = {0x83, 0, 0, 1, 'x'};
    static const uint8_t fmt3[] = {0xc3, 'x'};
    /* Known csid 3, then a format 3 on csid 4. */
    static const uint8_t mixed[] = {0x03, 0, 0, 0, 0,   0,    1,  8,
                                    0,    0, 0, 0, 'y', 0xc4, 'x'};
    struct got           g = {0};

    CU_ASSERT_EQUAL(parse(fmt1, sizeof(fmt1), 100, 4, &g), -EPROTO);
    CU_ASSERT_EQUAL(parse(fmt2, sizeof(fmt2), 100, 4, &g), -EPROTO);
    CU_ASSERT_EQUAL(parse(fmt3, sizeof(fmt3), 100, 4, &g), -EPROTO);
    CU_ASSERT_EQUAL(parse(fmt3, 1, 100, 4, &g), -EPROTO);
    CU_ASSERT_EQUAL(g.n, 0);
    CU_ASSERT_EQUAL(parse(mixed, sizeof(mixed), 100, 4, &g), -EPROTO);
    CU_ASSERT_EQUAL(g.n, 1);
    got_free(&g);
}

static void
test_timestamp_wrap_writer(void)
{
    struct sl_chunk_writer *w = sl_chunk_writer_new(128);
    struct stream          *s = &stream;
    struct got              g = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    s->len = 0;
    s->nexp = 0;
    add_w(s, w, 4, 8, 1, 0xfffffff0u, 10, 1, 0);
    add_w(s, w, 4, 8, 1, 0xfffffffau, 10, 2, 2);
    /* The wrap looks like a step back, so the writer restates it. */
    add_w(s, w, 4, 8, 1, 0x4, 10, 3, 0);
    add_w(s, w, 4, 8, 1, 0xe, 10, 4, 2);
    CU_ASSERT_EQUAL(parse(s->bytes, s->len, 100, 2, &g), 4);
    CU_ASSERT(same(s, &g));
    got_free(&g);
    sl_chunk_writer_free(w);
}

static void
test_control_messages(void)
{
    struct sl_buf *b[6];
    struct got     g = {0};
    uint8_t        in[256];
    size_t         n = 0;
    long           before = sl_buf_live_count();

    b[0] = sl_chunk_ctrl(SL_MSG_SET_CHUNK_SIZE, 4096, 128);
    b[1] = sl_chunk_ctrl(SL_MSG_ACK, 0x01020304, 4096);
    b[2] = sl_chunk_ctrl(SL_MSG_WINDOW_ACK_SIZE, 2500000, 4096);
    b[3] = sl_chunk_peer_bw(2500000, 2, 4096);
    b[4] = sl_chunk_user_control(SL_UC_STREAM_BEGIN, 1, 4096);
    b[5] = sl_chunk_user_control2(SL_UC_SET_BUFFER_LENGTH, 1, 3000, 4096);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i]);
        CU_ASSERT_EQUAL(b[i]->data[0], 0x02);
        memcpy(in + n, b[i]->data, b[i]->len);
        n += b[i]->len;
        sl_buf_unref(b[i]);
    }
    CU_ASSERT_EQUAL_FATAL(parse(in, n, 100, 2, &g), 6);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(g.m[i].csid, 2);
        CU_ASSERT_EQUAL(g.m[i].msid, 0);
        CU_ASSERT_EQUAL(g.m[i].timestamp, 0);
    }
    CU_ASSERT_EQUAL(g.m[1].type, SL_MSG_ACK);
    CU_ASSERT_EQUAL(memcmp(g.m[1].payload->data, "\x01\x02\x03\x04", 4), 0);
    CU_ASSERT_EQUAL(g.m[3].type, SL_MSG_SET_PEER_BW);
    CU_ASSERT_EQUAL(g.m[3].payload->len, 5);
    CU_ASSERT_EQUAL(memcmp(g.m[3].payload->data, "\x00\x26\x25\xa0\x02", 5), 0);
    CU_ASSERT_EQUAL(g.m[4].type, SL_MSG_USER_CONTROL);
    CU_ASSERT_EQUAL(g.m[4].payload->len, 6);
    CU_ASSERT_EQUAL(memcmp(g.m[4].payload->data, "\0\0\0\0\0\1", 6), 0);
    CU_ASSERT_EQUAL(g.m[5].payload->len, 10);
    CU_ASSERT_EQUAL(
        memcmp(g.m[5].payload->data, "\0\3\0\0\0\1\0\0\x0b\xb8", 10), 0);
    got_free(&g);
    CU_ASSERT_EQUAL(sl_buf_live_count(), before);
}

/* sl_chunk_unwrap gives back what sl_chunk_encode wrapped, for every
 * basic header size, chunk size and timestamp width, and refuses any
 * other shape: a cut, an extra byte, a wrong continuation. */
static void
test_unwrap_round_trip(void)
{
    static const uint32_t csids[] = {3, 63, 64, 319, 320, 65599};
    static const uint32_t sizes[] = {1, 128, 4096, 65536};
    static const uint32_t stamps[] = {0, 40, 0xfffffe, 0xffffff, 0x12345678};
    static const size_t   lens[] = {0, 1, 127, 128, 129, 5000};
    uint8_t               body[5000], out[5000];

    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t) (i * 31 + 7);
    for (size_t c = 0; c < 6; c++)
        for (size_t z = 0; z < 4; z++)
            for (size_t t = 0; t < 5; t++)
                for (size_t l = 0; l < 6; l++) {
                    struct sl_chunk_unwrapped u;
                    struct sl_buf            *b = sl_chunk_encode(
                                   csids[c], 9, 1, stamps[t], body, lens[l], sizes[z]);

                    CU_ASSERT_FATAL(b != NULL);
                    CU_ASSERT_EQUAL(sl_chunk_unwrap(b->data, b->len, sizes[z],
                                                    &u, out, sizeof(out)),
                                    (int) lens[l]);
                    CU_ASSERT(u.type == 9 && u.msid == 1 &&
                              u.timestamp == stamps[t] && u.len == lens[l]);
                    CU_ASSERT(memcmp(out, body, lens[l]) == 0);
                    if (b->len > 1)
                        CU_ASSERT(sl_chunk_unwrap(b->data, b->len - 1, sizes[z],
                                                  &u, out, sizeof(out)) < 0);
                    if (lens[l] > 0)
                        CU_ASSERT(sl_chunk_unwrap(b->data, b->len, sizes[z], &u,
                                                  out, lens[l] - 1) == -ENOSPC);
                    sl_buf_unref(b);
                }
}

static void
test_unwrap_refuses_other_shapes(void)
{
    uint8_t                   body[300], out[300], more[400];
    struct sl_chunk_unwrapped u;
    struct sl_buf            *b;

    memset(body, 0x5a, sizeof(body));
    b = sl_chunk_encode(6, 8, 1, 10, body, sizeof(body), 128);
    CU_ASSERT_FATAL(b != NULL && b->len < sizeof(more));
    /* One byte too many. */
    memcpy(more, b->data, b->len);
    more[b->len] = 0;
    CU_ASSERT(sl_chunk_unwrap(more, b->len + 1, 128, &u, out, sizeof(out)) ==
              -EPROTO);
    /* Read with another chunk size. */
    CU_ASSERT(sl_chunk_unwrap(b->data, b->len, 256, &u, out, sizeof(out)) ==
              -EPROTO);
    CU_ASSERT(sl_chunk_unwrap(b->data, b->len, 0, &u, out, sizeof(out)) ==
              -EPROTO);
    /* A continuation on another chunk stream, or not of format 3. */
    memcpy(more, b->data, b->len);
    more[1 + 11 + 128] = (3 << 6) | 7;
    CU_ASSERT(sl_chunk_unwrap(more, b->len, 128, &u, out, sizeof(out)) ==
              -EPROTO);
    more[1 + 11 + 128] = (1 << 6) | 6;
    CU_ASSERT(sl_chunk_unwrap(more, b->len, 128, &u, out, sizeof(out)) ==
              -EPROTO);
    /* A first chunk that is not format 0. */
    memcpy(more, b->data, b->len);
    more[0] = (1 << 6) | 6;
    CU_ASSERT(sl_chunk_unwrap(more, b->len, 128, &u, out, sizeof(out)) ==
              -EPROTO);
    sl_buf_unref(b);
}

void
sl_test_suite_chunk(void)
{
    CU_pSuite s = CU_add_suite("chunk", NULL, NULL);

    CU_add_test(s, "stream whole", test_stream_whole);
    CU_add_test(s, "unwrap: round trip", test_unwrap_round_trip);
    CU_add_test(s, "unwrap: refuses other shapes",
                test_unwrap_refuses_other_shapes);
    CU_add_test(s, "stream split at every offset", test_stream_every_split);
    CU_add_test(s, "stream byte by byte", test_stream_bytewise);
    CU_add_test(s, "stream random pieces", test_stream_random_pieces);
    CU_add_test(s, "writer formats", test_writer_formats);
    CU_add_test(s, "writer ENOSPC", test_writer_enospc);
    CU_add_test(s, "writer many csids", test_writer_many_csids);
    CU_add_test(s, "basic header sizes", test_basic_header_sizes);
    CU_add_test(s, "extended timestamp bytes", test_extended_timestamp_bytes);
    CU_add_test(s, "fmt 3 after fmt 0", test_fmt3_after_fmt0);
    CU_add_test(s, "chunk size change", test_chunk_size_change);
    CU_add_test(s, "chunk size limits", test_chunk_size_limits);
    CU_add_test(s, "abort mid chunk", test_abort_mid_chunk);
    CU_add_test(s, "restart mid message", test_restart_mid_message);
    CU_add_test(s, "zero length", test_zero_length);
    CU_add_test(s, "too long", test_too_long);
    CU_add_test(s, "too many csids", test_too_many_csids);
    CU_add_test(s, "unfinished data bounded", test_unfinished_data_bounded);
    CU_add_test(s, "unknown csid", test_unknown_csid);
    CU_add_test(s, "timestamp wrap writer", test_timestamp_wrap_writer);
    CU_add_test(s, "control messages", test_control_messages);
}
