/*
 * The slab (slab.h): chunks of SLAB_CHUNK bytes, aligned to their size
 * so a transparent huge page can back each one, carved front to back;
 * freed objects are kept on a list threaded through their first bytes.
 */
#include "pool/slab.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define SL_SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_SLAB_ASAN 1
#endif
#endif
#ifdef SL_SLAB_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void) (p), (void) (n))
#define UNPOISON(p, n) ((void) (p), (void) (n))
#endif

#define SLAB_CHUNK ((size_t) 2 << 20) /* a huge page on x86-64 */

struct free_obj {
    struct free_obj *next;
};

struct chunk {
    struct chunk *next;
};

struct sl_slab {
    pthread_mutex_t  lock;
    size_t           size;   /* object size, a multiple of 64 */
    struct free_obj *free;   /* freed objects */
    struct chunk    *chunks; /* every chunk, newest first */
    char            *carve;  /* next uncarved object of the newest chunk */
    char            *end;    /* its end */
    size_t           nchunks;
};

struct sl_slab *
sl_slab_new(size_t obj_size)
{
    struct sl_slab *s;
    size_t          size = (obj_size + 63) & ~(size_t) 63;

    if (obj_size == 0 || size > SLAB_CHUNK / 4)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    s->size = size;
    return s;
}

/* A chunk aligned to its size: twice the size is mapped and what lies
 * outside the aligned middle is given back. */
static char *
map_chunk(void)
{
    size_t    span = 2 * SLAB_CHUNK;
    char     *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uintptr_t a;
    size_t    head;

    if (p == MAP_FAILED)
        return NULL;
    a = ((uintptr_t) p + SLAB_CHUNK - 1) & ~(uintptr_t) (SLAB_CHUNK - 1);
    head = a - (uintptr_t) p;
    if (head > 0)
        munmap(p, head);
    munmap((char *) a + SLAB_CHUNK, SLAB_CHUNK - head);
    /* Advice only: without THP the chunk is ordinary memory. */
    (void) madvise((void *) a, SLAB_CHUNK, MADV_HUGEPAGE);
    return (char *) a;
}

void *
sl_slab_alloc(struct sl_slab *s)
{
    void *obj = NULL;

    pthread_mutex_lock(&s->lock);
    if (s->free != NULL) {
        struct free_obj *f = s->free;

        UNPOISON(f, s->size);
        s->free = f->next;
        obj = f;
    } else {
        if (s->carve == NULL || s->end - s->carve < (ptrdiff_t) s->size) {
            char *c = map_chunk();

            if (c != NULL) {
                /* The chunk's first line links it; objects follow. */
                ((struct chunk *) c)->next = s->chunks;
                s->chunks = (struct chunk *) c;
                s->nchunks++;
                s->carve = c + 64;
                s->end = c + SLAB_CHUNK;
                POISON(s->carve, (size_t) (s->end - s->carve));
            }
        }
        if (s->carve != NULL && s->end - s->carve >= (ptrdiff_t) s->size) {
            obj = s->carve;
            s->carve += s->size;
            UNPOISON(obj, s->size);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return obj;
}

void
sl_slab_free(struct sl_slab *s, void *obj)
{
    struct free_obj *f = obj;

    if (obj == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    f->next = s->free;
    s->free = f;
    /* Link included: the allocation that takes it unpoisons first. */
    POISON(obj, s->size);
    pthread_mutex_unlock(&s->lock);
}

void
sl_slab_destroy(struct sl_slab *s)
{
    struct chunk *c, *next;

    if (s == NULL)
        return;
    for (c = s->chunks; c != NULL; c = next) {
        next = c->next;
        UNPOISON(c, SLAB_CHUNK);
        munmap(c, SLAB_CHUNK);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

size_t
sl_slab_chunks(struct sl_slab *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = s->nchunks;
    pthread_mutex_unlock(&s->lock);
    return n;
}
