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
    /// With context takeover on a side, when that side's zlib state is freed, keeping only
    /// the last window of bytes (at most `2^windowBits`) to restore it with
    /// `deflateSetDictionary`/`inflateSetDictionary` when traffic resumes. Default
    /// ``PerMessageDeflateHibernation/never``.
    public var hibernation: PerMessageDeflateHibernation

    public init(
        compressionLevel: Int = 6,
        memoryLevel: Int = 8,
        minimumSizeToCompress: Int = 64,
        skipIncompressible: Bool = true,
        releaseMemoryBetweenMessages: Bool = true,
        hibernation: PerMessageDeflateHibernation = .never
    ) {
        self.compressionLevel = compressionLevel
        self.memoryLevel = memoryLevel
        self.minimumSizeToCompress = minimumSizeToCompress
        self.skipIncompressible = skipIncompressible
        self.releaseMemoryBetweenMessages = releaseMemoryBetweenMessages
        self.hibernation = hibernation
    }
}

/// When a context-takeover zlib stream is put to sleep: its state (about 260 KiB for a
/// compressor at 15 bits and memLevel 8, 44 KiB for an inflater) freed, the last window of
/// bytes kept (32 KiB at 15 bits, 2^bits in general), and the state rebuilt from that window
/// when the next message comes. The bytes on the wire do not change: the peer's inflater
/// holds the same window (RFC 7692 §7.2.1 flushes end every message on a block boundary,
/// where zlib takes a dictionary on a raw stream). It costs a zlib init and a dictionary
/// load (hashing up to 32 KiB) per wake-up.
public struct PerMessageDeflateHibernation: Sendable, Hashable, CustomStringConvertible {
    enum Base: Sendable, Hashable {
        case never
        case afterEveryMessage
        case afterIdle(Duration)
    }

    let base: Base

    /// The streams stay live (the fastest; the most memory per idle connection).
    public static let never = Self(base: .never)
    /// After each message (sent, for the compressor; received, for the inflater): the least
    /// memory, a wake-up per message. Also what tests use to force it.
    public static let afterEveryMessage = Self(base: .afterEveryMessage)
    /// When a side has been idle for `duration` (noticed by ``WebSocketConnection/tick(now:)``):
    /// busy connections stay live, idle ones shrink.
    public static func afterIdle(_ duration: Duration) -> Self { Self(base: .afterIdle(duration)) }

    public var description: String {
        switch base {
        case .never: "never"
        case .afterEveryMessage: "after-every-message"
        case .afterIdle(let duration): "after-idle-\(duration)"
        }
    }

    var idleDuration: Duration? {
        if case .afterIdle(let duration) = base { return duration }
        return nil
    }
}
