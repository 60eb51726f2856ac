public import HTTPTypes
public import NIOCore
import NIOHTTPTypes
import WireHTTP1

/// A request handed to a ``WireServer`` application: the head as `HTTPRequest`
/// (swift-http-types, the same over HTTP/1.1 and HTTP/2) and the body as it arrives.
public struct HTTPServerRequest: Sendable {
    /// Method, scheme, authority (`Host`), path and header fields.
    public var head: HTTPRequest
    /// The body, as buffers in the order they arrive. Read it at most once; the server
    /// discards what the application leaves unread (up to a bound, then it closes the
    /// connection).
    public var body: HTTPRequestBody
    /// The client's address.
    public var remoteAddress: SocketAddress?
    /// The HTTP the request came over: HTTP/1.1, or a stream of an HTTP/2 connection.
    public var httpVersion: WireHTTPVersion

    public init(
        head: HTTPRequest, body: HTTPRequestBody, remoteAddress: SocketAddress? = nil, httpVersion: WireHTTPVersion = .http1_1
    ) {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
        self.httpVersion = httpVersion
    }

    /// The path without the query (`/poll` for `/poll?since=3`).
    public var path: Substring {
        let full = head.path ?? "/"
        return full[..<(full.firstIndex(of: "?") ?? full.endIndex)]
    }

    /// The value of a query parameter (`since` in `/poll?since=3`), percent-encoding left as is;
    /// `nil` when absent.
    public func queryItem(_ name: String) -> Substring? {
        let full = head.path ?? ""
        guard let question = full.firstIndex(of: "?") else { return nil }
        for item in full[full.index(after: question)...].split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if pair[0] == name { return pair.count > 1 ? pair[1] : "" }
        }
        return nil
    }
}

/// The version of HTTP a connection speaks, named by its ALPN identifier (RFC 7301).
public enum WireHTTPVersion: String, Sendable, Hashable, CustomStringConvertible {
    /// HTTP/1.1 (RFC 9112), over TCP or TLS.
    case http1_1 = "http/1.1"
    /// HTTP/2 (RFC 9113), over TLS negotiated by ALPN: one connection, many streams.
    case http2 = "h2"

    public var description: String { rawValue }
}

/// A request body: an `AsyncSequence` of `ByteBuffer`s with backpressure (the connection
/// reads from the socket only as fast as you iterate).
///
/// Reading it first answers `Expect: 100-continue` with `100 Continue` when no response has
/// been sent. It ends with the message; it throws ``HTTP1Timeout`` when the client stops
/// sending for ``HTTP1Timeouts/bodyProgress`` (the server answers 408), or the connection's
/// error when it fails.
public struct HTTPRequestBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    let source: RequestBodySource?

    /// A body already complete (for tests, or to hand a request on).
    public init(_ buffer: ByteBuffer) {
        source = RequestBodySource(fixed: buffer)
    }

    init(source: RequestBodySource) {
        self.source = source
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: RequestBodySource?

        public mutating func next() async throws -> ByteBuffer? {
            try await source?.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source)
    }

    /// Reads the whole body into one buffer.
    ///
    /// - Throws: ``HTTPBodyTooLarge`` when it exceeds `maxBytes` (answer 413).
    public func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await buffer in self {
            guard all.readableBytes + buffer.readableBytes <= maxBytes else { throw HTTPBodyTooLarge(limit: maxBytes) }
            var buffer = buffer
            all.writeBuffer(&buffer)
        }
        return all
    }

    /// The trailer fields of a chunked body, once it has been read to its end.
    public var trailers: HTTPFields? { source?.trailers }
}

/// A body exceeded the limit given to ``HTTPRequestBody/collect(upTo:)``.
public struct HTTPBodyTooLarge: Error, Sendable, Hashable {
    public var limit: Int
}

/// Where a request body's buffers come from: the connection's inbound stream (read by the
/// application's task while it handles the request, by the connection's task afterwards;
/// never both at once), or a fixed buffer.
final class RequestBodySource: @unchecked Sendable {
    private enum State {
        case reading(ServerConnectionReader, expectsContinue: Bool, response: ResponseState)
        case fixed(ByteBuffer?)
        case finished
        case failed(any Error)
    }

    private var state: State
    private(set) var trailers: HTTPFields?
    /// Bytes of body read so far.
    private(set) var bytesRead = 0

    init(reader: ServerConnectionReader, expectsContinue: Bool, response: ResponseState) {
        state = .reading(reader, expectsContinue: expectsContinue, response: response)
    }

    init(fixed: ByteBuffer) {
        state = .fixed(fixed)
    }

    var isFinished: Bool {
        if case .reading = state { return false }
        return true
    }

    /// The client still holds its body back, waiting for `100 Continue` that was never sent.
    var clientAwaitsContinue: Bool {
        if case .reading(_, true, _) = state { return true }
        return false
    }

    func next() async throws -> ByteBuffer? {
        switch state {
        case .finished:
            return nil
        case .failed(let error):
            throw error
        case .fixed(let buffer):
            state = .fixed(nil)
            return buffer
        case .reading(let reader, let expectsContinue, let response):
            if expectsContinue {
                state = .reading(reader, expectsContinue: false, response: response)
                try await response.sendContinueIfNoResponse()
            }
            while true {
                let event: ServerConnectionEvent?
                do {
                    event = try await reader.next()
                } catch {
                    state = .failed(error)
                    throw error
                }
                switch event {
                case .http(.body(let bytes)):
                    bytesRead += bytes.count
                    return ByteBuffer(bytes: bytes)
                case .http(.end(let trailers)):
                    self.trailers = trailers.map { HTTPFields(block: $0) }
                    state = .finished
                    return nil
                case .stream(.body(let buffer)):
                    bytesRead += buffer.readableBytes
                    return buffer
                case .stream(.end(let trailers)):
                    self.trailers = trailers
                    state = .finished
                    return nil
                case .httpFailed(let error):
                    state = .failed(error)
                    throw error
                case nil, .http(.connectionClosed):
                    let error = HTTPServerError(.connectionClosed)
                    state = .failed(error)
                    throw error
                case .http, .webSocketOpened, .webSocket, .webSocketFailureHeld, .stream(.head(_)):
                    continue
                }
            }
        }
    }
}

extension HTTPFields {
    /// The fields of a parsed block (trailers), names and values as received.
    init(block: HTTP1FieldBlock) {
        self.init()
        for index in 0..<block.count {
            if let name = HTTPField.Name(block.name(at: index)) {
                append(HTTPField(name: name, value: block.value(at: index)))
            }
        }
    }
}
