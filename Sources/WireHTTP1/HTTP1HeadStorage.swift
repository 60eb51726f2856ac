/// Where one field line lives in a ``HTTP1HeadStorage``: byte offsets (Int32, since heads are
/// bounded by ``HTTP1Limits``), value already stripped of its surrounding whitespace.
@usableFromInline
struct HTTP1FieldEntry: Sendable, Hashable {
    @usableFromInline var nameStart: Int32
    @usableFromInline var nameEnd: Int32
    @usableFromInline var valueStart: Int32
    @usableFromInline var valueEnd: Int32

    @inlinable
    init(nameStart: Int32, nameEnd: Int32, valueStart: Int32, valueEnd: Int32) {
        self.nameStart = nameStart
        self.nameEnd = nameEnd
        self.valueStart = valueStart
        self.valueEnd = valueEnd
    }
}

/// Per-head facts kept next to the head's bytes, so a head value is one reference (cheap to
/// copy inside events).
@usableFromInline
struct HTTP1HeadInfo: Sendable {
    @usableFromInline var methodEnd: Int32 = 0
    @usableFromInline var targetStart: Int32 = 0
    @usableFromInline var targetEnd: Int32 = 0
    @usableFromInline var reasonStart: Int32 = 0
    @usableFromInline var reasonEnd: Int32 = 0
    @usableFromInline var status: Int = 0
    @usableFromInline var version: HTTP1Version = .http1_1
    @usableFromInline var targetForm: HTTP1RequestTargetForm = .origin
    @usableFromInline var flags: HTTP1HeadFlags = []
    @usableFromInline var framing: HTTP1BodyFraming = .none
    @usableFromInline var streamOffset: Int = 0
    @usableFromInline init() {}
}

