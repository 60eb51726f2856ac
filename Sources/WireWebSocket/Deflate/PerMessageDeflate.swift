public import WireCore
internal import CZlib

/// How the negotiated extension compresses (choices that are ours alone, not negotiated).
public struct PerMessageDeflateConfiguration: Sendable, Hashable {
    /// zlib compression level, 0...9 (or -1 for zlib's default, 6). Default 6.
    public var compressionLevel: Int
    /// zlib `memLevel`, 1...9: memory for the match finder (hash table and pending buffer,
    /// about `2^(memLevel+9)` bytes). Default 8, zlib's own default.
    public var memoryLevel: Int
    /// Messages shorter than this are sent uncompressed (RSV1 clear): deflate's block
    /// overhead rarely pays below it. Default 64 bytes.
    public var minimumSizeToCompress: Int
    /// Send a message uncompressed when deflate did not make it smaller (`compressMessage`
    /// only; the compressor is then reset, as the peer never sees what it absorbed).
    public var skipIncompressible: Bool
    /// With no context takeover on a side, free that side's zlib state after each message
    /// instead of keeping it for the next one (saves up to ~260 KiB per idle connection for
    /// the compressor at 15 bits, memLevel 8; costs one zlib init per message).
    public var releaseMemoryBetweenMessages: Bool

    public init(
        compressionLevel: Int = 6,
        memoryLevel: Int = 8,
        minimumSizeToCompress: Int = 64,
        skipIncompressible: Bool = true,
        releaseMemoryBetweenMessages: Bool = true
    ) {
        self.compressionLevel = compressionLevel
        self.memoryLevel = memoryLevel
        self.minimumSizeToCompress = minimumSizeToCompress
        self.skipIncompressible = skipIncompressible
        self.releaseMemoryBetweenMessages = releaseMemoryBetweenMessages
    }
}

/// The zlib memory one connection's extension holds, per direction.
public struct PerMessageDeflateMemory: Sendable, Hashable {
    public var compressor: ZlibMemory
    public var decompressor: ZlibMemory
    /// Bytes held right now by both streams.
    public var held: Int { compressor.held + decompressor.held }
}

extension WebSocketProtocolError.Code {
    /// A compressed message whose deflate data is invalid, or that does not end on a block
    /// boundary (RFC 7692 §7.2.2). Sent with 1007: the payload is inconsistent with its
    /// (compressed) type; see Spec/permessage-deflate.md for the choice.
    public static let invalidCompressedData = WebSocketProtocolError.Code(17, "invalid-compressed-data")
}

/// The negotiated permessage-deflate extension of one connection (RFC 7692 §6, §7.2): a
/// compressor for the messages we send and a decompressor for those we receive, configured
/// by the agreed parameters for our role. It owns two zlib streams and frees them in
/// `deinit`, hence `~Copyable`.
///
/// Sending: `compressMessage` for a whole message (the result is the payload of a message
/// whose first frame has RSV1 set, RFC 7692 §6.1), or `compress(_:fin:into:)` per fragment.
/// Receiving: `decompress(_:fin:limit:into:)` per fragment as frames arrive, with the
/// message size budget enforced while inflating.
public struct PerMessageDeflate: ~Copyable, Sendable {
    public let parameters: PerMessageDeflateParameters
    public let role: Role
    public let configuration: PerMessageDeflateConfiguration

    private var deflater: ZlibDeflater
    private var inflater: ZlibInflater
    private let sendResets: Bool
    private let receiveResets: Bool
    private var sending = false
    private var receiving = false
    /// Compressed bytes received so far in the current message.
    private var receivedInMessage = 0

