import Testing
import TestSupport
@testable import WireHTTP1

/// Hostile peers: inputs built to make a parser use unbounded memory or never finish. Each
/// must end in a typed error (with its status) while the parser's own storage stays within a
/// constant factor of the configured limits, however the bytes are cut (Spec/fuzzing.md).
@Suite struct HTTP1HostileInputTests {
    /// What feeding a stream did: the error, the body bytes delivered, and the most memory
    /// the parser held at any point (head, trailer, extension and line buffers).
    struct Outcome {
        var error: HTTP1ParseError?
        var bodyBytes = 0
        var heads = 0
        var peakStorage = 0
        var bytesFed = 0
    }

    /// Feeds `next()` pieces (until it returns nil, an error, or `maxBytes`) to a parser.
    static func feed(
        _ kind: HTTP1MessageKind, configuration: HTTP1ParserConfiguration = .init(), maxBytes: Int,
        _ next: (Int) -> [UInt8]?
    ) -> Outcome {
        var parser = HTTP1Parser(parsing: kind, configuration: configuration)
        var outcome = Outcome()
        var round = 0
        while outcome.bytesFed < maxBytes, let piece = next(round) {
            round += 1
            outcome.bytesFed += piece.count
            var offset = 0
            do throws(HTTP1ParseError) {
                while true {
                    let step = try piece.withUnsafeBufferPointer { (buffer) throws(HTTP1ParseError) -> HTTP1ParseStep in
                        try parser.parse(UnsafeBufferPointer(rebasing: buffer[offset...]))
                    }
                    offset += step.consumed
                    guard let event = step.event else { break }
                    switch event {
                    case .body(let range): outcome.bodyBytes += range.count
                    case .requestHead, .responseHead: outcome.heads += 1
                    default: break
                    }
                }
            } catch {
                outcome.error = error
            }
            let held = parser.storage.byteCapacity + (parser.trailerStorage?.byteCapacity ?? 0)
                + (parser.extensionStorage?.byteCapacity ?? 0) + (parser.lineBuffer?.byteCapacity ?? 0)
            outcome.peakStorage = Swift.max(outcome.peakStorage, held)
            if outcome.error != nil { break }
        }
        return outcome
    }

    static let limits = HTTP1Limits()

