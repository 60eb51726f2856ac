internal import CZlib

// Owners of zlib streams for permessage-deflate (RFC 7692 §7.2).
//
// zlib keeps a pointer back to its `z_stream` inside its private state, so the stream must
// never move: each owner allocates it once on the heap (`wirecodec_zstream`, which also
// counts the bytes zlib allocates through it) and is `~Copyable`, so exactly one value owns
// it and `deinit` frees it. The zlib state itself is created lazily and can be released
// between messages (`release()`), which is how no-context-takeover connections avoid holding
// the window and hash tables while idle.

/// The four octets a sync flush ends with (an empty stored block, RFC 7692 §7.2.1).
@usableFromInline
let deflateSyncTrailer: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

/// How many bytes zlib holds for one stream, as counted by our allocation hooks.
package struct ZlibMemory: Sendable, Hashable {
    /// Bytes allocated by zlib for this stream right now.
    package var held: Int
    /// The most this stream's zlib state ever held at once.
    package var peak: Int
}

/// A raw-deflate compressor (negative window bits: no zlib header or trailer).
struct ZlibDeflater: ~Copyable, @unchecked Sendable {
    private let owner: UnsafeMutablePointer<wirecodec_zstream>
    private(set) var isLive = false
    /// Window bits handed to zlib (9...15: zlib cannot deflate raw with 8).
    let windowBits: Int32
    let level: Int32
    let memoryLevel: Int32
    static let syncFlush = Z_SYNC_FLUSH
    static let noFlush = Z_NO_FLUSH

    init(windowBits: Int, level: Int, memoryLevel: Int) {
        precondition((9...15).contains(windowBits), "zlib deflates raw streams with 9...15 window bits")
        precondition((-1...9).contains(level) && (1...9).contains(memoryLevel))
        self.windowBits = Int32(windowBits)
        self.level = Int32(level)
        self.memoryLevel = Int32(memoryLevel)
        owner = .allocate(capacity: 1)
        wirecodec_zstream_prepare(owner)
    }

    deinit {
        if isLive { deflateEnd(&owner.pointee.stream) }
        owner.deallocate()
    }

    /// The history kept while hibernating (the last `2^windowBits` bytes at most), restored
    /// as the dictionary of the next `start()`; `nil` when not hibernating.
    private(set) var hibernatedWindow: [UInt8]? = nil

    /// zlib's state plus a hibernated window.
    var memory: ZlibMemory {
        let window = hibernatedWindow?.capacity ?? 0
        return ZlibMemory(held: owner.pointee.held + window, peak: Swift.max(owner.pointee.peak, owner.pointee.held + window))
    }

    /// Creates the zlib state if it does not exist (first use, or after `release()` or
    /// `hibernate()`: then the kept window becomes the dictionary, so that what follows is
    /// compressed with the same history).
    mutating func start() {
        guard !isLive else { return }
        let rc = wirecodec_deflateInit2(&owner.pointee.stream, level, -windowBits, memoryLevel)
        precondition(rc == Z_OK, "deflateInit2 failed (\(rc)): out of memory")
        isLive = true
        if let window = hibernatedWindow {
            hibernatedWindow = nil
            guard !window.isEmpty else { return }
            // Raw deflate takes a dictionary before the first block (zlib manual: "before any
            // call of deflate").
            let rc = window.withUnsafeBufferPointer { buffer in
                deflateSetDictionary(&owner.pointee.stream, buffer.baseAddress, UInt32(buffer.count))
            }
            precondition(rc == Z_OK, "deflateSetDictionary failed (\(rc))")
        }
    }

    /// Forgets the history (no context takeover), keeping the allocated state.
    mutating func reset() {
        hibernatedWindow = nil
        if isLive { deflateReset(&owner.pointee.stream) }
    }

    /// Frees zlib's state; the next `compress` creates it again, without history.
    mutating func release() {
        hibernatedWindow = nil
        guard isLive else { return }
        deflateEnd(&owner.pointee.stream)
        isLive = false
    }

