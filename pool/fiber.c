#include "pool/fiber.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

/* Which sanitizer watches the build: gcc defines the macros, clang
 * answers __has_feature. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_FIBER_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define SL_FIBER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(SL_FIBER_ASAN)
#define SL_FIBER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(SL_FIBER_TSAN)
#define SL_FIBER_TSAN 1
#endif
#ifdef SL_FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef SL_FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

struct sl_fiber {
    ucontext_t  ctx;    /* the fiber's, while it is not running */
    ucontext_t  caller; /* the resumer's, while the fiber runs */
    sl_fiber_fn fn;
    void       *arg;
    void       *map; /* guard page + stack */
    size_t      map_len;
    void       *stack;
    size_t      stack_len;
    int         done;
    /* The resumer's stack, for ASan (learnt at each switch in). */
    const void *caller_bottom;
    size_t      caller_size;
    void       *fake_fiber, *fake_caller;
#ifdef SL_FIBER_TSAN
    void *tsan_fiber, *tsan_caller;
#endif
};

/* Around each switch: tell the sanitizers which stack runs next. */
static void
switch_begin(void **fake, const void *bottom, size_t size)
{
#ifdef SL_FIBER_ASAN
    __sanitizer_start_switch_fiber(fake, bottom, size);
#else
    (void) fake;
    (void) bottom;
    (void) size;
#endif
}

static void
switch_end(void *fake, const void **from_bottom, size_t *from_size)
{
#ifdef SL_FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake, from_bottom, from_size);
#else
    (void) fake;
    (void) from_bottom;
    (void) from_size;
#endif
}

/* makecontext passes ints: the pointer comes in two halves. */
static void
trampoline(unsigned hi, unsigned lo)
{
    struct sl_fiber *f =
        (struct sl_fiber *) (((uintptr_t) hi << 32) | (uintptr_t) lo);

    switch_end(NULL, &f->caller_bottom, &f->caller_size);
    f->fn(f, f->arg);
    f->done = 1;
    /* Back to the resumer for good (uc_link would do it, but the
     * sanitizers must hear of the switch first). */
    switch_begin(NULL, f->caller_bottom, f->caller_size);
#ifdef SL_FIBER_TSAN
    __tsan_switch_to_fiber(f->tsan_caller, 0);
#endif
    setcontext(&f->caller);
}

/* The fiber's first context: getcontext returns twice in principle, so
 * it has a frame of its own (no local of the caller's is live across
 * it). */
static __attribute__((noinline)) int
prepare(struct sl_fiber *f)
{
    uintptr_t p = (uintptr_t) f;

    if (getcontext(&f->ctx) < 0)
        return -1;
    f->ctx.uc_stack.ss_sp = f->stack;
    f->ctx.uc_stack.ss_size = f->stack_len;
    f->ctx.uc_link = NULL;
    makecontext(&f->ctx, (void (*)(void)) trampoline, 2, (unsigned) (p >> 32),
                (unsigned) (p & 0xffffffffu));
    return 0;
}

struct sl_fiber *
sl_fiber_new(size_t stack_bytes, sl_fiber_fn fn, void *arg)
{
    struct sl_fiber *f = calloc(1, sizeof(*f));
    size_t           page = (size_t) sysconf(_SC_PAGESIZE);

    if (f == NULL)
        return NULL;
    f->fn = fn;
    f->arg = arg;
    f->stack_len = (stack_bytes + page - 1) / page * page;
    f->map_len = f->stack_len + page;
    f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (f->map == MAP_FAILED) {
        free(f);
        return NULL;
    }
    /* The lowest page faults: an overflow crashes instead of writing
     * over whatever lies below. */
    mprotect(f->map, page, PROT_NONE);
    f->stack = (char *) f->map + page;
    if (prepare(f) < 0) {
        munmap(f->map, f->map_len);
        free(f);
        return NULL;
    }
#ifdef SL_FIBER_TSAN
    f->tsan_fiber = __tsan_create_fiber(0);
#endif
    return f;
}

int
sl_fiber_resume(struct sl_fiber *f)
{
    if (f->done)
        return 1;
#ifdef SL_FIBER_TSAN
    f->tsan_caller = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(f->tsan_fiber, 0);
#endif
    switch_begin(&f->fake_caller, f->stack, f->stack_len);
    swapcontext(&f->caller, &f->ctx);
    switch_end(f->fake_caller, NULL, NULL);
    return f->done;
}

void
sl_fiber_yield(struct sl_fiber *f)
{
    switch_begin(&f->fake_fiber, f->caller_bottom, f->caller_size);
#ifdef SL_FIBER_TSAN
    __tsan_switch_to_fiber(f->tsan_caller, 0);
#endif
    swapcontext(&f->ctx, &f->caller);
    /* Resumed, maybe from another thread's stack. */
    switch_end(f->fake_fiber, &f->caller_bottom, &f->caller_size);
}

int
sl_fiber_done(const struct sl_fiber *f)
{
    return f->done;
}

void
sl_fiber_free(struct sl_fiber *f)
{
    if (f == NULL)
        return;
#ifdef SL_FIBER_TSAN
    __tsan_destroy_fiber(f->tsan_fiber);
#endif
    munmap(f->map, f->map_len);
    free(f);
}