    /// A header flood: field lines without end, in pieces of every size from 1 to 4096 bytes.
    @Test(arguments: [1, 7, 512, 4096])
    func headerFloodStopsAtTheFieldCount(pieceSize: Int) {
        let head = Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8)
        let line = Array("X-Flood: 1\r\n".utf8)
        var stream = head
        let outcome = Self.feed(.request, maxBytes: 1 << 22) { _ in
            while stream.count < pieceSize { stream += line }
            defer { stream.removeFirst(pieceSize) }
            return Array(stream.prefix(pieceSize))
        }
        #expect(outcome.error?.code == .tooManyHeaders)
        #expect(outcome.error?.statusHint == 431)
        #expect(outcome.heads == 0)
        #expect(outcome.bytesFed < 256 * line.count + head.count + 2 * pieceSize)
        #expect(outcome.peakStorage <= 2 * Self.limits.maxHeaderSectionBytes)
    }

    /// One field value that never ends (no line break): the header section limit, not the
    /// field count, stops it, and the storage never holds more than twice that limit.
    @Test(arguments: [1, 1000, 65536])
    func endlessFieldValueStopsAtTheSectionLimit(pieceSize: Int) {
        var first = true
        let outcome = Self.feed(.request, maxBytes: 1 << 22) { _ in
            defer { first = false }
            return first ? Array("GET / HTTP/1.1\r\nX-Long: ".utf8) : [UInt8](repeating: 0x61, count: pieceSize)
        }
        #expect(outcome.error?.code == .headerTooLarge)
        #expect(outcome.error?.statusHint == 431)
        #expect(outcome.bytesFed <= Self.limits.maxHeaderSectionBytes + pieceSize + 32)
        #expect(outcome.peakStorage <= 2 * Self.limits.maxHeaderSectionBytes)
    }

    /// A slow peer sending a large, valid head one byte per read (the slowloris pattern):
    /// it parses, and partial lines cost no more storage than the head itself needs.
    @Test func slowByteAtATimeHead() {
        var head = Array("POST /upload HTTP/1.1\r\nHost: example.com\r\n".utf8)
        for i in 0..<200 { head += Array("X-Field-\(i): \(String(repeating: "v", count: 300))\r\n".utf8) }
        head += Array("Content-Length: 0\r\n\r\n".utf8)
        #expect(head.count < Self.limits.maxHeaderSectionBytes)
        var index = 0
        let outcome = Self.feed(.request, maxBytes: head.count) { _ in
            defer { index += 1 }
            return index < head.count ? [head[index]] : nil
        }
        #expect(outcome.error == nil)
        #expect(outcome.heads == 1)
        #expect(outcome.peakStorage <= 2 * head.count + 2048)
        // Over the limit, one byte at a time: the same typed error as in one piece.
        var big = Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8)
        while big.count <= Self.limits.maxHeaderSectionBytes { big += Array("X-Pad: \(String(repeating: "p", count: 1000))\r\n".utf8) }
        index = 0
        let slow = Self.feed(.request, maxBytes: big.count) { _ in
            defer { index += 1 }
            return index < big.count ? [big[index]] : nil
        }
        #expect(slow.error?.code == .headerTooLarge)
        #expect(slow.peakStorage <= 2 * Self.limits.maxHeaderSectionBytes)
    }

    /// A body that never ends: chunks without a last chunk, a response read until close, a
    /// Content-Length beyond the limit. With `maxBodyBytes` set each stops at the limit with
    /// 413; the parser buffers none of it (its storage does not grow with the body).
    @Test func endlessBodiesStopAtTheBodyLimit() {
        let configuration = HTTP1ParserConfiguration(limits: HTTP1Limits(maxBodyBytes: 1 << 20))
        let chunk = Array("1000\r\n".utf8) + [UInt8](repeating: 0x62, count: 0x1000) + Array("\r\n".utf8)
        var first = true
        let chunked = Self.feed(.request, configuration: configuration, maxBytes: 1 << 24) { _ in
            defer { first = false }
            return first ? Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8) : chunk
        }
        #expect(chunked.error?.code == .bodyTooLarge)
        #expect(chunked.error?.statusHint == 413)
        #expect(chunked.bodyBytes <= 1 << 20)
        #expect(chunked.peakStorage <= 4096)

        first = true
        let untilClose = Self.feed(.response, configuration: configuration, maxBytes: 1 << 24) { _ in
            defer { first = false }
            return first ? Array("HTTP/1.1 200 OK\r\n\r\n".utf8) : [UInt8](repeating: 0x62, count: 65536)
        }
        #expect(untilClose.error?.code == .bodyTooLarge)
        #expect(untilClose.bodyBytes == 1 << 20)
        #expect(untilClose.peakStorage <= 4096)

        let declared = Self.feed(.request, configuration: configuration, maxBytes: 1 << 20) { round in
            round == 0 ? Array("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999\r\n\r\n".utf8) : nil
        }
        #expect(declared.error?.code == .bodyTooLarge)
        #expect(declared.bodyBytes == 0)
    }

    /// Without a body limit (the default: the parser never buffers a body) a body that never
    /// ends streams through in constant memory.
    @Test func endlessBodyWithoutALimitStreamsInConstantMemory() {
        var first = true
        let outcome = Self.feed(.response, maxBytes: 1 << 24) { _ in
            defer { first = false }
            return first ? Array("HTTP/1.1 200 OK\r\n\r\n".utf8) : [UInt8](repeating: 0x62, count: 65536)
        }
        #expect(outcome.error == nil)
        #expect(outcome.bodyBytes >= (1 << 24) - 65536)
        #expect(outcome.peakStorage <= 4096)
    }

    /// A chunk size of many hex digits: leading zeros without end fill the chunk line's
    /// budget and fail with `chunk-extension-too-large`; seventeen significant digits
    /// overflow with `chunk-size-overflow`. Byte at a time or at once, the same error, and
    /// the line buffer stays within the budget.
    @Test(arguments: [1, 3, 4096])
    func chunkSizeOfManyHexDigits(pieceSize: Int) {
        let head = Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        var stream = head
        let zeros = Self.feed(.request, maxBytes: 1 << 20) { _ in
            while stream.count < pieceSize { stream += [UInt8](repeating: 0x30, count: 1024) }
            defer { stream.removeFirst(pieceSize) }
            return Array(stream.prefix(pieceSize))
        }
        #expect(zeros.error?.code == .chunkExtensionTooLarge)
        #expect(zeros.bytesFed <= head.count + Self.limits.maxChunkExtensionBytes + 18 + 2 * pieceSize)
        #expect(zeros.peakStorage <= 4 * (Self.limits.maxChunkExtensionBytes + 18) + 2048)

        let overflow = head + Array("1FFFFFFFFFFFFFFFF\r\n".utf8)
        var index = 0
        let digits = Self.feed(.request, maxBytes: overflow.count) { _ in
            defer { index += pieceSize }
            return index < overflow.count ? Array(overflow[index..<Swift.min(overflow.count, index + pieceSize)]) : nil
        }
        #expect(digits.error?.code == .chunkSizeOverflow)
        #expect(digits.error?.statusHint == 400)
    }

    /// A trailer section that never ends stops at its own limit (431).
    @Test func trailerFlood() {
        var first = true
        let outcome = Self.feed(.request, maxBytes: 1 << 22) { _ in
            defer { first = false }
            return first ? Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".utf8)
                         : Array("X-Trailer: t\r\n".utf8)
        }
        #expect(outcome.error?.code == .trailerTooLarge || outcome.error?.code == .tooManyHeaders)
        #expect(outcome.error?.statusHint == 431)
        #expect(outcome.peakStorage <= 2 * Self.limits.maxHeaderSectionBytes)
    }
}