    /// Frees zlib's state but keeps its history: the last `2^windowBits` bytes it was given
    /// (`deflateGetDictionary`), which the next `start()` hands back as the dictionary. Call
    /// it only at a block boundary (after a `Z_SYNC_FLUSH`): the peer's inflater then holds
    /// the same window and reads what follows.
    mutating func hibernate() {
        guard isLive else { return }
        var window = [UInt8](repeating: 0, count: 1 << Int(windowBits))
        var length: UInt32 = 0
        let rc = window.withUnsafeMutableBufferPointer { buffer in
            deflateGetDictionary(&owner.pointee.stream, buffer.baseAddress, &length)
        }
        precondition(rc == Z_OK, "deflateGetDictionary failed (\(rc))")
        deflateEnd(&owner.pointee.stream)
        isLive = false
        hibernatedWindow = Array(window[..<Int(length)])
    }

    /// Compresses `input` and appends what zlib emits to `out`. With `Z_SYNC_FLUSH` the
    /// output ends on a byte boundary with `00 00 ff ff`; with `Z_NO_FLUSH` zlib may keep
    /// some of it pending.
    mutating func compress(_ input: Span<UInt8>, flush: Int32, into out: inout [UInt8]) {
        start()
        let stream = owner
        input.withUnsafeBufferPointer { source in
            var base = source.baseAddress
            var remaining = source.count
            repeat {
                // zlib counts in UInt32: feed very large inputs in slices.
                let slice = Swift.min(remaining, Int(UInt32.max >> 1))
                let sliceFlush = slice == remaining ? flush : Z_NO_FLUSH
                stream.pointee.stream.next_in = UnsafeMutablePointer(mutating: base)
                stream.pointee.stream.avail_in = UInt32(slice)
                // deflateBound-like first guess, so one pass usually suffices.
                var step = slice &+ (slice >> 10) &+ 64
                while true {
                    let room = Swift.max(out.capacity &- out.count, step)
                    var full = false
                    out.append(addingCapacity: room) { (span: inout OutputSpan<UInt8>) in
                        span.withUnsafeMutableBufferPointer { buffer, count in
                            let free = Swift.min(buffer.count &- count, Int(UInt32.max >> 1))
                            stream.pointee.stream.next_out = buffer.baseAddress! + count
                            stream.pointee.stream.avail_out = UInt32(free)
                            let rc = deflate(&stream.pointee.stream, sliceFlush)
                            precondition(rc == Z_OK || rc == Z_BUF_ERROR, "deflate failed (\(rc))")
                            count &+= free &- Int(stream.pointee.stream.avail_out)
                            full = stream.pointee.stream.avail_out == 0
                        }
                    }
                    if !full { break }
                    step = Swift.max(step, out.count)    // grow geometrically
                }
                base = base.map { $0 + slice }
                remaining &-= slice
            } while remaining > 0
            stream.pointee.stream.next_in = nil
        }
    }
}

/// Why inflating stopped short.
enum ZlibInflateFailure: Error, Hashable {
    /// zlib reported invalid deflate data (`Z_DATA_ERROR`), or the message did not end on a
    /// block boundary after the trailer was appended.
    case corrupt
    /// The output would exceed the caller's limit.
    case tooLarge
}

/// A raw-deflate decompressor that never produces more than a caller-given budget.
struct ZlibInflater: ~Copyable, @unchecked Sendable {
    private let owner: UnsafeMutablePointer<wirecodec_zstream>
    private(set) var isLive = false
    /// The peer's stream ended with a BFINAL block: the rest of that message is ignored and
    /// the next message starts a new stream (keeping the window as a dictionary when the
    /// context is taken over).
    private var streamEnded = false
    let windowBits: Int32

    init(windowBits: Int) {
        precondition((8...15).contains(windowBits), "zlib inflates raw streams with 8...15 window bits")
        self.windowBits = Int32(windowBits)
        owner = .allocate(capacity: 1)
        wirecodec_zstream_prepare(owner)
    }

