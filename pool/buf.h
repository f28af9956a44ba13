/*
 * Immutable, atomically refcounted byte buffers.
 *
 * A media message is stored once in an sl_buf and every consumer (the GOP
 * cache, each player's send queue) holds a reference instead of a copy.
 * The creator fills the bytes before publishing the buffer to any other
 * thread; after that the bytes are read-only.  The last sl_buf_unref()
 * frees it, on whichever thread drops it.
 *
 * Memory ordering: ref is relaxed (a reference can only be duplicated by a
 * thread that already holds one); unref is acquire-release, so every
 * other holder's reads happen-before the free by the last one.
 */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct sl_buf {
    atomic_uint refs;
    uint32_t    len;     /* bytes of live data in data[] */
    uint32_t    cap;     /* bytes allocated for data[] */
    uint8_t     data[];
};

/* A buffer with room for cap bytes, len 0 and one reference owned by the
 * caller.  NULL when out of memory. */
struct sl_buf *sl_buf_new(size_t cap);

/* A new buffer holding a copy of len bytes. */
struct sl_buf *sl_buf_from(const void *data, size_t len);

static inline struct sl_buf *
sl_buf_ref(struct sl_buf *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

/* Drops one reference; NULL is ignored. */
void sl_buf_unref(struct sl_buf *b);

/* Number of live sl_buf objects in the process (for leak checks in tests
 * and the memory figures in the API). */
long sl_buf_live_count(void);

#endif
