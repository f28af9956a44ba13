/*
 * Bounds-checked byte reader and writer.  Every network byte Sluice
 * parses goes through sl_rd: a read past the end returns zero, consumes
 * nothing more and latches err, so a parser checks once at the end instead
 * of before every field and can never over-read.  sl_wr is the mirror for
 * encoders writing into a fixed buffer.  Big-endian unless named _le.
 */
#ifndef SL_RD_H
#define SL_RD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sl_rd {
    const uint8_t *p;
    const uint8_t *end;
    int            err;  /* set by the first read past the end */
};

static inline void
sl_rd_init(struct sl_rd *r, const void *p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
    r->err = 0;
}

static inline size_t
sl_rd_left(const struct sl_rd *r)
{
    return (size_t) (r->end - r->p);
}

/* A pointer to the next n bytes and advances past them, or NULL (and
 * err set, nothing consumed) when fewer remain. */
static inline const uint8_t *
sl_rd_bytes(struct sl_rd *r, size_t n)
{
    const uint8_t *p = r->p;

    if (r->err || sl_rd_left(r) < n) {
        r->err = 1;
        return NULL;
    }
    r->p += n;
    return p;
}

static inline uint64_t
sl_rd_be(struct sl_rd *r, size_t n)
{
    const uint8_t *p = sl_rd_bytes(r, n);
    uint64_t       v = 0;

    if (p == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline uint8_t
sl_rd_u8(struct sl_rd *r)
{
    return (uint8_t) sl_rd_be(r, 1);
}

static inline uint16_t
sl_rd_u16(struct sl_rd *r)
{
    return (uint16_t) sl_rd_be(r, 2);
}

static inline uint32_t
sl_rd_u24(struct sl_rd *r)
{
    return (uint32_t) sl_rd_be(r, 3);
}

static inline uint32_t
sl_rd_u32(struct sl_rd *r)
{
    return (uint32_t) sl_rd_be(r, 4);
}

static inline uint32_t
sl_rd_u32_le(struct sl_rd *r)
{
    const uint8_t *p = sl_rd_bytes(r, 4);

    if (p == NULL)
        return 0;
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
           (uint32_t) p[3] << 24;
}

static inline double
sl_rd_f64(struct sl_rd *r)
{
    uint64_t bits = sl_rd_be(r, 8);
    double   d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

struct sl_wr {
    uint8_t *p;
    uint8_t *end;
    uint8_t *start;
    int      err;  /* set by the first write that did not fit */
};

static inline void
sl_wr_init(struct sl_wr *w, void *p, size_t n)
{
    w->start = w->p = p;
    w->end = w->p + n;
    w->err = 0;
}

static inline size_t
sl_wr_len(const struct sl_wr *w)
{
    return (size_t) (w->p - w->start);
}

static inline void
sl_wr_bytes(struct sl_wr *w, const void *src, size_t n)
{
    if (w->err || (size_t) (w->end - w->p) < n) {
        w->err = 1;
        return;
    }
    if (n > 0)
        memcpy(w->p, src, n);
    w->p += n;
}

static inline void
sl_wr_be(struct sl_wr *w, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t) (v >> (8 * (n - 1 - i)));
    sl_wr_bytes(w, b, n);
}

static inline void
sl_wr_u8(struct sl_wr *w, uint8_t v)
{
    sl_wr_be(w, v, 1);
}

static inline void
sl_wr_u16(struct sl_wr *w, uint16_t v)
{
    sl_wr_be(w, v, 2);
}

static inline void
sl_wr_u24(struct sl_wr *w, uint32_t v)
{
    sl_wr_be(w, v, 3);
}

static inline void
sl_wr_u32(struct sl_wr *w, uint32_t v)
{
    sl_wr_be(w, v, 4);
}

static inline void
sl_wr_u32_le(struct sl_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16),
                    (uint8_t) (v >> 24)};

    sl_wr_bytes(w, b, 4);
}

static inline void
sl_wr_f64(struct sl_wr *w, double d)
{
    uint64_t bits;

    memcpy(&bits, &d, sizeof(bits));
    sl_wr_be(w, bits, 8);
}

#endif
