/*
 * Immutable, atomically refcounted byte buffers.
 *
 * A media message is stored once in an sl_buf and every consumer (the GOP
 * cache, each player's send queue) holds a reference instead of a copy.
 * The creator fills the bytes before publishing the buffer to any other
 * thread; after that the bytes are read-only.  The last sl_buf_unref()
 * frees it, on whichever thread drops it.
 *
 * Most buffers hold their bytes right after the header.  A file-backed
 * buffer (sl_buf_file_new) points at bytes that lie in a file, mapped
 * into memory, and also names that file and the offset, so a plain
 * socket can be handed the bytes with sendfile(2) instead of a copy;
 * its owner's release function unmaps them when the last reference
 * goes.  Readers never need to care which kind they hold: data is
 * always readable.
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
    uint32_t    len; /* bytes of live data */
    uint32_t    cap; /* bytes of room at data */
    int32_t     fd;  /* >= 0: a file-backed buffer (see above); else -1 */
    uint8_t    *data;
};

/* A buffer with room for cap bytes, len 0 and one reference owned by the
 * caller.  NULL when out of memory. */
struct sl_buf *sl_buf_new(size_t cap);

/* A new buffer holding a copy of len bytes. */
struct sl_buf *sl_buf_from(const void *data, size_t len);

/* A file-backed buffer: the len bytes at data (which stay valid until
 * release runs) are the bytes at off in the open file fd.  The buffer
 * borrows fd and data; when the last reference goes, release(arg, data,
 * len) is called, on that thread, and must let go of them.  Nothing may
 * write those bytes, in memory or in the file, once the buffer exists
 * (a socket may still be sending them from the file).  One reference
 * owned by the caller, or NULL when out of memory (release is then not
 * called). */
struct sl_buf *
sl_buf_file_new(uint8_t *data, uint32_t len, int fd, uint64_t off,
                void (*release)(void *arg, uint8_t *data, uint32_t len),
                void *arg);

/* Where a file-backed buffer's byte at data + at lies: returns the fd
 * and sets *off; -1 for a buffer in plain memory. */
int sl_buf_file(const struct sl_buf *b, uint32_t at, uint64_t *off);

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
