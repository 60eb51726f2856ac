import TestSupport

/// The seed of a differential run: fixed in the normal suite, or taken from
/// `WIRECODEC_DIFF_SEED` (a number, or `random` for a fresh one, which is printed so a
/// failure can be replayed). `WIRECODEC_DIFF_COUNT` scales the number of cases.
enum DifferentialRun {
    static let fixedSeed: UInt64 = 0x00D1_FFE5_EED5

    static var seed: UInt64 {
        let env = getenv("WIRECODEC_DIFF_SEED").map { String(cString: $0) }
        switch env {
        case nil, "": return fixedSeed
        case "random":
            let s = UInt64.random(in: 1...UInt64.max)
            print("differential: WIRECODEC_DIFF_SEED=\(s)")
            return s
        case let text?:
            let s = UInt64(text) ?? fixedSeed
            print("differential: WIRECODEC_DIFF_SEED=\(s)")
            return s
        }
    }

    static func count(_ normal: Int) -> Int {
        guard let text = getenv("WIRECODEC_DIFF_COUNT").map({ String(cString: $0) }), let n = Int(text) else { return normal }
        return n
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension SplitMix64 {
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { b in b < 16 ? "0" + String(b, radix: 16) : String(b, radix: 16) }.joined()
}

/// Printable form of an input for failure messages.
func escaped(_ bytes: [UInt8]) -> String {
    var s = ""
    for b in bytes {
        switch b {
        case 0x0D: s += "\\r"
        case 0x0A: s += "\\n"
        case 0x09: s += "\\t"
        case 0x20...0x7E where b != UInt8(ascii: "\\"): s.unicodeScalars.append(Unicode.Scalar(b))
        default: s += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
        }
    }
    return s
}
