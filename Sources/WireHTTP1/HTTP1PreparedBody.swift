import WireCore

/// How body bytes prepared once for many messages go on the wire of one of them: as they
/// are, or as one chunk (RFC 9112 §7.1). A caller that writes the same bytes to many
/// connections (one event for every event stream, one answer for every held long poll) keeps
/// both forms ready and asks each connection which one it needs.
public enum HTTP1PreparedBodyForm: Sendable, Hashable {
    /// The bytes as they are: a Content-Length or read-until-close body.
    case plain
    /// One chunk: ``HTTP1PreparedBody/chunkPrefix(count:)``, the bytes, CRLF.
    case chunk
    /// Nothing at all (no bytes on a chunked body: an empty chunk would end it).
    case nothing
}

/// The chunk framing of prepared body bytes.
public enum HTTP1PreparedBody {
    /// The chunk-size line of a chunk of `count` bytes: lowercase hex digits and CRLF
    /// (RFC 9112 §7.1: `chunk-size CRLF`).
    public static func chunkPrefix(count: Int) -> [UInt8] {
        var out: [UInt8] = []
        HTTP1Bytes.appendHex(count, to: &out)
        HTTP1Bytes.appendCRLF(to: &out)
        return out
    }

    /// The whole chunk of `bytes`: size line, bytes, CRLF.
    public static func chunk(_ bytes: Span<UInt8>) -> [UInt8] {
        var out = chunkPrefix(count: bytes.count)
        out.reserveCapacity(out.count + bytes.count + 2)
        bytes.withUnsafeBufferPointer { out.append(contentsOf: $0) }
        HTTP1Bytes.appendCRLF(to: &out)
        return out
    }
}

extension HTTP1Serializer {
    /// Accounts for `count` body bytes that the caller writes itself, and says in which form:
    /// the same checks as ``writeBody(_:into:)`` (no body where the message has none, no more
    /// than Content-Length), nothing written to any buffer.
    public mutating func accountPreparedBody(count: Int) throws(HTTP1UsageError) -> HTTP1PreparedBodyForm {
        precondition(count >= 0)
        guard let framing else { throw HTTP1UsageError(.noMessageInProgress) }
        switch framing {
        case .none:
            guard count == 0 else { throw HTTP1UsageError(.bodyNotAllowed) }
            return .nothing
        case .contentLength:
            guard count <= remainingContentLength else { throw HTTP1UsageError(.bodyLongerThanContentLength) }
            remainingContentLength &-= count
            return count == 0 ? .nothing : .plain
        case .untilClose:
            return count == 0 ? .nothing : .plain
        case .chunked:
            return count == 0 ? .nothing : .chunk
        }
    }
}

extension HTTP1Connection {
    /// Sends `count` body bytes that the caller writes itself from a buffer shared by many
    /// connections, in the form returned, right after this connection's own outbound bytes
    /// (take those first: ``takeOutbound()``). The connection checks and accounts for them as
    /// for ``send(_:)`` with ``HTTP1OutboundEvent/body(_:)``; nothing goes into its buffer.
    ///
    /// - Throws: ``HTTP1UsageError`` as `send(.body(_:))` would (nothing changes then).
    public mutating func sendPreparedBody(count: Int) throws(HTTP1UsageError) -> HTTP1PreparedBodyForm {
        guard timers.expired == nil else { throw HTTP1UsageError(.connectionClosed) }
        var next = state
        guard next.process(.data, from: role) else {
            switch ourState {
            case .closed, .mustClose: throw HTTP1UsageError(.connectionClosed)
            case .switchedProtocol: throw HTTP1UsageError(.switchedProtocols)
            default: throw HTTP1UsageError(.noMessageInProgress)
            }
        }
        let form = try serializer.accountPreparedBody(count: count)
        if role == .client { clientIsWaitingFor100Continue = false }
        state = next
        return form
    }
}