/// The bytes of a head (or trailer section, or chunk extensions) and the offsets of its
/// fields, in two growable buffers that the parser reuses from message to message.
///
/// Value types (``HTTP1RequestHead``, ``HTTP1FieldBlock``...) hold a reference and never
/// mutate it; the parser mutates it only while it holds the only reference
/// (`isKnownUniquelyReferenced`), otherwise it starts a fresh one. That is what makes the
/// class safe to share across threads, hence `@unchecked Sendable`.
@usableFromInline
final class HTTP1HeadStorage: @unchecked Sendable {
    @exclusivity(unchecked) @usableFromInline var bytes: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) @usableFromInline var byteCount: Int
    @exclusivity(unchecked) @usableFromInline var byteCapacity: Int
    @exclusivity(unchecked) @usableFromInline var fields: UnsafeMutablePointer<HTTP1FieldEntry>
    @exclusivity(unchecked) @usableFromInline var fieldCount: Int
    @exclusivity(unchecked) @usableFromInline var fieldCapacity: Int
    /// What the start line and framing fields said, for the head these bytes hold. Written by
    /// the parser before the head is handed out, read-only afterwards.
    @exclusivity(unchecked) @usableFromInline var info = HTTP1HeadInfo()

    /// Held by idle parsers instead of their own storage (``HTTP1Parser/releaseIdleStorage()``):
    /// shared, so never uniquely referenced, so never written (the next message gets a fresh one).
    static let released = HTTP1HeadStorage(byteCapacity: 1, fieldCapacity: 1)

    init(byteCapacity: Int = 1024, fieldCapacity: Int = 32) {
        self.bytes = .allocate(capacity: byteCapacity)
        self.byteCount = 0
        self.byteCapacity = byteCapacity
        self.fields = .allocate(capacity: fieldCapacity)
        self.fieldCount = 0
        self.fieldCapacity = fieldCapacity
    }

    deinit {
        bytes.deallocate()
        fields.deallocate()
    }

    @inline(__always)
    func reset() {
        byteCount = 0
        fieldCount = 0
    }

    /// Appends `count` bytes and returns the offset of the first.
    @inline(__always)
    @discardableResult
    func append(_ source: UnsafePointer<UInt8>, count: Int) -> Int {
        let start = byteCount
        if byteCount &+ count > byteCapacity { growBytes(minimum: byteCount + count) }
        (bytes + start).update(from: source, count: count)
        byteCount = start &+ count
        return start
    }

    @inline(__always)
    func appendByte(_ byte: UInt8) {
        if byteCount == byteCapacity { growBytes(minimum: byteCount + 1) }
        bytes[byteCount] = byte
        byteCount &+= 1
    }

    @inline(__always)
    func appendField(_ entry: HTTP1FieldEntry) {
        if fieldCount == fieldCapacity { growFields() }
        fields[fieldCount] = entry
        fieldCount &+= 1
    }

    @inline(never)
    func growBytes(minimum: Int) {
        let newCapacity = Swift.max(minimum, byteCapacity * 2)
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        new.update(from: bytes, count: byteCount)
        bytes.deallocate()
        bytes = new
        byteCapacity = newCapacity
    }

    @inline(never)
    func growFields() {
        let newCapacity = fieldCapacity * 2
        let new = UnsafeMutablePointer<HTTP1FieldEntry>.allocate(capacity: newCapacity)
        new.update(from: fields, count: fieldCount)
        fields.deallocate()
        fields = new
        fieldCapacity = newCapacity
    }

    /// Lends bytes `start..<end` as a span.
    @inlinable @inline(__always)
    func withBytes<R, E: Error>(
        _ start: Int32, _ end: Int32, _ body: (Span<UInt8>) throws(E) -> R
    ) throws(E) -> R {
        let buffer = UnsafeBufferPointer(start: bytes + Int(start), count: Int(end &- start))
        return try body(buffer.span)
    }

    @inlinable @inline(__always)
    func bytesEqual(_ a: Int32, _ aEnd: Int32, _ other: HTTP1HeadStorage, _ b: Int32, _ bEnd: Int32) -> Bool {
        let n = Int(aEnd &- a)
        guard n == Int(bEnd &- b) else { return false }
        if n == 0 { return true }
        return memcmpBytes(bytes + Int(a), other.bytes + Int(b), n)
    }

    @inlinable @inline(__always)
    func hashBytes(_ a: Int32, _ aEnd: Int32, into hasher: inout Hasher) {
        let buffer = UnsafeRawBufferPointer(start: bytes + Int(a), count: Int(aEnd &- a))
        hasher.combine(buffer.count)
        hasher.combine(bytes: buffer)
    }

    /// The bytes `start..<end` decoded as ISO-8859-1 (every octet is one character), so any
    /// byte round-trips.
    func latin1String(_ start: Int32, _ end: Int32) -> String {
        latin1(UnsafeBufferPointer(start: bytes + Int(start), count: Int(end &- start)))
    }

    func byteArray(_ start: Int32, _ end: Int32) -> [UInt8] {
        Array(UnsafeBufferPointer(start: bytes + Int(start), count: Int(end &- start)))
    }
}

@usableFromInline
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i &+ 8 <= n {
        let x = UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self)
        let y = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
        if x != y { return false }
        i &+= 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i &+= 1
    }
    return true
}

/// ISO-8859-1 decoding: ASCII stays as is, 0x80...0xFF become U+0080...U+00FF.
func latin1(_ buffer: UnsafeBufferPointer<UInt8>) -> String {
    var ascii = true
    for b in buffer where b >= 0x80 {
        ascii = false
        break
    }
    if ascii { return String(decoding: buffer, as: UTF8.self) }
    var utf8: [UInt8] = []
    utf8.reserveCapacity(buffer.count * 2)
    for b in buffer {
        if b < 0x80 {
            utf8.append(b)
        } else {
            utf8.append(0xC0 | b >> 6)
            utf8.append(0x80 | b & 0x3F)
        }
    }
    return String(decoding: utf8, as: UTF8.self)
}
