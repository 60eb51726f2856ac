import Synchronization
import WireCore

/// A data message prepared once to be sent on many connections (a broadcast): framed once per
/// class of negotiated parameters (``WebSocketFrameClass``) and, for connections whose
/// compressor resets after every message (`server_no_context_takeover`, RFC 7692 §7.1.1.1),
/// compressed once for all of them, so that every connection of a class writes the same bytes.
///
/// ```swift
/// let message = WebSocketPreparedMessage(text: json)
/// // for each connection:
/// if let frameClass = try connection.send(message) {
///     write(connection.takeOutbound())               // its own bytes first (a pong, say)
///     write(message.frames(for: frameClass))         // the same bytes for every connection of the class
/// } else {
///     write(connection.takeOutbound())               // encoded by the connection itself
/// }
/// ```
///
/// A connection encodes the message itself when its bytes cannot be shared: a client masks
/// every frame with a fresh key (RFC 6455 §5.3), and a compressor that takes over its context
/// compresses with the connection's own history (RFC 7692 §7.2.1).
///
/// Thread-safe: the frames of each class are made once, under a lock, by whichever connection
/// asks first.
public final class WebSocketPreparedMessage: Sendable {
    /// Text or binary.
    public let kind: WebSocketMessageKind
    /// The message's payload (UTF-8 for text).
    public let payload: [UInt8]

    private struct Forms: Sendable {
        var frames: [UInt8]
        var transport: (any Sendable)?
    }

    private let forms = Mutex<[WebSocketFrameClass: Forms]>([:])

    /// A text message.
    public init(text: String) {
        kind = .text
        payload = Array(text.utf8)
    }

    /// A binary message.
    public init(binary: [UInt8]) {
        kind = .binary
        payload = binary
    }

    /// The payload's length in bytes.
    public var payloadCount: Int { payload.count }

    /// The frames of the message as a connection of `frameClass` sends it (made at the first
    /// call for the class, then shared).
    public func frames(for frameClass: WebSocketFrameClass) -> [UInt8] {
        forms.withLock { forms in
            if let made = forms[frameClass] { return made.frames }
            let frames = frameClass.frames(of: self)
            forms[frameClass] = Forms(frames: frames)
            return frames
        }
    }

    /// A transport's own form of the frames of `frameClass` (a buffer type of its I/O
    /// library), made once by `make` from the frames and kept with the message, so that every
    /// connection of the class writes the same object.
    public func transportForm<Form: Sendable>(for frameClass: WebSocketFrameClass, _ make: ([UInt8]) -> Form) -> Form {
        forms.withLock { forms in
            var made = forms[frameClass] ?? Forms(frames: frameClass.frames(of: self))
            if let form = made.transport as? Form { return form }
            let form = make(made.frames)
            made.transport = form
            forms[frameClass] = made
            return form
        }
    }

    /// The classes whose frames were made so far (for tests and statistics).
    public var preparedClasses: Set<WebSocketFrameClass> {
        forms.withLock { Set($0.keys) }
    }
}

/// What decides the bytes of a prepared message on one connection: the largest frame
/// payload, and the compression when the message is compressed. Connections of one class send
/// the same bytes.
public struct WebSocketFrameClass: Sendable, Hashable, CustomStringConvertible {
    /// The largest payload of a frame (``WebSocketConfiguration/fragmentSize``).
    public let fragmentSize: Int
    /// The compression, or `nil` when the message goes uncompressed (no permessage-deflate,
    /// or a message the policy leaves uncompressed).
    let compression: Compression?

    /// A compressor that resets after every message, as its connection's own would be.
    struct Compression: Sendable, Hashable {
        var windowBits: Int
        var level: Int
        var memoryLevel: Int
        var skipIncompressible: Bool
    }

    /// Whether the frames are compressed (RSV1 on the first, RFC 7692 §6.1) — unless the
    /// compressor did not make this message smaller and its policy sends it plain.
    public var isCompressed: Bool { compression != nil }

    public var description: String {
        let frames = fragmentSize == .max ? "one frame" : "frames of \(fragmentSize)"
        guard let compression else { return "uncompressed, \(frames)" }
        return "deflate \(compression.windowBits) bits level \(compression.level) no context takeover, \(frames)"
    }

    /// The frames, as a server sender of this class writes them.
    func frames(of message: WebSocketPreparedMessage) -> [UInt8] {
        var configuration = WebSocketConfiguration(fragmentSize: fragmentSize)
        var parameters: PerMessageDeflateParameters?
        if let compression {
            parameters = PerMessageDeflateParameters(serverNoContextTakeover: true, serverMaxWindowBits: compression.windowBits)
            configuration.deflate = PerMessageDeflateConfiguration(
                compressionLevel: compression.level, memoryLevel: compression.memoryLevel, minimumSizeToCompress: 0,
                skipIncompressible: compression.skipIncompressible, releaseMemoryBetweenMessages: true)
        }
        var out: [UInt8] = []
        do {
            var sender = try WebSocketSender(role: .server, deflate: parameters, configuration: configuration)
            let payload = message.payload
            try sender.writeMessage(message.kind, payload.span, checkingText: false, into: &out)
        } catch {
            preconditionFailure("a prepared message's class is one a server sender has: \(error)")
        }
        return out
    }
}

extension WebSocketSender {
    /// The class of shared frames this sender would send `message` as, or `nil` when it must
    /// encode the message itself: a client (a fresh masking key per frame), or a compressor
    /// that takes over its context (its history is the connection's own).
    public func frameClass(for message: WebSocketPreparedMessage) -> WebSocketFrameClass? {
        guard role == .server else { return nil }
        guard let box = deflate, box.compressor.wouldCompress(size: message.payloadCount) else {
            return WebSocketFrameClass(fragmentSize: fragmentSize, compression: nil)
        }
        guard !box.compressor.takesOverContext else { return nil }
        let configuration = box.compressor.configuration
        return WebSocketFrameClass(
            fragmentSize: fragmentSize,
            compression: .init(
                windowBits: box.compressor.windowBits, level: Swift.min(9, Swift.max(-1, configuration.compressionLevel)),
                memoryLevel: Swift.min(9, Swift.max(1, configuration.memoryLevel)),
                skipIncompressible: configuration.skipIncompressible))
    }
}

extension WebSocketConnection {
    /// Sends a message prepared once for many connections. Returns the class of shared frames
    /// the caller writes right after this connection's own outbound bytes (take those first:
    /// ``takeOutbound()``), as ``WebSocketPreparedMessage/frames(for:)`` gives them; or `nil`
    /// when the connection encoded the message into its outbound buffer itself (a client, or a
    /// compressor that takes over its context).
    ///
    /// - Throws: ``WebSocketUsageError`` as ``sendMessage(_:_:)`` would (`not-open`,
    ///   `close-already-sent`, `connection-closed`, `message-in-progress`).
    public mutating func send(_ message: WebSocketPreparedMessage) throws(WebSocketUsageError) -> WebSocketFrameClass? {
        switch phase {
        case .open: break
        case .connecting: throw WebSocketUsageError(.notOpen)
        case .closing: throw WebSocketUsageError(.closeAlreadySent)
        case .closed: throw WebSocketUsageError(.connectionClosed)
        }
        guard !sender.isSendingMessage else { throw WebSocketUsageError(.messageInProgress) }
        if let frameClass = sender.frameClass(for: message) { return frameClass }
        let payload = message.payload
        try sender.writeMessage(message.kind, payload.span, checkingText: false, into: &outbound)
        return nil
    }
}
