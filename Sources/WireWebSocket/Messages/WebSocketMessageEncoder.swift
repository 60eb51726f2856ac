public import WireCore

/// The send path of a WebSocket connection: message → optional permessage-deflate
/// compression → RSV1 on the first frame only → fragmenting serializer (RFC 6455 §5.4,
/// RFC 7692 §6.1).
///
/// Whether a message is compressed is the configuration's per-message policy (small or
/// incompressible messages go uncompressed, RSV1 clear). The compressed bytes go through one
/// reused buffer, so a steady stream of messages allocates nothing after warm-up (beyond
/// growing `out`).
///
/// `~Copyable` because it owns the zlib state of the connection's compressor.
public struct WebSocketMessageEncoder<Random: RandomNumberGenerator & Sendable>: ~Copyable, Sendable {
    /// The frame writer (our role's masking), also for control frames.
    public var serializer: WebSocketFrameSerializer<Random>
    /// Data frames carry at most this many payload bytes (`Int.max`: one frame per message).
    public var fragmentSize: Int

    /// Present in both cases (its zlib state is created on first use only).
    private var deflate: PerMessageDeflate
    private let deflateEnabled: Bool
    private var compressed: [UInt8] = []

    /// - Parameters:
    ///   - deflate: the agreed permessage-deflate parameters, or `nil` when not negotiated.
    ///   - deflateConfiguration: compression level, memory level and the per-message policy.
    public init(
        role: Role, random: Random,
        deflate: PerMessageDeflateParameters? = nil,
        deflateConfiguration: PerMessageDeflateConfiguration = .init(),
        fragmentSize: Int = .max
    ) throws(PerMessageDeflateNegotiationError) {
        precondition(fragmentSize >= 1, "fragmentSize must be at least 1")
        serializer = WebSocketFrameSerializer(role: role, random: random)
        self.fragmentSize = fragmentSize
        deflateEnabled = deflate != nil
        self.deflate = try PerMessageDeflate(parameters: deflate ?? .init(), role: role, configuration: deflateConfiguration)
    }

    /// The zlib memory held (the compressor's; zero without permessage-deflate).
    public var deflateMemory: PerMessageDeflateMemory { deflate.memory }

    /// Appends a text or binary message as frames. Returns whether it was compressed.
    @discardableResult
    public mutating func writeMessage(
        _ kind: WebSocketMessageKind, payload: Span<UInt8>, into out: inout [UInt8]
    ) -> Bool {
        let opcode: WebSocketOpcode = kind == .text ? .text : .binary
        var didCompress = false
        if deflateEnabled {
            compressed.removeAll(keepingCapacity: true)
            didCompress = deflate.compressMessage(payload, into: &compressed)
        }
        do throws(WebSocketUsageError) {
            if didCompress {
                let bytes = compressed
                try serializer.writeMessage(opcode: opcode, reserved: .rsv1, payload: bytes.span, fragmentSize: fragmentSize, into: &out)
            } else {
                try serializer.writeMessage(opcode: opcode, payload: payload, fragmentSize: fragmentSize, into: &out)
            }
        } catch {
            preconditionFailure("fragmentSize was checked: \(error)")
        }
        return didCompress
    }

    /// Appends a ping, pong or close frame (never compressed, RFC 7692 §6.1).
    public mutating func writeControl(
        _ opcode: WebSocketOpcode, payload: Span<UInt8>, into out: inout [UInt8]
    ) throws(WebSocketUsageError) {
        precondition(opcode.isControl, "writeControl takes ping, pong or close")
        try serializer.writeFrame(opcode: opcode, payload: payload, into: &out)
    }
}

extension WebSocketMessageEncoder where Random == SystemRandomNumberGenerator {
    /// An encoder drawing masking keys (clients) from the system's secure generator.
    public init(
        role: Role,
        deflate: PerMessageDeflateParameters? = nil,
        deflateConfiguration: PerMessageDeflateConfiguration = .init(),
        fragmentSize: Int = .max
    ) throws(PerMessageDeflateNegotiationError) {
        try self.init(role: role, random: SystemRandomNumberGenerator(), deflate: deflate,
                      deflateConfiguration: deflateConfiguration, fragmentSize: fragmentSize)
    }
}
