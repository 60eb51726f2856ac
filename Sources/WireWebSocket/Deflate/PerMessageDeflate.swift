package import WireCore
internal import CZlib

// The negotiated permessage-deflate extension (RFC 7692 §6, §7.2), kept apart from its
// negotiation (PerMessageDeflateNegotiation.swift) and split by direction: the send pipeline
// owns a compressor, the receive pipeline a decompressor. Each owns one zlib stream and frees
// it in `deinit`, hence `~Copyable`.

/// The zlib memory held per direction.
package struct PerMessageDeflateMemory: Sendable, Hashable {
    package var compressor: ZlibMemory
    package var decompressor: ZlibMemory
    /// Bytes held right now by both streams.
    package var held: Int { compressor.held + decompressor.held }
}

/// The agreed parameters checked: window bits in 8...15 (RFC 7692 §7.1.2).
func checkDeflateParameters(_ parameters: PerMessageDeflateParameters) throws(PerMessageDeflateNegotiationError) {
    let range = PerMessageDeflateParameters.windowBitsRange
    guard range.contains(parameters.serverMaxWindowBits) else {
        throw .init(.invalidValue, parameter: PerMessageDeflateParameterName.serverMaxWindowBits)
    }
    guard range.contains(parameters.clientMaxWindowBits) else {
        throw .init(.invalidValue, parameter: PerMessageDeflateParameterName.clientMaxWindowBits)
    }
}

/// The agreed parameters checked for our compressor in `role`: fails with
/// `.windowBits8Unsupported` when they give it an 8-bit window (zlib cannot deflate raw with
/// 8; our negotiation never agrees to it, while peers that compress with 8 are inflated).
func checkCompressorParameters(_ parameters: PerMessageDeflateParameters, role: Role) throws(PerMessageDeflateNegotiationError) {
    try checkDeflateParameters(parameters)
    guard parameters.sendWindowBits(as: role) >= 9 else {
        throw .init(.windowBits8Unsupported, parameter: role == .server
            ? PerMessageDeflateParameterName.serverMaxWindowBits : PerMessageDeflateParameterName.clientMaxWindowBits)
    }
}

