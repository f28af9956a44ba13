#include "hls/segfile.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct sl_hls_segfile {
    atomic_uint refs;
    int         fd;
    uint64_t    size; /* written so far; the packager's alone */
};

static atomic_long live_files;

struct sl_hls_segfile *
sl_hls_segfile_new(const char *name)
{
    struct sl_hls_segfile *f = malloc(sizeof(*f));

    if (f == NULL)
        return NULL;
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0) {
        free(f);
        return NULL;
    }
    atomic_init(&f->refs, 1);
    f->size = 0;
    atomic_fetch_add_explicit(&live_files, 1, memory_order_relaxed);
    return f;
}

void
sl_hls_segfile_unref(struct sl_hls_segfile *f)
{
    if (f == NULL)
        return;
    /* acq_rel as sl_buf_unref: every sender's use of the file happens
     * before the close. */
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    close(f->fd);
    free(f);
    atomic_fetch_sub_explicit(&live_files, 1, memory_order_relaxed);
}

/* A part's buffer is gone: its mapping goes, and its hold on the file. */
static void
release_part(void *arg, uint8_t *data, uint32_t len)
{
    munmap(data, len);
    sl_hls_segfile_unref(arg);
}

struct sl_buf *
sl_hls_segfile_add(struct sl_hls_segfile *f, const struct sl_buf *part)
{
    static long    page;
    uint64_t       off;
    size_t         done = 0;
    void          *map;
    struct sl_buf *b;

    if (page == 0)
        page = sysconf(_SC_PAGESIZE); /* the same answer on any thread */
    if (part->len == 0)
        return NULL;
    /* A mapping starts at a page: each part starts on one. */
    off = (f->size + (uint64_t) page - 1) & ~((uint64_t) page - 1);
    while (done < part->len) {
        ssize_t n = pwrite(f->fd, part->data + done, part->len - done,
                           (off_t) (off + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        done += (size_t) n;
    }
    f->size = off + part->len;
    map = mmap(NULL, part->len, PROT_READ, MAP_SHARED, f->fd, (off_t) off);
    if (map == MAP_FAILED)
        return NULL;
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    b = sl_buf_file_new(map, part->len, f->fd, off, release_part, f);
    if (b == NULL) {
        munmap(map, part->len);
        sl_hls_segfile_unref(f);
    }
    return b;
}

long
sl_hls_segfile_live(void)
{
    return atomic_load_explicit(&live_files, memory_order_relaxed);
}
