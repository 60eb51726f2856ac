public import NIOCore
import WireHTTP1

/// Body bytes prepared once for many responses: one Server-Sent Event for every event stream,
/// one answer for every held long poll. Both wire forms are made once, each one `ByteBuffer`
/// that every connection writes as is (the buffer is shared, not copied): the bytes as they
/// are (Content-Length and read-until-close bodies) and the same bytes as one chunk (chunked
/// bodies, RFC 9112 §7.1). Each connection still checks and accounts for them
/// (``HTTP1Connection/sendPreparedBody(count:)``).
public struct HTTPPreparedBody: Sendable {
    /// The bytes as they are.
    public let bytes: ByteBuffer
    /// The bytes as one chunk: size line, bytes, CRLF.
    let chunk: ByteBuffer

    public init(_ bytes: ByteBuffer) {
        self.bytes = bytes
        var chunk = ByteBuffer(bytes: HTTP1PreparedBody.chunkPrefix(count: bytes.readableBytes))
        chunk.reserveCapacity(chunk.readableBytes + bytes.readableBytes + 2)
        var copy = bytes
        chunk.writeBuffer(&copy)
        chunk.writeStaticString("\r\n")
        self.chunk = chunk
    }

    public init(_ text: String) {
        self.init(ByteBuffer(string: text))
    }

    public init(bytes: [UInt8]) {
        self.init(ByteBuffer(bytes: bytes))
    }

    /// The body's length in bytes.
    public var count: Int { bytes.readableBytes }

    /// The buffer for `form`, if any.
    func buffer(for form: HTTP1PreparedBodyForm) -> ByteBuffer? {
        switch form {
        case .plain: bytes
        case .chunk: chunk
        case .nothing: nil
        }
    }
}
