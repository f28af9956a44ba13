/*
 * The HTTP-FLV player's parsers (see flvread.h): the response head and
 * the FLV stream.
 */
#include "bench/flvread.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "bench/httphead.h"
#include "rtmp/rd.h"

#define FILE_HDR 9 /* "FLV", version, flags, header size */

/* ---- the response head ------------------------------------------------ */

int
sl_bench_http_head_end(const uint8_t *p, size_t len, size_t from)
{
    if (len > SL_BENCH_HEAD_MAX)
        len = SL_BENCH_HEAD_MAX;
    for (size_t i = from; i + 4 <= len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
            p[i + 3] == '\n')
            return (int) (i + 4);
    return -EAGAIN;
}

int
sl_bench_http_head_check(const uint8_t *p, size_t len, char *why, size_t cap)
{
    const char *s = (const char *) p, *end = s + len, *eol, *line;
    struct sl_bench_http_field f;
    int                        flv = 0, status, rc;

    status = sl_bench_http_status(s, end, &eol, why, cap);
    if (status < 0)
        return status;
    if (status != 200)
        return sl_bench_why(why, cap, "HTTP %.*s",
                            (int) (eol - s - 9 > 60 ? 60 : eol - s - 9), s + 9);
    line = eol + 2;
    while ((rc = sl_bench_http_field(&line, end, &f, why, cap)) > 0) {
        if (sl_bench_http_field_is(&f, "content-type")) {
            const char *v = f.value;
            size_t      n = (size_t) (f.eol - v), k = strlen("video/x-flv");

            flv = n >= k && strncasecmp(v, "video/x-flv", k) == 0 &&
                  (n == k || v[k] == ';' || v[k] == ' ' || v[k] == '\t');
        } else if (sl_bench_http_field_is(&f, "transfer-encoding")) {
            /* Sluice's stream is close-delimited; a chunked one would
             * need a de-chunking layer this reader does not have. */
            return sl_bench_why(
                why, cap, "Transfer-Encoding %.*s is not supported",
                (int) (f.eol - f.value > 40 ? 40 : f.eol - f.value), f.value);
        }
    }
    if (rc < 0)
        return rc;
    if (!flv)
        return sl_bench_why(why, cap, "Content-Type is not video/x-flv");
    return 0;
}

/* ---- the FLV stream ----------------------------------------------------- */

/* The parts of the stream, in order; after P_TRAILER comes P_TAG. */
enum part {
    P_FILE,   /* the 9-byte file header, into buf */
    P_SKIP,   /* header bytes beyond 9 (a larger DataOffset) */
    P_PREV0,  /* PreviousTagSize0, into buf: must be 0 */
    P_TAG,    /* an 11-byte tag header, into buf */
    P_BODY,   /* the body: the first SL_BENCH_HASH_BYTES into head */
    P_TRAILER /* PreviousTagSize, into buf: must be 11 + body */
};

void
sl_bench_flvrd_init(struct sl_bench_flvrd *r)
{
    memset(r, 0, sizeof(*r));
    r->part = P_FILE;
}

static int
fail(struct sl_bench_flvrd *r, const char *why)
{
    r->err = why;
    return -EPROTO;
}

/* Copies up to `need` bytes of the current part into buf; the count. */
static size_t
fill(struct sl_bench_flvrd *r, size_t need, const uint8_t *in, size_t len)
{
    size_t n = need - r->have;

    if (n > len)
        n = len;
    memcpy(r->buf + r->have, in, n);
    r->have += (uint32_t) n;
    return n;
}

/* Reports the tag whose body just ended; its trailer comes next. */
static void
emit_tag(struct sl_bench_flvrd *r, struct sl_bench_flv_msg *out)
{
    out->event = SL_BENCH_FLV_TAG;
    out->type = r->type;
    out->ts = r->ts;
    out->len = r->len;
    out->head = r->head;
    out->head_len = r->len < SL_BENCH_HASH_BYTES ? r->len : SL_BENCH_HASH_BYTES;
    r->part = P_TRAILER;
    r->have = 0;
}