    deinit {
        if isLive { inflateEnd(&owner.pointee.stream) }
        owner.deallocate()
    }

    /// The history kept while hibernating; `nil` when not hibernating.
    private(set) var hibernatedWindow: [UInt8]? = nil

    /// zlib's state plus a hibernated window.
    var memory: ZlibMemory {
        let window = hibernatedWindow?.capacity ?? 0
        return ZlibMemory(held: owner.pointee.held + window, peak: Swift.max(owner.pointee.peak, owner.pointee.held + window))
    }

    /// Creates the zlib state if it does not exist; after `hibernate()` the kept window is
    /// set as the dictionary (zlib allows it at any time on a raw stream).
    mutating func start() {
        guard !isLive else { return }
        let rc = wirecodec_inflateInit2(&owner.pointee.stream, -windowBits)
        precondition(rc == Z_OK, "inflateInit2 failed (\(rc)): out of memory")
        isLive = true
        streamEnded = false
        if let window = hibernatedWindow {
            hibernatedWindow = nil
            guard !window.isEmpty else { return }
            let rc = window.withUnsafeBufferPointer { buffer in
                inflateSetDictionary(&owner.pointee.stream, buffer.baseAddress, UInt32(buffer.count))
            }
            precondition(rc == Z_OK, "inflateSetDictionary failed (\(rc))")
        }
    }

    /// Forgets the history (no context takeover).
    mutating func reset() {
        hibernatedWindow = nil
        if isLive { inflateReset(&owner.pointee.stream) }
        streamEnded = false
    }

    mutating func release() {
        hibernatedWindow = nil
        guard isLive else { return }
        inflateEnd(&owner.pointee.stream)
        isLive = false
        streamEnded = false
    }

    /// Frees zlib's state but keeps the last `2^keptBits` bytes of output (the most the
    /// peer's matches can reach back: its window), restored by the next `start()`. Call it
    /// between messages only.
    mutating func hibernate(keepingBits keptBits: Int) {
        guard isLive else { return }
        var window = [UInt8](repeating: 0, count: 1 << Int(windowBits))
        var length: UInt32 = 0
        let rc = window.withUnsafeMutableBufferPointer { buffer in
            inflateGetDictionary(&owner.pointee.stream, buffer.baseAddress, &length)
        }
        precondition(rc == Z_OK, "inflateGetDictionary failed (\(rc))")
        inflateEnd(&owner.pointee.stream)
        isLive = false
        streamEnded = false
        let kept = Swift.min(Int(length), 1 << Swift.min(keptBits, Int(windowBits)))
        hibernatedWindow = Array(window[(Int(length) - kept)..<Int(length)])
    }

    /// Called at the start of each message: a stream that ended with BFINAL restarts,
    /// keeping its window as the dictionary of the next one.
    mutating func beginMessage(keepingWindow: Bool) {
        guard isLive, streamEnded else { return }
        streamEnded = false
        let stream = owner
        if keepingWindow {
            var window = [UInt8](repeating: 0, count: 1 << Int(windowBits))
            var length: UInt32 = 0
            window.withUnsafeMutableBufferPointer { buffer in
                _ = inflateGetDictionary(&stream.pointee.stream, buffer.baseAddress, &length)
                inflateReset(&stream.pointee.stream)
                _ = inflateSetDictionary(&stream.pointee.stream, buffer.baseAddress, length)
            }
        } else {
            inflateReset(&stream.pointee.stream)
        }
    }

