#include "pool/buf.h"

#include <stdlib.h>
#include <string.h>

static atomic_long live_bufs;

/* A file-backed buffer: the common header, then where its bytes lie and
 * who frees them. */
struct file_buf {
    struct sl_buf b;
    uint64_t      off;
    void (*release)(void *arg, uint8_t *data, uint32_t len);
    void *arg;
};

struct sl_buf *
sl_buf_new(size_t cap)
{
    struct sl_buf *b;

    if (cap > UINT32_MAX - sizeof(*b))
        return NULL;
    b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = 0;
    b->cap = (uint32_t) cap;
    b->fd = -1;
    b->data = (uint8_t *) (b + 1);
    atomic_fetch_add_explicit(&live_bufs, 1, memory_order_relaxed);
    return b;
}

struct sl_buf *
sl_buf_from(const void *data, size_t len)
{
    struct sl_buf *b = sl_buf_new(len);

    if (b == NULL)
        return NULL;
    if (len > 0)
        memcpy(b->data, data, len);
    b->len = (uint32_t) len;
    return b;
}

struct sl_buf *
sl_buf_file_new(uint8_t *data, uint32_t len, int fd, uint64_t off,
                void (*release)(void *arg, uint8_t *data, uint32_t len),
                void *arg)
{
    struct file_buf *f = malloc(sizeof(*f));

    if (f == NULL)
        return NULL;
    atomic_init(&f->b.refs, 1);
    f->b.len = f->b.cap = len;
    f->b.fd = fd;
    f->b.data = data;
    f->off = off;
    f->release = release;
    f->arg = arg;
    atomic_fetch_add_explicit(&live_bufs, 1, memory_order_relaxed);
    return &f->b;
}

int
sl_buf_file(const struct sl_buf *b, uint32_t at, uint64_t *off)
{
    if (b->fd < 0)
        return -1;
    *off = ((const struct file_buf *) b)->off + at;
    return b->fd;
}

void
sl_buf_unref(struct sl_buf *b)
{
    if (b == NULL)
        return;
    /* acq_rel: the release publishes this holder's reads, the acquire
     * (taken only by the last holder) orders them before the free.  A
     * release decrement plus an acquire fence would be cheaper on weak
     * memory models, but ThreadSanitizer does not model fences. */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    atomic_fetch_sub_explicit(&live_bufs, 1, memory_order_relaxed);
    if (b->fd >= 0) {
        struct file_buf *f = (struct file_buf *) b;

        f->release(f->arg, b->data, b->len);
    }
    free(b);
}

long
sl_buf_live_count(void)
{
    return atomic_load_explicit(&live_bufs, memory_order_relaxed);
}
