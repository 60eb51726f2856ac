
/// What the parser learnt from the framing and connection fields of a head.
@usableFromInline
struct HTTP1HeadFlags: OptionSet, Sendable, Hashable {
    @usableFromInline var rawValue: UInt8
    @inlinable init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `Connection: close`.
    static let connectionClose = HTTP1HeadFlags(rawValue: 1 << 0)
    /// `Connection: keep-alive`.
    static let connectionKeepAlive = HTTP1HeadFlags(rawValue: 1 << 1)
    /// `Connection: upgrade`.
    static let connectionUpgrade = HTTP1HeadFlags(rawValue: 1 << 2)
    /// An Upgrade field line.
    static let hasUpgrade = HTTP1HeadFlags(rawValue: 1 << 3)
    /// `Expect: 100-continue`.
    static let expectContinue = HTTP1HeadFlags(rawValue: 1 << 4)
    /// The method is CONNECT.
    static let connect = HTTP1HeadFlags(rawValue: 1 << 5)
    /// The method is HEAD.
    static let head = HTTP1HeadFlags(rawValue: 1 << 6)
}

/// A parsed request head: request line and header section (RFC 9112 §3, §5).
///
/// Value semantics over bytes the parser copied once; valid after ``HTTP1Parser/parse(_:)``
/// returns, for as long as you keep it. Byte views are lent as `Span`s; the `String`
/// conveniences decode ISO-8859-1.
public struct HTTP1RequestHead: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline let storage: HTTP1HeadStorage

    init(storage: HTTP1HeadStorage) { self.storage = storage }

    @inlinable var info: HTTP1HeadInfo { storage.info }
    @usableFromInline var flags: HTTP1HeadFlags { storage.info.flags }

    /// The stream offset of the head's first byte (after ignored empty lines).
    public var streamOffset: Int { info.streamOffset }
    /// The protocol version of the request line.
    public var version: HTTP1Version { info.version }
    /// How the body is framed.
    public var framing: HTTP1BodyFraming { info.framing }
    /// The form of the request-target.
    public var targetForm: HTTP1RequestTargetForm { info.targetForm }

    /// The header section.
    @inlinable
    public var fields: HTTP1FieldBlock { HTTP1FieldBlock(storage: storage, fields: 0..<Int32(storage.fieldCount)) }

    /// Lends the method bytes (a token, case-sensitive: RFC 9110 §9.1).
    @inlinable
    public func withMethod<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(storage) { () throws(E) -> R in try storage.withBytes(0, info.methodEnd, body) }
    }

    /// Lends the request-target bytes, exactly as received.
    @inlinable
    public func withTarget<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(storage) { () throws(E) -> R in
            try storage.withBytes(info.targetStart, info.targetEnd, body)
        }
    }

    /// The method as a string.
    public var method: String { storage.latin1String(0, info.methodEnd) }
    /// The request-target as a string.
    public var target: String { storage.latin1String(info.targetStart, info.targetEnd) }

    /// Whether the method is HEAD (its response has no body).
    public var isHEAD: Bool { flags.contains(.head) }
    /// Whether the method is CONNECT (a 2xx response turns the connection into a tunnel).
    public var isCONNECT: Bool { flags.contains(.connect) }

    /// Whether the connection may be reused after this request (RFC 9112 §9.3): HTTP/1.1
    /// without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive` (and no close).
    public var keepAlive: Bool { computeKeepAlive(version, flags) }

    /// Whether the client waits for `100 Continue` before sending the body
    /// (`Expect: 100-continue`, RFC 9110 §10.1.1), only meaningful for HTTP/1.1.
    public var expectsContinue: Bool { flags.contains(.expectContinue) && version == .http1_1 }

    /// Whether this is a protocol upgrade request (RFC 9110 §7.8): HTTP/1.1 with an Upgrade
    /// field and the `upgrade` connection option. A parser pauses after such a request.
    public var isUpgradeRequest: Bool {
        version == .http1_1 && flags.isSuperset(of: [.hasUpgrade, .connectionUpgrade])
    }

    public var description: String { "\(method) \(target) \(version) \(fields)" }

    public static func == (lhs: HTTP1RequestHead, rhs: HTTP1RequestHead) -> Bool {
        let a = lhs.info
        let b = rhs.info
        return a.version == b.version && a.framing == b.framing
            && lhs.storage.bytesEqual(0, a.methodEnd, rhs.storage, 0, b.methodEnd)
            && lhs.storage.bytesEqual(a.targetStart, a.targetEnd, rhs.storage, b.targetStart, b.targetEnd)
            && lhs.fields == rhs.fields
    }

    public func hash(into hasher: inout Hasher) {
        let i = info
        hasher.combine(i.version)
        hasher.combine(i.framing)
        storage.hashBytes(0, i.methodEnd, into: &hasher)
        storage.hashBytes(i.targetStart, i.targetEnd, into: &hasher)
        hasher.combine(fields)
    }
}

