#ifndef WIRECODEC_CZLIB_SHIM_H
#define WIRECODEC_CZLIB_SHIM_H
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/// `deflateInit2`/`inflateInit2` are macros; Swift cannot call them, so expose functions.
static inline int wirecodec_deflateInit2(z_streamp strm, int level, int windowBits, int memLevel) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}

static inline int wirecodec_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}

/// A z_stream together with a count of the bytes zlib holds through it. The `opaque` of
/// the stream points at `held`, and the allocation hooks below keep it current, so the
/// owner can report (and the tests can check) the memory each stream keeps per window size.
/// Each block carries a 16-byte header with its size (keeps malloc's 16-byte alignment).
typedef struct {
    z_stream stream;
    size_t held;      // bytes currently allocated by zlib for this stream (headers excluded)
    size_t peak;      // the most ever held at once
    size_t blocks;    // blocks currently allocated
} wirecodec_zstream;

static inline voidpf wirecodec_zalloc(voidpf opaque, uInt items, uInt size) {
    wirecodec_zstream *owner = (wirecodec_zstream *)opaque;
    size_t bytes = (size_t)items * (size_t)size;
    if (size != 0 && bytes / size != items) return Z_NULL;
    unsigned char *block = (unsigned char *)malloc(bytes + 16);
    if (block == NULL) return Z_NULL;
    memcpy(block, &bytes, sizeof bytes);
    owner->held += bytes;
    owner->blocks += 1;
    if (owner->held > owner->peak) owner->peak = owner->held;
    return block + 16;
}

static inline void wirecodec_zfree(voidpf opaque, voidpf address) {
    if (address == Z_NULL) return;
    wirecodec_zstream *owner = (wirecodec_zstream *)opaque;
    unsigned char *block = (unsigned char *)address - 16;
    size_t bytes;
    memcpy(&bytes, block, sizeof bytes);
    owner->held -= bytes;
    owner->blocks -= 1;
    free(block);
}

/// Zeroes `owner` and points its stream's allocator at the counting hooks.
static inline void wirecodec_zstream_prepare(wirecodec_zstream *owner) {
    memset(owner, 0, sizeof *owner);
    owner->stream.zalloc = wirecodec_zalloc;
    owner->stream.zfree = wirecodec_zfree;
    owner->stream.opaque = owner;
}
#endif
