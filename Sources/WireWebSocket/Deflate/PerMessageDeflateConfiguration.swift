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
