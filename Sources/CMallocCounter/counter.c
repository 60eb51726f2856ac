// Counts heap allocations for the benchmark by interposing the C allocator.
//
// The executable defines malloc & co.; the dynamic linker binds every library's calls
// (the Swift runtime, Foundation-free stdlib, NIO, zlib) to these definitions, which
// count and forward to glibc's own entry points (__libc_malloc etc.), so no dlsym
// bootstrap is needed. Counting uses relaxed atomics: the benchmark is single-threaded,
// but a stray thread must not corrupt the counts.
#define _GNU_SOURCE
#include "CMallocCounter.h"

#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);

static uint64_t allocation_count;
static int64_t allocated_bytes;
static int tracking_bytes;

static inline void note_allocation(void *pointer) {
    if (pointer == NULL) return;
    __atomic_fetch_add(&allocation_count, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&tracking_bytes, __ATOMIC_RELAXED)) {
        __atomic_fetch_add(&allocated_bytes, (int64_t)malloc_usable_size(pointer), __ATOMIC_RELAXED);
    }
}

static inline void note_release(void *pointer) {
    if (pointer == NULL) return;
    if (__atomic_load_n(&tracking_bytes, __ATOMIC_RELAXED)) {
        __atomic_fetch_sub(&allocated_bytes, (int64_t)malloc_usable_size(pointer), __ATOMIC_RELAXED);
    }
}

uint64_t wirecodec_malloc_count(void) { return __atomic_load_n(&allocation_count, __ATOMIC_RELAXED); }
int64_t wirecodec_allocated_bytes(void) { return __atomic_load_n(&allocated_bytes, __ATOMIC_RELAXED); }
void wirecodec_track_bytes(bool on) { __atomic_store_n(&tracking_bytes, on ? 1 : 0, __ATOMIC_RELAXED); }

void *malloc(size_t size) {
    void *pointer = __libc_malloc(size);
    note_allocation(pointer);
    return pointer;
}

void *calloc(size_t count, size_t size) {
    void *pointer = __libc_calloc(count, size);
    note_allocation(pointer);
    return pointer;
}

void *realloc(void *old, size_t size) {
    if (old == NULL) return malloc(size);
    int tracking = __atomic_load_n(&tracking_bytes, __ATOMIC_RELAXED);
    int64_t old_size = tracking ? (int64_t)malloc_usable_size(old) : 0;
    void *pointer = __libc_realloc(old, size);
    // A failure other than realloc(p, 0) leaves the old block allocated and counted.
    if (pointer == NULL && size != 0) return NULL;
    if (tracking) __atomic_fetch_sub(&allocated_bytes, old_size, __ATOMIC_RELAXED);
    note_allocation(pointer);
    return pointer;
}

void free(void *pointer) {
    note_release(pointer);
    __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
    void *pointer = __libc_memalign(alignment, size);
    note_allocation(pointer);
    return pointer;
}

void *aligned_alloc(size_t alignment, size_t size) {
    return memalign(alignment, size);
}

void *valloc(size_t size) {
    void *pointer = __libc_valloc(size);
    note_allocation(pointer);
    return pointer;
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *pointer = memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}
