import HTTPTypes
import Testing
import TestSupport
import WireCore
@testable import WireHTTP1

/// The response head writer (lines copied straight into the array's capacity and checked where
/// they lie) against a byte-by-byte reference: the same bytes for every valid head, the same
/// refusal for every invalid value, whatever the array held before and however many fields.
@Suite struct SerializerFastPathTests {
    /// Field content by the RFC 9110 §5.5 definition, one byte at a time.
    static func isFieldValue(_ value: [UInt8]) -> Bool {
        if let first = value.first, first == 0x20 || first == 0x09 { return false }
        if let last = value.last, last == 0x20 || last == 0x09 { return false }
        return value.allSatisfy { $0 == 0x09 || $0 == 0x20 || ($0 >= 0x21 && $0 != 0x7F) }
    }

    static let alphabet: [UInt8] = Array("abcXYZ09 ,;=/\"-".utf8) + [0x09, 0x80, 0xFF, 0x7E, 0x21]
    static let bad: [UInt8] = [0x00, 0x01, 0x0B, 0x1F, 0x7F]

    @Test(arguments: 0..<4)
    func responseHeadsMatchTheReference(seed: UInt64) throws {
        var rng = SplitMix64(seed: 0x5E51 &+ seed)
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        for _ in 0..<500 {
            var fields = HTTPFields()
            var expected = Array("HTTP/1.1 200 OK\r\n".utf8)
            var valid = true
            for index in 0..<pick([0, 1, 3, 8, 40]) {
                let length = pick([0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 100])
                var value = (0..<length).map { _ in pick(Self.alphabet) }
                if !value.isEmpty && rng.next() % 20 == 0 { value[Int(rng.next() % UInt64(value.count))] = pick(Self.bad) }
                let name = "X-\(pick(["A", "Long-Field-Name-Here", "b"]))-\(index)"
                fields.append(HTTPField(name: HTTPField.Name(name)!, lenientValue: value))
                // HTTPTypes turns NUL, CR and LF into SP in lenient values: compare with what it stored.
                let stored = fields[fields.count - 1].withUnsafeBytesOfValue { Array($0) }
                valid = valid && Self.isFieldValue(stored)
                expected += Array(name.utf8) + Array(": ".utf8) + stored + [0x0D, 0x0A]
            }
            expected += [0x0D, 0x0A]
            let prefix = (0..<Int(rng.next() % 20)).map { UInt8(truncatingIfNeeded: $0) }
            var out = prefix
            if rng.next() % 2 == 0 { out.reserveCapacity(Int(rng.next() % 600)) }
            var serializer = HTTP1Serializer(role: .server)
            do {
                try serializer.writeHead(HTTPResponse(status: .ok, headerFields: fields), into: &out)
                #expect(valid, "accepted an invalid value")
                #expect(out == prefix + expected)
            } catch {
                #expect(!valid, "refused a valid head: \(error)")
                #expect(error.code == .invalidFieldValue)
                #expect(out == prefix)
            }
        }
    }

    /// Reason phrases at every length around the vector widths, valid and not.
    @Test func reasonPhrases() throws {
        for length in 0..<40 {
            for badAt in [-1, 0, length / 2, length - 1] where badAt < length {
                var reason = [UInt8](repeating: UInt8(ascii: "r"), count: length)
                if badAt >= 0 { reason[badAt] = 0x01 }
                var out: [UInt8] = [7]
                let ok = (try? HTTP1Serializer.writeStatusLine(
                    code: 404, reasonPhrase: String(decoding: reason, as: UTF8.self), into: &out)) != nil
                #expect(ok == (badAt < 0))
                if ok { #expect(out == [7] + Array("HTTP/1.1 404 ".utf8) + reason + [0x0D, 0x0A]) }
            }
        }
    }
}