/// The sending half: compresses the messages we send (RFC 7692 §7.2.1).
///
/// `compressMessage` for a whole message (the result is the payload of a message whose first
/// frame has RSV1 set, §6.1), or `compress(_:fin:into:)` per fragment.
package struct PerMessageDeflateCompressor: ~Copyable, Sendable {
    package let configuration: PerMessageDeflateConfiguration
    private var deflater: ZlibDeflater
    private let resets: Bool
    private var sending = false
    /// Messages compressed so far (idle hibernation watches it).
    package private(set) var messageCount: UInt64 = 0

    package init(
        parameters: PerMessageDeflateParameters, role: Role, configuration: PerMessageDeflateConfiguration = .init()
    ) throws(PerMessageDeflateNegotiationError) {
        try checkCompressorParameters(parameters, role: role)
        self.configuration = configuration
        deflater = ZlibDeflater(
            windowBits: parameters.sendWindowBits(as: role),
            level: Swift.min(9, Swift.max(-1, configuration.compressionLevel)),
            memoryLevel: Swift.min(9, Swift.max(1, configuration.memoryLevel)))
        resets = parameters.sendNoContextTakeover(as: role)
    }

    package var memory: ZlibMemory { deflater.memory }

    /// The window our compressor uses (9...15).
    package var windowBits: Int { Int(deflater.windowBits) }

    /// Whether each message is compressed with what the ones before it left in the window
    /// (no `*_no_context_takeover` for our side): then its bytes depend on the connection's
    /// history and cannot be prepared once for many connections.
    package var takesOverContext: Bool { !resets }

    /// Whether `compressMessage` would try to compress a message of `size` bytes.
    package func wouldCompress(size: Int) -> Bool { size >= configuration.minimumSizeToCompress }

    /// Compresses one whole message and appends the result to `out`: raw deflate, flushed
    /// with `Z_SYNC_FLUSH`, the trailing `00 00 ff ff` removed (RFC 7692 §7.2.1).
    ///
    /// Returns `false` and leaves `out` as it was when the message should go uncompressed
    /// (RSV1 clear): shorter than `minimumSizeToCompress`, or not made smaller when
    /// `skipIncompressible` is set.
    package mutating func compressMessage(_ payload: Span<UInt8>, into out: inout [UInt8]) -> Bool {
        precondition(!sending, "compressMessage while a fragmented message is being compressed")
        guard wouldCompress(size: payload.count) else { return false }
        let before = out.count
        compress(payload, fin: true, into: &out)
        if configuration.skipIncompressible && out.count &- before >= payload.count {
            out.removeSubrange(before...)
            // The peer never sees what the compressor just absorbed: forget it.
            if resets && configuration.releaseMemoryBetweenMessages { deflater.release() } else { deflater.reset() }
            return false
        }
        return true
    }

    /// Compresses one fragment of a message, appending what is ready to `out` (may be
    /// nothing before `fin`). The final call (`fin`) flushes and strips the trailer. Every
    /// fragment goes in a frame of the same message; only the first has RSV1 set.
    package mutating func compress(_ piece: Span<UInt8>, fin: Bool, into out: inout [UInt8]) {
        sending = !fin
        guard fin else {
            deflater.compress(piece, flush: Z_NO_FLUSH, into: &out)
            return
        }
        let before = out.count
        messageCount &+= 1
        deflater.compress(piece, flush: Z_SYNC_FLUSH, into: &out)
        if out.count &- before >= 4 {
            out.removeLast(4)
        } else {
            // zlib emits nothing for a sync flush right after another with no input in
            // between (an empty message with context taken over). Write the empty stored
            // block ourselves: `00 00 00 ff ff` without its trailer.
            precondition(out.count == before, "a sync flush ends with 00 00 ff ff")
            out.append(0x00)
        }
        if resets {
            if configuration.releaseMemoryBetweenMessages { deflater.release() } else { deflater.reset() }
        } else if configuration.hibernation == .afterEveryMessage {
            deflater.hibernate()
        }
    }

    /// Whether the compressor is between messages with its zlib state live and a history
    /// worth keeping (what ``hibernate()`` would shrink).
    package var canHibernate: Bool { !sending && !resets && deflater.isLive }

    /// Whether the state is freed, its window kept.
    package var isHibernating: Bool { deflater.hibernatedWindow != nil }

    /// Frees zlib's state between messages, keeping the window (context takeover) to restore
    /// it at the next message; a compressor without context takeover just frees it. No-op
    /// mid-message.
    package mutating func hibernate() {
        guard !sending else { return }
        if resets { deflater.release() } else { deflater.hibernate() }
    }
}