    /// Inflates `input` (and, when `fin`, the sync trailer RFC 7692 §7.2.2 says to append),
    /// appending at most `limit` bytes to `out`. Returns the number of bytes appended.
    /// `limit` is enforced while inflating: zlib is never handed more room than the budget,
    /// so a bomb costs at most `limit` bytes of output and time proportional to it.
    mutating func decompress(
        _ input: Span<UInt8>, fin: Bool, limit: Int, into out: inout [UInt8]
    ) throws(ZlibInflateFailure) -> Int {
        start()
        let before = out.count
        var budget = Swift.max(0, limit)
        try input.withUnsafeBufferPointer { (source) throws(ZlibInflateFailure) in
            try feed(source, budget: &budget, into: &out)
        }
        if fin {
            try deflateSyncTrailer.withUnsafeBufferPointer { (source) throws(ZlibInflateFailure) in
                try feed(source, budget: &budget, into: &out)
            }
            // The trailer is an empty stored block: after it the inflater must be waiting
            // for the next block header (data_type bit 128), or the stream has ended. Anything
            // else means the message stopped inside a block.
            if !streamEnded && owner.pointee.stream.data_type & 128 == 0 {
                throw .corrupt
            }
        }
        return out.count &- before
    }

    private mutating func feed(
        _ source: UnsafeBufferPointer<UInt8>, budget: inout Int, into out: inout [UInt8]
    ) throws(ZlibInflateFailure) {
        if streamEnded { return }    // bytes after a BFINAL block are ignored (RFC 7692 §7.2.3.4)
        let stream = owner
        var base = source.baseAddress
        var remaining = source.count
        var step = Swift.max(4096, Swift.min(source.count &* 4, 1 << 20))
        while remaining > 0 {
            let slice = Swift.min(remaining, Int(UInt32.max >> 1))
            stream.pointee.stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.pointee.stream.avail_in = UInt32(slice)
            // Until zlib has taken all the input and did not fill the room it was given
            // (a full output buffer may mean more output is pending inside zlib).
            while true {
                var rc: Int32 = Z_OK
                var filled = false
                if budget == 0 {
                    // No room left: let zlib consume the rest into one spare byte. Any byte
                    // it produces means the message is over the limit.
                    var spare: UInt8 = 0
                    stream.pointee.stream.avail_out = 1
                    withUnsafeMutablePointer(to: &spare) { pointer in
                        stream.pointee.stream.next_out = pointer
                        rc = inflate(&stream.pointee.stream, Z_SYNC_FLUSH)
                    }
                    stream.pointee.stream.next_out = nil
                    if stream.pointee.stream.avail_out == 0 { throw .tooLarge }
                } else {
                    let room = Swift.min(Swift.max(out.capacity &- out.count, step), budget)
                    out.append(addingCapacity: room) { (span: inout OutputSpan<UInt8>) in
                        span.withUnsafeMutableBufferPointer { buffer, count in
                            let free = Swift.min(buffer.count &- count, budget, Int(UInt32.max >> 1))
                            stream.pointee.stream.next_out = buffer.baseAddress! + count
                            stream.pointee.stream.avail_out = UInt32(free)
                            rc = inflate(&stream.pointee.stream, Z_SYNC_FLUSH)
                            let produced = free &- Int(stream.pointee.stream.avail_out)
                            count &+= produced
                            budget &-= produced
                            filled = stream.pointee.stream.avail_out == 0
                        }
                    }
                    stream.pointee.stream.next_out = nil
                    step = Swift.max(step, out.count)    // grow geometrically
                }
                switch rc {
                case Z_OK, Z_BUF_ERROR:
                    break
                case Z_STREAM_END:
                    streamEnded = true
                    stream.pointee.stream.next_in = nil
                    stream.pointee.stream.avail_in = 0
                    return
                case Z_MEM_ERROR:
                    preconditionFailure("inflate: out of memory")
                default:    // Z_DATA_ERROR, Z_NEED_DICT (impossible for raw), Z_STREAM_ERROR
                    throw .corrupt
                }
                if !filled {
                    if stream.pointee.stream.avail_in == 0 { break }
                    // Room and input left, yet no progress: cannot happen with valid state.
                    if rc == Z_BUF_ERROR { throw .corrupt }
                }
            }
            base = base.map { $0 + slice }
            remaining &-= slice
        }
        stream.pointee.stream.next_in = nil
    }
}
