#include "CBenchZlib.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct bench_zlib_stream {
    z_stream z;
    int deflating;
};

static const uint8_t sync_tail[4] = {0x00, 0x00, 0xFF, 0xFF};

bench_zlib_stream *bench_zlib_inflater_create(int window_bits) {
    bench_zlib_stream *stream = calloc(1, sizeof *stream);
    if (stream == NULL) return NULL;
    if (inflateInit2(&stream->z, -window_bits) != Z_OK) {
        free(stream);
        return NULL;
    }
    return stream;
}

bench_zlib_stream *bench_zlib_deflater_create(int level, int window_bits, int mem_level) {
    bench_zlib_stream *stream = calloc(1, sizeof *stream);
    if (stream == NULL) return NULL;
    stream->deflating = 1;
    if (deflateInit2(&stream->z, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(stream);
        return NULL;
    }
    return stream;
}

void bench_zlib_stream_destroy(bench_zlib_stream *stream) {
    if (stream == NULL) return;
    if (stream->deflating) deflateEnd(&stream->z); else inflateEnd(&stream->z);
    free(stream);
}

void bench_zlib_stream_reset(bench_zlib_stream *stream) {
    if (stream->deflating) deflateReset(&stream->z); else inflateReset(&stream->z);
}

/// Inflates `length` bytes into `out` starting at `*produced`; Z_BUF_ERROR (no progress
/// possible) is how inflate says it has consumed everything under Z_SYNC_FLUSH.
static int inflate_into(z_stream *z, const uint8_t *input, size_t length, uint8_t *out,
                        size_t out_capacity, size_t *produced) {
    z->next_in = (Bytef *)input;
    z->avail_in = (uInt)length;
    while (z->avail_in > 0) {
        z->next_out = out + *produced;
        z->avail_out = (uInt)(out_capacity - *produced);
        if (z->avail_out == 0) return -1;
        int status = inflate(z, Z_SYNC_FLUSH);
        *produced = out_capacity - z->avail_out;
        if (status != Z_OK && status != Z_BUF_ERROR) return -1;
    }
    return 0;
}

int64_t bench_zlib_inflate_messages(bench_zlib_stream *stream, const uint8_t *data,
                                    const size_t *offsets, size_t count, uint8_t *out,
                                    size_t out_capacity, int reset_each_message) {
    z_stream *z = &stream->z;
    int64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (reset_each_message) inflateReset(z);
        size_t produced = 0;
        if (inflate_into(z, data + offsets[i], offsets[i + 1] - offsets[i], out, out_capacity, &produced) != 0) return -1;
        if (inflate_into(z, sync_tail, sizeof sync_tail, out, out_capacity, &produced) != 0) return -1;
        total += (int64_t)produced;
    }
    return total;
}

int64_t bench_zlib_deflate_messages(bench_zlib_stream *stream, const uint8_t *data,
                                    const size_t *offsets, size_t count, uint8_t *out,
                                    size_t out_capacity, int reset_each_message,
                                    size_t *last_length) {
    z_stream *z = &stream->z;
    int64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (reset_each_message) deflateReset(z);
        z->next_in = (Bytef *)(data + offsets[i]);
        z->avail_in = (uInt)(offsets[i + 1] - offsets[i]);
        size_t produced = 0;
        do {
            z->next_out = out + produced;
            z->avail_out = (uInt)(out_capacity - produced);
            if (z->avail_out == 0) return -1;
            int status = deflate(z, Z_SYNC_FLUSH);
            produced = out_capacity - z->avail_out;
            if (status != Z_OK && status != Z_BUF_ERROR) return -1;
        } while (z->avail_out == 0);
        if (produced < 4 || memcmp(out + produced - 4, sync_tail, 4) != 0) return -1;
        produced -= 4;
        *last_length = produced;
        total += (int64_t)produced;
    }
    return total;
}
