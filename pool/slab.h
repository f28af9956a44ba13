/*
 * Fixed-size objects carved from 2 MiB chunks that the kernel is asked
 * to back with huge pages (MADV_HUGEPAGE).
 *
 * Why: a fan-out server touches every player's state once per merge
 * window, right after the previous player's socket write has walked the
 * kernel's own pages; with one 4 KiB page per player that is a TLB miss
 * at the start of nearly every run.  A thousand sessions in two huge
 * pages share two TLB entries (docs/performance.md, "The fan-out at the
 * floor").  Where the kernel gives no huge page the chunk is still
 * plain memory; nothing depends on it.
 *
 * Objects are 64-byte aligned and come back uninitialised.  A freed
 * object goes on a free list for the next allocation; chunks are kept
 * until the slab is destroyed, so memory is bounded by the peak number
 * of live objects (as with malloc, which would not return it either).
 * Any thread; one mutex, held for a few instructions.  Under
 * AddressSanitizer a free object is poisoned, so a use after free is
 * still caught.
 */
#ifndef SL_SLAB_H
#define SL_SLAB_H

#include <stddef.h>

struct sl_slab;

/* A slab of objects of obj_size bytes (rounded up to 64; at most a
 * quarter of a chunk).  NULL when out of memory or too large. */
struct sl_slab *sl_slab_new(size_t obj_size);

/* An object, or NULL when no chunk can be mapped. */
void *sl_slab_alloc(struct sl_slab *s);

/* Gives back an object of this slab; NULL is ignored. */
void sl_slab_free(struct sl_slab *s, void *obj);

/* Unmaps every chunk: every object must have been freed. */
void sl_slab_destroy(struct sl_slab *s);

/* Chunks mapped so far (for tests and the curious). */
size_t sl_slab_chunks(struct sl_slab *s);

#endif