/// The receiving half: inflates the compressed messages we receive (RFC 7692 §7.2.2), within
/// the budget the message layer gives it.
package struct PerMessageDeflateDecompressor: ~Copyable, Sendable {
    private var inflater: ZlibInflater
    private let resets: Bool
    private let releasesMemory: Bool
    private let hibernation: PerMessageDeflateHibernation
    /// The window the peer compresses with: what a hibernating inflater keeps.
    private let peerWindowBits: Int
    private var receiving = false
    /// Messages inflated so far (idle hibernation watches it).
    package private(set) var messageCount: UInt64 = 0
    /// Compressed bytes received so far in the current message.
    private var receivedInMessage = 0

    package init(
        parameters: PerMessageDeflateParameters, role: Role, configuration: PerMessageDeflateConfiguration = .init()
    ) throws(PerMessageDeflateNegotiationError) {
        try checkDeflateParameters(parameters)
        // The inflater always keeps a 15-bit window, whatever window the peer agreed to
        // compress with. zlib checks a match's distance against its window only when the match
        // reaches before the output of the current call, so with a smaller window a stream
        // whose matches reach too far would inflate or fail depending on how its bytes were
        // cut (found by the pmd-inflate fuzz target). With 15 bits every distance deflate can
        // express is judged against the history alone: the same stream gives the same result
        // under any split. It costs at most 28 KiB more than the peer's window, held only
        // while the context is taken over.
        inflater = ZlibInflater(windowBits: 15)
        resets = parameters.receiveNoContextTakeover(as: role)
        releasesMemory = configuration.releaseMemoryBetweenMessages
        hibernation = configuration.hibernation
        peerWindowBits = parameters.receiveWindowBits(as: role)
    }

    package var memory: ZlibMemory { inflater.memory }

    /// Inflates one fragment of a compressed message (the payload of a frame of a message
    /// whose first frame had RSV1), appending at most `limit` bytes to `out`; on the last
    /// fragment (`fin`) the `00 00 ff ff` trailer is appended first (RFC 7692 §7.2.2).
    /// Returns how many bytes were appended.
    ///
    /// `limit` is the room left in the message (``WebSocketMessageAssembler/messageRoom``):
    /// zlib is never given more output space than that, so a decompression bomb stops with
    /// `message-too-large` (1009) after producing at most `limit` bytes; what was produced
    /// before an error is in `out`. Invalid deflate data fails with `invalid-compressed-data`
    /// (1007). `offset` is reported in errors.
    package mutating func decompress(
        _ piece: Span<UInt8>, fin: Bool, limit: Int, into out: inout [UInt8], offset: Int = 0
    ) throws(WebSocketProtocolError) -> Int {
        if !receiving {
            inflater.beginMessage(keepingWindow: !resets)
            receiving = true
            receivedInMessage = 0
        }
        receivedInMessage &+= piece.count
        let produced: Int
        do {
            // A compressed message with no payload bytes at all is taken as the empty
            // message (appending the trailer alone would leave a stored block unfinished).
            let appendTrailer = fin && receivedInMessage > 0
            produced = try inflater.decompress(piece, fin: appendTrailer, limit: limit, into: &out)
        } catch {
            receiving = false
            inflater.release()    // the connection fails; drop the state now
            switch error {
            case .corrupt: throw WebSocketProtocolError(.invalidCompressedData, offset: offset)
            case .tooLarge: throw WebSocketProtocolError(.messageTooLarge, offset: offset)
            }
        }
        if fin {
            receiving = false
            messageCount &+= 1
            if resets {
                if releasesMemory { inflater.release() } else { inflater.reset() }
            } else if hibernation == .afterEveryMessage {
                inflater.hibernate(keepingBits: Swift.max(9, peerWindowBits))
            }
        }
        return produced
    }

    /// Whether the inflater is between messages with its zlib state live and a history worth
    /// keeping.
    package var canHibernate: Bool { !receiving && !resets && inflater.isLive }

    /// Whether the state is freed, its window kept.
    package var isHibernating: Bool { inflater.hibernatedWindow != nil }

    /// Frees zlib's state between messages, keeping the last `2^peerWindowBits` bytes
    /// (context takeover; the peer's matches reach no further); without context takeover
    /// just frees it. No-op mid-message.
    package mutating func hibernate() {
        guard !receiving else { return }
        if resets { inflater.release() } else { inflater.hibernate(keepingBits: Swift.max(9, peerWindowBits)) }
    }
}

/// Both halves for one role: what a connection negotiated, in one value (the benchmark and the
/// tests drive the extension alone with it).
package struct PerMessageDeflate: ~Copyable, Sendable {
    package let parameters: PerMessageDeflateParameters
    package let role: Role
    package var compressor: PerMessageDeflateCompressor
    package var decompressor: PerMessageDeflateDecompressor

    package init(
        parameters: PerMessageDeflateParameters, role: Role, configuration: PerMessageDeflateConfiguration = .init()
    ) throws(PerMessageDeflateNegotiationError) {
        let compressor = try PerMessageDeflateCompressor(parameters: parameters, role: role, configuration: configuration)
        let decompressor = try PerMessageDeflateDecompressor(parameters: parameters, role: role, configuration: configuration)
        self.parameters = parameters
        self.role = role
        self.compressor = compressor
        self.decompressor = decompressor
    }

    package var configuration: PerMessageDeflateConfiguration { compressor.configuration }

    package var memory: PerMessageDeflateMemory {
        PerMessageDeflateMemory(compressor: compressor.memory, decompressor: decompressor.memory)
    }

    package func wouldCompress(size: Int) -> Bool { compressor.wouldCompress(size: size) }

    package mutating func compressMessage(_ payload: Span<UInt8>, into out: inout [UInt8]) -> Bool {
        compressor.compressMessage(payload, into: &out)
    }

    package mutating func compress(_ piece: Span<UInt8>, fin: Bool, into out: inout [UInt8]) {
        compressor.compress(piece, fin: fin, into: &out)
    }

    package mutating func decompress(
        _ piece: Span<UInt8>, fin: Bool, limit: Int, into out: inout [UInt8], offset: Int = 0
    ) throws(WebSocketProtocolError) -> Int {
        try decompressor.decompress(piece, fin: fin, limit: limit, into: &out, offset: offset)
    }
}
