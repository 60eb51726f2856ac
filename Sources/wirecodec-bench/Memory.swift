import CBenchZlib
import CNIOLLHTTP
import NIOCore
import NIOHTTP1

/// The `memory` section: bytes an idle connection's state holds (its inline size plus the
/// heap blocks it owns, as glibc's usable sizes), for the codec and for reference.
enum Memory {
    static func measure() -> [MemoryResult] {
        var results = CodecSubjects.memory()
        results.append(
            MemoryResult(
                subject: "llhttp", what: "parser state (llhttp_t), callbacks' records not counted",
                bytes: MemoryLayout<llhttp_t>.size))
        let nioDecoder = Harness.heapBytesHeld { hold in
            let handler = ByteToMessageHandler(HTTPRequestDecoder())
            hold()
            withExtendedLifetime(handler) {}
        }
        results.append(
            MemoryResult(
                subject: "NIOHTTP1", what: "HTTPRequestDecoder in a ByteToMessageHandler, before its first byte",
                bytes: nioDecoder))
        for bits: Int32 in [15, 12, 9] {
            let bytes = Harness.heapBytesHeld { hold in
                let inflater = bench_zlib_inflater_create(bits)
                let deflater = bench_zlib_deflater_create(ZlibSettings.level, bits, ZlibSettings.memoryLevel)
                hold()
                bench_zlib_stream_destroy(inflater)
                bench_zlib_stream_destroy(deflater)
            }
            results.append(
                MemoryResult(
                    subject: "zlib", what: "one inflate and one deflate stream, window \(bits) bits, memLevel 8",
                    bytes: bytes))
        }
        return results
    }
}
