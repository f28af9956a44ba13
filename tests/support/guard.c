/*
 * Input placed right before an unreadable page (see guard.h).
 */
#include "tests/support/guard.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int
sl_guard_init(struct sl_guard *g, size_t n)
{
    long page = sysconf(_SC_PAGESIZE);

    g->page = page > 0 ? (size_t) page : 4096;
    g->size = (n / g->page + 1) * g->page;
    g->base = mmap(NULL, g->size + g->page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->base == MAP_FAILED) {
        g->base = NULL;
        return -1;
    }
    if (mprotect(g->base + g->size, g->page, PROT_NONE) != 0) {
        sl_guard_free(g);
        return -1;
    }
    return 0;
}

void
sl_guard_free(struct sl_guard *g)
{
    if (g->base != NULL)
        munmap(g->base, g->size + g->page);
    g->base = NULL;
}

const uint8_t *
sl_guard_place(struct sl_guard *g, const void *p, size_t n)
{
    uint8_t *dst = g->base + g->size - n;

    if (n > 0)
        memcpy(dst, p, n);
    return dst;
}

static struct sl_guard suite_guard;

int
sl_guard_suite_init(void)
{
    return sl_guard_init(&suite_guard, 12 * 1024);
}

int
sl_guard_suite_free(void)
{
    sl_guard_free(&suite_guard);
    return 0;
}

const uint8_t *
sl_guard_put(const void *p, size_t n)
{
    return sl_guard_place(&suite_guard, p, n);
}
