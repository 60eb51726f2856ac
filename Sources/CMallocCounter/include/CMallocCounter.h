#ifndef WIRECODEC_CMALLOCCOUNTER_H
#define WIRECODEC_CMALLOCCOUNTER_H
#include <stdint.h>
/// Number of malloc/calloc/realloc/posix_memalign calls since the process started.
uint64_t wirecodec_malloc_count(void);
#endif