    /// Sets up both directions for `role`. Fails with `.windowBits8Unsupported` when the
    /// parameters give our compressor an 8-bit window (our negotiation never agrees to that).
    public init(
        parameters: PerMessageDeflateParameters, role: Role,
        configuration: PerMessageDeflateConfiguration = .init()
    ) throws(PerMessageDeflateNegotiationError) {
        let range = PerMessageDeflateParameters.windowBitsRange
        guard range.contains(parameters.serverMaxWindowBits) else {
            throw .init(.invalidValue, parameter: PerMessageDeflateParameterName.serverMaxWindowBits)
        }
        guard range.contains(parameters.clientMaxWindowBits) else {
            throw .init(.invalidValue, parameter: PerMessageDeflateParameterName.clientMaxWindowBits)
        }
        let sendBits = parameters.sendWindowBits(as: role)
        guard sendBits >= 9 else {
            throw .init(.windowBits8Unsupported, parameter: role == .server
                ? PerMessageDeflateParameterName.serverMaxWindowBits : PerMessageDeflateParameterName.clientMaxWindowBits)
        }
        self.parameters = parameters
        self.role = role
        self.configuration = configuration
        deflater = ZlibDeflater(
            windowBits: sendBits,
            level: Swift.min(9, Swift.max(-1, configuration.compressionLevel)),
            memoryLevel: Swift.min(9, Swift.max(1, configuration.memoryLevel)))
        // The inflater always keeps a 15-bit window, whatever window the peer agreed to
        // compress with. zlib checks a match's distance against its window only when the match
        // reaches before the output of the current call, so with a smaller window a stream
        // whose matches reach too far would inflate or fail depending on how its bytes were
        // cut (found by the pmd-inflate fuzz target). With 15 bits every distance deflate can
        // express is judged against the history alone: the same stream gives the same result
        // under any split. It costs at most 28 KiB more than the peer's window, held only
        // while the context is taken over.
        inflater = ZlibInflater(windowBits: 15)
        sendResets = parameters.sendNoContextTakeover(as: role)
        receiveResets = parameters.receiveNoContextTakeover(as: role)
    }

    /// What zlib holds now for each direction.
    public var memory: PerMessageDeflateMemory {
        PerMessageDeflateMemory(compressor: deflater.memory, decompressor: inflater.memory)
    }

    // MARK: Sending

    /// Whether `compressMessage` would try to compress a message of `size` bytes.
    public func wouldCompress(size: Int) -> Bool { size >= configuration.minimumSizeToCompress }

    /// Compresses one whole message and appends the result to `out`: raw deflate, flushed
    /// with `Z_SYNC_FLUSH`, the trailing `00 00 ff ff` removed (RFC 7692 §7.2.1).
    ///
    /// Returns `false` and leaves `out` as it was when the message should go uncompressed
    /// (RSV1 clear): shorter than `minimumSizeToCompress`, or not made smaller when
    /// `skipIncompressible` is set.
    public mutating func compressMessage(_ payload: Span<UInt8>, into out: inout [UInt8]) -> Bool {
        precondition(!sending, "compressMessage while a fragmented message is being compressed")
        guard wouldCompress(size: payload.count) else { return false }
        let before = out.count
        compress(payload, fin: true, into: &out)
        if configuration.skipIncompressible && out.count &- before >= payload.count {
            out.removeSubrange(before...)
            // The peer never sees what the compressor just absorbed: forget it.
            if sendResets && configuration.releaseMemoryBetweenMessages { deflater.release() } else { deflater.reset() }
            return false
        }
        return true
    }

    /// Compresses one fragment of a message, appending what is ready to `out` (may be
    /// nothing before `fin`). The final call (`fin`) flushes and strips the trailer. Every
    /// fragment goes in a frame of the same message; only the first has RSV1 set.
    public mutating func compress(_ piece: Span<UInt8>, fin: Bool, into out: inout [UInt8]) {
        sending = !fin
        guard fin else {
            deflater.compress(piece, flush: Z_NO_FLUSH, into: &out)
            return
        }
        let before = out.count
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
        if sendResets {
            if configuration.releaseMemoryBetweenMessages { deflater.release() } else { deflater.reset() }
        }
    }

    // MARK: Receiving

    /// Inflates one fragment of a compressed message (the payload of a frame of a message
    /// whose first frame had RSV1), appending at most `limit` bytes to `out`; on the last
    /// fragment (`fin`) the `00 00 ff ff` trailer is appended first (RFC 7692 §7.2.2).
    /// Returns how many bytes were appended.
    ///
    /// `limit` is the room left in the message (its maximum size minus what it already has):
    /// zlib is never given more output space than that, so a decompression bomb stops with
    /// `messageTooLarge` (1009) after producing at most `limit` bytes. Invalid deflate data
    /// fails with `invalidCompressedData` (1007). `offset` is reported in errors (the
    /// stream offset of `piece`).
    public mutating func decompress(
        _ piece: Span<UInt8>, fin: Bool, limit: Int, into out: inout [UInt8], offset: Int = 0
    ) throws(WebSocketProtocolError) -> Int {
        if !receiving {
            inflater.beginMessage(keepingWindow: !receiveResets)
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
            case .corrupt: throw WebSocketProtocolError(.invalidCompressedData, closeCode: .invalidFramePayloadData, offset: offset)
            case .tooLarge: throw WebSocketProtocolError(.messageTooLarge, closeCode: .messageTooBig, offset: offset)
            }
        }
        if fin {
            receiving = false
            if receiveResets {
                if configuration.releaseMemoryBetweenMessages { inflater.release() } else { inflater.reset() }
            }
        }
        return produced
    }
}
