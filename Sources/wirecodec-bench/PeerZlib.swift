import CBenchZlib

/// zlib's defaults as permessage-deflate uses them: raw deflate, memLevel 8, default level.
enum ZlibSettings {
    static let level: Int32 = -1  // Z_DEFAULT_COMPRESSION (6)
    static let memoryLevel: Int32 = 8
}

/// Messages for a deflate workload, and their compressed payloads (as they travel in frames:
/// RFC 7692 §7.2.1, the 00 00 FF FF tail removed), made once by zlib itself.
struct DeflateInputs {
    var plain = JSONMessages.Batch()
    var compressed = JSONMessages.Batch()
    var contextTakeover: Bool
    var windowBits: Int32 = 15

    /// `count` distinct 1 KiB chat messages, compressed in order with context takeover.
    static func json1k(count: Int) -> DeflateInputs {
        var inputs = DeflateInputs(contextTakeover: true)
        for index in 0..<count { inputs.plain.append(JSONMessages.message(index: index, size: 1024)) }
        inputs.compressAll()
        return inputs
    }

    /// The 64 KiB document `count` times, each compressed on its own (no context takeover).
    static func json64k(count: Int) -> DeflateInputs {
        var inputs = DeflateInputs(contextTakeover: false)
        for _ in 0..<count { inputs.plain.append(JSONMessages.document64k) }
        inputs.compressAll()
        return inputs
    }

    mutating func compressAll() {
        let stream = bench_zlib_deflater_create(ZlibSettings.level, windowBits, ZlibSettings.memoryLevel)!
        defer { bench_zlib_stream_destroy(stream) }
        var out = [UInt8](repeating: 0, count: 2 * Swift.max(largestPlainMessage, JSONMessages.document64k.count) + 1024)
        for index in 0..<plain.count {
            let message = Array(plain.message(index))
            var length = 0
            let offsets = [0, message.count]
            let produced = bench_zlib_deflate_messages(
                stream, message, offsets, 1, &out, out.count, contextTakeover ? 0 : 1, &length)
            precondition(produced >= 0)
            compressed.append(Array(out[0..<length]))
        }
    }

    var largestPlainMessage: Int { (0..<plain.count).map { plain.message($0).count }.max() ?? 0 }
}

/// Raw zlib through the C loops of CBenchZlib: a fresh stream per call (as at the start of
/// a connection), then every message of the batch in order.
final class ZlibPeer {
    let inputs: DeflateInputs
    var out: [UInt8]
    var lastLength = 0

    init(_ inputs: DeflateInputs) {
        self.inputs = inputs
        out = [UInt8](repeating: 0, count: 2 * inputs.largestPlainMessage + 1024)
    }

    @inline(__always)
    func inflateAll() -> UInt64 {
        let stream = bench_zlib_inflater_create(inputs.windowBits)!
        let produced = inputs.compressed.bytes.withUnsafeBufferPointer { data in
            inputs.compressed.offsets.withUnsafeBufferPointer { offsets in
                bench_zlib_inflate_messages(
                    stream, data.baseAddress, offsets.baseAddress, inputs.compressed.count, &out, out.count,
                    inputs.contextTakeover ? 0 : 1)
            }
        }
        bench_zlib_stream_destroy(stream)
        precondition(produced >= 0, "inflate failed")
        return UInt64(produced)
    }

    @inline(__always)
    func deflateAll() -> UInt64 {
        let stream = bench_zlib_deflater_create(ZlibSettings.level, inputs.windowBits, ZlibSettings.memoryLevel)!
        let produced = inputs.plain.bytes.withUnsafeBufferPointer { data in
            inputs.plain.offsets.withUnsafeBufferPointer { offsets in
                bench_zlib_deflate_messages(
                    stream, data.baseAddress, offsets.baseAddress, inputs.plain.count, &out, out.count,
                    inputs.contextTakeover ? 0 : 1, &lastLength)
            }
        }
        bench_zlib_stream_destroy(stream)
        precondition(produced >= 0, "deflate failed")
        return UInt64(produced)
    }

    func inflateDigest() -> String {
        let total = inflateAll()
        let lastCount = inputs.plain.message(inputs.plain.count - 1).count
        return DeflateDigest(total: Int(total), last: SerializedDigest(out[0..<lastCount])).description
    }

    func deflateDigest() -> String {
        let total = deflateAll()
        return DeflateDigest(total: Int(total), last: SerializedDigest(out[0..<lastLength])).description
    }
}

/// What a (de)compressing subject produced over one call: total bytes, and the last message.
struct DeflateDigest: CustomStringConvertible {
    var total: Int
    var last: SerializedDigest
    var description: String { "total=\(total) last=\(last)" }
}