/// A parsed response head: status line and header section (RFC 9112 §4, §5).
///
/// Same storage and lifetime rules as ``HTTP1RequestHead``.
public struct HTTP1ResponseHead: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline let storage: HTTP1HeadStorage

    init(storage: HTTP1HeadStorage) { self.storage = storage }

    @inlinable var info: HTTP1HeadInfo { storage.info }
    @usableFromInline var flags: HTTP1HeadFlags { storage.info.flags }

    /// The stream offset of the head's first byte.
    public var streamOffset: Int { info.streamOffset }
    /// The protocol version of the status line.
    public var version: HTTP1Version { info.version }
    /// The three-digit status code, 100...599.
    public var status: Int { info.status }
    /// How the body is framed (taking the request method given to
    /// ``HTTP1Parser/expectResponse(to:)`` into account).
    public var framing: HTTP1BodyFraming { info.framing }

    /// The header section.
    @inlinable
    public var fields: HTTP1FieldBlock { HTTP1FieldBlock(storage: storage, fields: 0..<Int32(storage.fieldCount)) }

    /// Lends the reason phrase (possibly empty).
    @inlinable
    public func withReason<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(storage) { () throws(E) -> R in
            try storage.withBytes(info.reasonStart, info.reasonEnd, body)
        }
    }

    /// The reason phrase decoded as ISO-8859-1.
    public var reason: String { storage.latin1String(info.reasonStart, info.reasonEnd) }

    /// Whether this is an interim (1xx) response; more responses follow for the same request.
    public var isInformational: Bool { status < 200 }

    /// Whether the connection may be reused after this response (RFC 9112 §9.3): the
    /// version/`Connection` rule, and a body that is not delimited by closing.
    public var keepAlive: Bool { framing != .untilClose && computeKeepAlive(version, flags) }

    /// Whether the response carries `Upgrade` (with status 101: the new protocol).
    public var hasUpgrade: Bool { flags.contains(.hasUpgrade) }

    public var description: String { "\(version) \(status) \(reason) \(fields)" }

    public static func == (lhs: HTTP1ResponseHead, rhs: HTTP1ResponseHead) -> Bool {
        let a = lhs.info
        let b = rhs.info
        return a.version == b.version && a.status == b.status && a.framing == b.framing
            && lhs.storage.bytesEqual(a.reasonStart, a.reasonEnd, rhs.storage, b.reasonStart, b.reasonEnd)
            && lhs.fields == rhs.fields
    }

    public func hash(into hasher: inout Hasher) {
        let i = info
        hasher.combine(i.version)
        hasher.combine(i.status)
        hasher.combine(i.framing)
        storage.hashBytes(i.reasonStart, i.reasonEnd, into: &hasher)
        hasher.combine(fields)
    }
}

@inline(__always)
func computeKeepAlive(_ version: HTTP1Version, _ flags: HTTP1HeadFlags) -> Bool {
    if flags.contains(.connectionClose) { return false }
    return version == .http1_1 || flags.contains(.connectionKeepAlive)
}