/* The file header in buf: "FLV", version 1, flags, header size >= 9. */
static int
file_header(struct sl_bench_flvrd *r)
{
    struct sl_rd   rd;
    const uint8_t *sig;
    uint32_t       size;

    sl_rd_init(&rd, r->buf, FILE_HDR);
    sig = sl_rd_bytes(&rd, 3);
    if (sig == NULL || memcmp(sig, "FLV", 3) != 0)
        return fail(r, "not an FLV stream (signature)");
    if (sl_rd_u8(&rd) != 1)
        return fail(r, "FLV version is not 1");
    r->flags = sl_rd_u8(&rd) & 5;
    size = sl_rd_u32(&rd);
    if (rd.err || size < FILE_HDR)
        return fail(r, "FLV header size below 9");
    r->skip = size - FILE_HDR;
    r->part = r->skip > 0 ? P_SKIP : P_PREV0;
    r->have = 0;
    return 0;
}

/* A tag header in buf: type, 24-bit size, 24-bit timestamp and its
 * 8-bit extension (bits 24-31), 24-bit stream id. */
static int
tag_header(struct sl_bench_flvrd *r)
{
    struct sl_rd rd;
    uint32_t     ts, sid;

    sl_rd_init(&rd, r->buf, SL_FLV_TAG_HDR);
    r->type = sl_rd_u8(&rd);
    r->len = sl_rd_u24(&rd);
    ts = sl_rd_u24(&rd);
    r->ts = ts | (uint32_t) sl_rd_u8(&rd) << 24;
    sid = sl_rd_u24(&rd);
    /* The type byte's reserved bits and encryption filter must be 0. */
    if (r->type != 8 && r->type != 9 && r->type != 18)
        return fail(r, "FLV tag type not audio, video or script");
    if (rd.err || sid != 0)
        return fail(r, "FLV tag stream id is not 0");
    r->have = 0;
    r->part = P_BODY;
    return 0;
}

int
sl_bench_flvrd_read(struct sl_bench_flvrd *r, const uint8_t *in, size_t len,
                    struct sl_bench_flv_msg *out)
{
    size_t used = 0;

    memset(out, 0, sizeof(*out));
    if (len > (size_t) INT32_MAX)
        len = INT32_MAX;
    while (used < len) {
        const uint8_t *p = in + used;
        size_t         left = len - used, n;

        switch (r->part) {
        case P_FILE:
            used += fill(r, FILE_HDR, p, left);
            if (r->have == FILE_HDR && file_header(r) < 0)
                return -EPROTO;
            break;
        case P_SKIP:
            n = left < r->skip ? left : r->skip;
            r->skip -= (uint32_t) n;
            used += n;
            if (r->skip == 0)
                r->part = P_PREV0;
            break;
        case P_PREV0:
            used += fill(r, SL_FLV_TAG_TAIL, p, left);
            if (r->have < SL_FLV_TAG_TAIL)
                break;
            if (r->buf[0] | r->buf[1] | r->buf[2] | r->buf[3])
                return fail(r, "FLV PreviousTagSize0 is not 0");
            r->part = P_TAG;
            r->have = 0;
            out->event = SL_BENCH_FLV_HEADER;
            out->flags = r->flags;
            return (int) used;
        case P_TAG:
            used += fill(r, SL_FLV_TAG_HDR, p, left);
            if (r->have < SL_FLV_TAG_HDR)
                break;
            if (tag_header(r) < 0)
                return -EPROTO;
            if (r->len == 0) { /* an empty body ends with its header */
                emit_tag(r, out);
                return (int) used;
            }
            break;
        case P_BODY:
            n = r->len - r->have;
            if (n > left)
                n = left;
            if (r->have < SL_BENCH_HASH_BYTES) {
                size_t k = SL_BENCH_HASH_BYTES - r->have;

                memcpy(r->head + r->have, p, k < n ? k : n);
            }
            r->have += (uint32_t) n;
            used += n;
            if (r->have == r->len) {
                emit_tag(r, out);
                return (int) used;
            }
            break;
        case P_TRAILER:
            used += fill(r, SL_FLV_TAG_TAIL, p, left);
            if (r->have < SL_FLV_TAG_TAIL)
                break;
            {
                struct sl_rd rd;

                sl_rd_init(&rd, r->buf, SL_FLV_TAG_TAIL);
                if (sl_rd_u32(&rd) != SL_FLV_TAG_HDR + r->len)
                    return fail(r, "FLV PreviousTagSize does not match the "
                                   "tag");
            }
            r->part = P_TAG;
            r->have = 0;
            break;
        }
    }
    return (int) used;
}
