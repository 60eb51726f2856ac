import Glibc

/// The reference loops of the byte-crunching workloads: `memcpy` of the same bytes, and the
/// standard library's UTF-8 validators.
final class BytesPeer {
    let input: [UInt8]
    var out: [UInt8]

    init(_ input: [UInt8]) {
        self.input = input
        out = [UInt8](repeating: 0, count: input.count)
    }

    /// Copies the input (the speed a one-pass byte loop cannot beat).
    @inline(__always)
    func copy() -> UInt64 {
        input.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { destination in
                _ = memcpy(destination.baseAddress!, source.baseAddress!, source.count)
            }
        }
        return UInt64(out[out.count &- 1])
    }

    /// `String(validating:as:)`: validates, and copies into a new String as its API does.
    @inline(__always)
    func stringValidating() -> UInt64 {
        guard let text = String(validating: input, as: UTF8.self) else { fatalError("invalid UTF-8") }
        return UInt64(text.utf8.count)
    }

    /// `UTF8Span(validating:)` (Swift 6.2): validates in place, no copy.
    @inline(__always)
    func utf8SpanValidating() -> UInt64 {
        let bytes = input
        do {
            let text = try UTF8Span(validating: bytes.span)
            return UInt64(text.count)
        } catch {
            fatalError("invalid UTF-8: \(error)")
        }
    }
}
