#ifndef WIRECODEC_CMALLOCCOUNTER_H
#define WIRECODEC_CMALLOCCOUNTER_H
#include <stdbool.h>
#include <stdint.h>

/// Number of successful allocation calls (malloc, calloc, realloc, posix_memalign,
/// aligned_alloc, memalign, valloc) made by any code in this process since it started.
/// A realloc counts as one allocation; free counts nothing.
uint64_t wirecodec_malloc_count(void);

/// Usable bytes of the blocks allocated while byte tracking was on and not yet freed,
/// minus the usable bytes of blocks freed while it was on. Take the difference of two
/// readings around an operation to learn what that operation keeps on the heap.
int64_t wirecodec_allocated_bytes(void);

/// Turns byte tracking on or off (off at start: it costs a malloc_usable_size per call).
void wirecodec_track_bytes(bool on);

#endif
