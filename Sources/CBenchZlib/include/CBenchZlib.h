#ifndef WIRECODEC_CBENCHZLIB_H
#define WIRECODEC_CBENCHZLIB_H
// The raw-zlib peer of the benchmark: the loops a C program would write around zlib for
// permessage-deflate (RFC 7692 §7.2), so the comparison carries no Swift overhead.
#include <stddef.h>
#include <stdint.h>

typedef struct bench_zlib_stream bench_zlib_stream;

/// A raw-deflate (no zlib header) decompressor with a 2^window_bits window.
bench_zlib_stream *bench_zlib_inflater_create(int window_bits);
/// A raw-deflate compressor: `level` as zlib's, `mem_level` 1...9 (zlib's default is 8).
bench_zlib_stream *bench_zlib_deflater_create(int level, int window_bits, int mem_level);
void bench_zlib_stream_destroy(bench_zlib_stream *stream);
/// Forgets the sliding window (inflateReset/deflateReset), as at the start of a connection.
void bench_zlib_stream_reset(bench_zlib_stream *stream);

/// Decompresses `count` messages in order; message i is `data[offsets[i] ..< offsets[i+1]]`,
/// the payload of a compressed WebSocket message. Each is fed to inflate followed by the
/// 00 00 FF FF tail that RFC 7692 §7.2.2 restores, with Z_SYNC_FLUSH. The window carries over
/// from message to message (context takeover) unless `reset_each_message` is non-zero.
/// Each message's output overwrites `out`. Returns the total bytes produced, or -1.
int64_t bench_zlib_inflate_messages(bench_zlib_stream *stream, const uint8_t *data,
                                    const size_t *offsets, size_t count, uint8_t *out,
                                    size_t out_capacity, int reset_each_message);

/// Compresses `count` messages in order (layout as above) with Z_SYNC_FLUSH and drops the
/// 00 00 FF FF tail of each (RFC 7692 §7.2.1). Each message's output overwrites `out`, and
/// the length of the last one is stored in `last_length`. Returns the total bytes produced, or -1.
int64_t bench_zlib_deflate_messages(bench_zlib_stream *stream, const uint8_t *data,
                                    const size_t *offsets, size_t count, uint8_t *out,
                                    size_t out_capacity, int reset_each_message,
                                    size_t *last_length);

#endif
