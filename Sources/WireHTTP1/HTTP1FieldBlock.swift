import WireCore
public import HTTPTypes

/// The field lines of a header or trailer section (RFC 9112 §5), in wire order, names and
/// values exactly as received (values without their leading and trailing whitespace).
///
/// A view over storage the parser filled; it stays valid and immutable for as long as you
/// keep it (value semantics). Reading lends bytes as `Span`s and allocates nothing; the
/// `String` conveniences decode as ISO-8859-1 so that every octet round-trips.
public struct HTTP1FieldBlock: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline let storage: HTTP1HeadStorage
    @usableFromInline let firstField: Int32
    @usableFromInline let endField: Int32

    @inlinable
    init(storage: HTTP1HeadStorage, fields: Range<Int32>) {
        self.storage = storage
        self.firstField = fields.lowerBound
        self.endField = fields.upperBound
    }

    /// An empty block.
    public init() {
        self.init(storage: HTTP1HeadStorage(byteCapacity: 1, fieldCapacity: 1), fields: 0..<0)
    }

    /// The number of field lines.
    @inlinable
    public var count: Int { Int(endField &- firstField) }

    @inlinable
    public var isEmpty: Bool { endField == firstField }

    @inlinable
    func entry(_ i: Int) -> HTTP1FieldEntry {
        precondition(i >= 0 && i < count, "field index out of range")
        return storage.fields[Int(firstField) &+ i]
    }

    /// Lends the name and value of field line `i` (0-based, wire order).
    @inlinable
    public func withField<R, E: Error>(
        at i: Int, _ body: (_ name: Span<UInt8>, _ value: Span<UInt8>) throws(E) -> R
    ) throws(E) -> R {
        let e = entry(i)
        let base = storage.bytes
        let name = UnsafeBufferPointer(start: base + Int(e.nameStart), count: Int(e.nameEnd &- e.nameStart))
        let value = UnsafeBufferPointer(start: base + Int(e.valueStart), count: Int(e.valueEnd &- e.valueStart))
        return try withExtendedLifetime(storage) { () throws(E) -> R in try body(name.span, value.span) }
    }

    /// The name of field line `i` as received.
    public func name(at i: Int) -> String {
        let e = entry(i)
        return storage.latin1String(e.nameStart, e.nameEnd)
    }

    /// The value of field line `i`, decoded as ISO-8859-1.
    public func value(at i: Int) -> String {
        let e = entry(i)
        return storage.latin1String(e.valueStart, e.valueEnd)
    }

    /// The raw bytes of the value of field line `i`.
    public func valueBytes(at i: Int) -> [UInt8] {
        let e = entry(i)
        return storage.byteArray(e.valueStart, e.valueEnd)
    }

    /// Whether field line `i` is named `name` (ASCII case-insensitive).
    public func name(at i: Int, is name: String) -> Bool {
        let e = entry(i)
        let n = Int(e.nameEnd &- e.nameStart)
        var name = name
        return name.withUTF8 { wanted in
            guard wanted.count == n else { return false }
            let p = storage.bytes + Int(e.nameStart)
            for j in 0..<n where ASCII.lowercased(p[j]) != ASCII.lowercased(wanted[j]) {
                return false
            }
            return true
        }
    }

    /// The index of the first field line named `name` (case-insensitive), or `nil`.
    public func firstIndex(named name: String) -> Int? {
        for i in 0..<count where self.name(at: i, is: name) { return i }
        return nil
    }

    /// Whether some field line is named `name` (case-insensitive).
    public func contains(_ name: String) -> Bool { firstIndex(named: name) != nil }

    /// The value of the first field line named `name`, decoded as ISO-8859-1.
    public func firstValue(named name: String) -> String? {
        firstIndex(named: name).map { value(at: $0) }
    }

    /// The values of every field line named `name`, in order.
    public func values(named name: String) -> [String] {
        (0..<count).filter { self.name(at: $0, is: name) }.map { value(at: $0) }
    }

    /// Lends the value of the first field line named `name`; `nil` if there is none.
    public func withFirstValue<R, E: Error>(
        named name: String, _ body: (Span<UInt8>) throws(E) -> R
    ) throws(E) -> R? {
        guard let i = firstIndex(named: name) else { return nil }
        let e = entry(i)
        return try storage.withBytes(e.valueStart, e.valueEnd, body)
    }

    /// Whether the comma-separated lists in the field lines named `name` contain `token`
    /// (RFC 9110 §5.6.1; elements compared ASCII case-insensitively, parameters after `;`
    /// ignored), e.g. `containsToken("upgrade", inField: "connection")`.
    public func containsToken(_ token: String, inField name: String) -> Bool {
        var token = token
        return token.withUTF8 { wanted in
            for i in 0..<count where self.name(at: i, is: name) {
                let e = entry(i)
                if listContainsToken(storage.bytes, Int(e.valueStart), Int(e.valueEnd), wanted) { return true }
            }
            return false
        }
    }

    /// Converts to `HTTPFields`, names and values as received (every octet kept).
    public func httpFields() throws(HTTP1ParseError) -> HTTPFields {
        try httpFields(skippingHost: false)
    }

    func httpFields(skippingHost: Bool) throws(HTTP1ParseError) -> HTTPFields {
        var result = HTTPFields()
        result.reserveCapacity(count)
        for i in 0..<count {
            let e = entry(i)
            if skippingHost && Int(e.nameEnd &- e.nameStart) == 4 && name(at: i, is: "host") { continue }
            // Names were validated as tokens, which `HTTPField.Name` accepts.
            guard let name = HTTPField.Name(storage.latin1String(e.nameStart, e.nameEnd)) else {
                throw HTTP1ParseError(.invalidFieldName, offset: 0)
            }
            let value = UnsafeBufferPointer(start: storage.bytes + Int(e.valueStart), count: Int(e.valueEnd &- e.valueStart))
            result.append(HTTPField(name: name, value: value))
        }
        return result
    }

    public var description: String {
        "[" + (0..<count).map { "\(name(at: $0)): \(value(at: $0))" }.joined(separator: ", ") + "]"
    }

    public static func == (lhs: HTTP1FieldBlock, rhs: HTTP1FieldBlock) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for i in 0..<lhs.count {
            let a = lhs.entry(i)
            let b = rhs.entry(i)
            guard lhs.storage.bytesEqual(a.nameStart, a.nameEnd, rhs.storage, b.nameStart, b.nameEnd),
                lhs.storage.bytesEqual(a.valueStart, a.valueEnd, rhs.storage, b.valueStart, b.valueEnd)
            else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for i in 0..<count {
            let e = entry(i)
            storage.hashBytes(e.nameStart, e.nameEnd, into: &hasher)
            storage.hashBytes(e.valueStart, e.valueEnd, into: &hasher)
        }
    }
}

/// Whether the list `bytes[start..<end]` (RFC 9110 §5.6.1: elements separated by commas and
/// optional whitespace; a `;` starts parameters) has an element equal to `token`, ignoring
/// ASCII case. `token` is compared as given (any case).
func listContainsToken(
    _ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ token: UnsafeBufferPointer<UInt8>
) -> Bool {
    var i = start
    while i < end {
        while i < end, bytes[i] == UInt8(ascii: ",") || ASCII.is(bytes[i], ASCII.whitespace) { i &+= 1 }
        let elementStart = i
        while i < end, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: ";"),
            !ASCII.is(bytes[i], ASCII.whitespace)
        {
            i &+= 1
        }
        let elementEnd = i
        if elementEnd &- elementStart == token.count {
            var equal = true
            for j in 0..<token.count where ASCII.lowercased(bytes[elementStart &+ j]) != ASCII.lowercased(token[j]) {
                equal = false
                break
            }
            if equal { return true }
        }
        while i < end, bytes[i] != UInt8(ascii: ",") { i &+= 1 }
    }
    return false
}
