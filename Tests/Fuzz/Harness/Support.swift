// Shared pieces of the fuzz harness: the libFuzzer entry points, target selection, the
// invariant check that turns a broken invariant into a crash libFuzzer records, and the
// ways an input is cut into pieces (whole, split at a data-derived point, random pieces,
// byte at a time for small inputs).

#if canImport(Glibc)
import Glibc
#endif

/// One fuzz target: a name for `fuzz.sh` and the function libFuzzer calls per input.
struct FuzzTarget: Sendable {
    var name: String
    var run: @Sendable (UnsafeBufferPointer<UInt8>) -> Void
}

nonisolated(unsafe) var selectedTarget: FuzzTarget? = nil

/// `--target=NAME` (libFuzzer ignores flags that start with `--` and passes them on to the
/// processes it forks) or `WIREFUZZ_TARGET=NAME`.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    var name: String? = getenv("WIREFUZZ_TARGET").map { String(cString: $0) }
    if let args = argv.pointee {
        for i in 0..<Int(argc.pointee) {
            guard let arg = args[i] else { continue }
            let s = String(cString: arg)
            if s.hasPrefix("--target=") { name = String(s.dropFirst(9)) }
        }
    }
    if name == "list" {
        for t in allTargets { print(t.name) }
        exit(0)
    }
    guard let name, let target = allTargets.first(where: { $0.name == name }) else {
        eprint("wirefuzz: choose a target with --target=NAME: \(allTargets.map(\.name).joined(separator: ", "))\n")
        exit(2)
    }
    selectedTarget = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // Copy into an exact-size allocation so ASan catches any read past the input.
    let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: size)
    defer { copy.deallocate() }
    if size > 0, let data { copy.baseAddress!.update(from: data, count: size) }
    selectedTarget!.run(UnsafeBufferPointer(copy))
    return 0
}

func eprint(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// An invariant: when it does not hold, print why and trap (libFuzzer saves the input).
@inline(__always)
func check(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition {
        eprint("INVARIANT FAILED (\(file):\(line)): \(message())\n")
        abort()
    }
}

/// Reads configuration bytes from the front of an input; missing bytes read as 0.
struct ByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }
    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }
    var rest: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[Swift.min(position, bytes.count)...]) }
}

/// A small deterministic generator (SplitMix64), seeded from the input.
struct Mix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

/// FNV-1a of the input: a data-derived seed, so a crash reproduces from the file alone.
func inputSeed(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

/// The ways to cut `count` bytes into consecutive pieces that every target compares:
/// whole, two pieces at a data-derived point, random pieces (some empty), and one byte at a
/// time when the input is at most `byteAtATimeUpTo` bytes.
func chunkings(count: Int, seed: UInt64, byteAtATimeUpTo: Int = 64) -> [[Range<Int>]] {
    var result: [[Range<Int>]] = [[0..<count]]
    guard count > 1 else { return result }
    var rng = Mix64(seed: seed)
    let cut = 1 + rng.below(count - 1)
    result.append([0..<cut, cut..<count])
    var pieces: [Range<Int>] = []
    var start = 0
    let maxPiece = Swift.max(1, count / 5)
    while start < count {
        if rng.below(8) == 0 { pieces.append(start..<start) }
        let end = Swift.min(count, start + 1 + rng.below(maxPiece))
        pieces.append(start..<end)
        start = end
    }
    result.append(pieces)
    if count <= byteAtATimeUpTo {
        result.append((0..<count).map { $0..<($0 + 1) })
    }
    return result
}

func hex(_ bytes: some Collection<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

func diffDescription<T>(_ a: [T], _ b: [T]) -> String where T: Equatable {
    let n = zip(a, b).prefix(while: { $0 == $1 }).count
    let left = n < a.count ? "\(a[n])" : "<end>"
    let right = n < b.count ? "\(b[n])" : "<end>"
    return "first difference at event \(n): \(left) vs \(right) (counts \(a.count), \(b.count))"
}
