import CMallocCounter
import Glibc

/// One subject's implementation of one workload.
///
/// `run(n)` performs `n` calls, each doing `opsPerCall` operations of the workload, and
/// returns a value the harness folds into a checksum so that no work can be optimised away.
/// `prepare(n)` runs untimed and uncounted before every round (for example, it queues the
/// requests that the responses of the round answer). `digest()` describes what one call
/// decoded or produced; every subject of a workload must give the same description, so a
/// subject that skips work or mis-parses stops the run.
struct BenchCase {
    var subject: String
    var opsPerCall: Int = 1
    var prepare: ((Int) -> Void)? = nil
    var run: (Int) -> UInt64
    /// nil for a reference loop that decodes nothing (memcpy): not compared.
    var digest: (() -> String)?
}

/// A workload: one kind of operation, run by several subjects on the same input bytes.
struct Workload {
    var name: String
    /// What one operation is, for the tables.
    var operation: String
    /// Payload bytes one operation processes, for throughput columns (nil: not meaningful).
    var bytesPerOp: Int? = nil
    /// The target the codec must reach, in words, for the tables (nil: none).
    var target: String? = nil
    /// The subjects besides the codec (`makeCases` may add "wirecodec" first).
    var peers: [String]
    var subjects: [String] { [Report.codec] + peers }
    /// Builds the inputs and the cases; called only when a subject of the workload is selected.
    var makeCases: () -> [BenchCase]
}

struct BenchResult {
    var workload: String
    var subject: String
    var nsPerOp: Double
    var allocsPerOp: Double
    var bytesPerOp: Int?
}

struct MemoryResult {
    var subject: String
    var what: String
    var bytes: Int
}

struct BenchConfiguration {
    var filter: String? = nil
    var exactCase: String? = nil
    /// Fixed calls per round (callgrind mode); nil: calibrate to `roundNanoseconds`.
    var iterations: Int? = nil
    var rounds = 15
    var roundNanoseconds: UInt64 = 20_000_000
    var memory = true

    /// Whether `workload/subject` is selected: equal to `exactCase`, or containing `filter`.
    func selects(_ workload: String, _ subject: String) -> Bool {
        let name = "\(workload)/\(subject)"
        if let exactCase, name != exactCase { return false }
        if let filter, !name.contains(filter) { return false }
        return true
    }

    var selectsEverything: Bool { filter == nil && exactCase == nil }
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC; no threads, no allocation).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

/// Folded into by every timed call and printed at the end, so results stay observable.
nonisolated(unsafe) var benchChecksum: UInt64 = 0

enum Harness {
    /// Warm-up, then the calls per round: fixed, or grown until a round lasts `roundNanoseconds`.
    static func calibrate(_ benchCase: BenchCase, configuration: BenchConfiguration) -> Int {
        benchCase.prepare?(1)
        benchChecksum ^= benchCase.run(1)
        if let fixed = configuration.iterations { return max(1, fixed) }
        var iterations = 1
        while true {
            benchCase.prepare?(iterations)
            let start = monotonicNanoseconds()
            benchChecksum ^= benchCase.run(iterations)
            let elapsed = monotonicNanoseconds() - start
            if elapsed >= configuration.roundNanoseconds || iterations >= 1 << 30 { return iterations }
            let scaled = elapsed == 0
                ? iterations * 16
                : Int(Double(iterations) * Double(configuration.roundNanoseconds) / Double(elapsed) * 1.05) + 1
            iterations = min(max(scaled, iterations * 2), iterations * 16)
        }
    }

    /// One timed round: nanoseconds per op and allocations.
    static func round(_ benchCase: BenchCase, iterations: Int) -> (nanoseconds: Double, allocations: UInt64) {
        benchCase.prepare?(iterations)
        let allocationsBefore = wirecodec_malloc_count()
        let start = monotonicNanoseconds()
        benchChecksum ^= benchCase.run(iterations)
        let elapsed = monotonicNanoseconds() - start
        let allocations = wirecodec_malloc_count() - allocationsBefore
        return (Double(elapsed) / Double(iterations * benchCase.opsPerCall), allocations)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Runs the selected subjects of every workload; checks that their digests agree first.
    /// The rounds of a workload's subjects are interleaved (round 1 of each, then round 2 of
    /// each...), so a change in the machine's load falls on all of them alike and the ratios
    /// stay fair on a shared machine.
    static func run(_ workloads: [Workload], configuration: BenchConfiguration, progress: Bool) -> [BenchResult] {
        var results = [BenchResult]()
        for workload in workloads where workload.subjects.contains(where: { configuration.selects(workload.name, $0) }) {
            let allCases = workload.makeCases()
            precondition(allCases.allSatisfy { workload.subjects.contains($0.subject) }, "undeclared subject")
            let cases = allCases.filter { configuration.selects(workload.name, $0.subject) }
            guard !cases.isEmpty else { continue }
            let digests = cases.compactMap { benchCase in benchCase.digest.map { (benchCase.subject, $0()) } }
            if Set(digests.map(\.1)).count > 1 {
                var message = "wirecodec-bench: the subjects of \(workload.name) disagree on their output:\n"
                for (subject, digest) in digests { message += "  \(subject): \(digest)\n" }
                printError(message)
                exit(2)
            }
            let iterations = cases.map { calibrate($0, configuration: configuration) }
            var samples = Array(repeating: [Double](), count: cases.count)
            var allocations = Array(repeating: UInt64(0), count: cases.count)
            for _ in 0..<configuration.rounds {
                for index in cases.indices {
                    let sample = round(cases[index], iterations: iterations[index])
                    samples[index].append(sample.nanoseconds)
                    allocations[index] &+= sample.allocations
                }
            }
            for (index, benchCase) in cases.enumerated() {
                let ops = Double(configuration.rounds * iterations[index] * benchCase.opsPerCall)
                let result = BenchResult(
                    workload: workload.name, subject: benchCase.subject, nsPerOp: median(samples[index]),
                    allocsPerOp: Double(allocations[index]) / ops, bytesPerOp: workload.bytesPerOp)
                if progress {
                    printError("\(workload.name) \(benchCase.subject): \(Format.nanoseconds(result.nsPerOp)) ns/op, "
                        + "\(Format.short(result.allocsPerOp, 2)) allocs/op\n")
                }
                results.append(result)
            }
        }
        return results
    }

    /// Heap bytes (usable size, as glibc reports it) that `body` leaves allocated while it
    /// keeps its state alive: `body` builds the state, calls `hold` while it still owns it,
    /// and releases it afterwards. Runs `body` twice and reports the second run, so one-time
    /// allocations (type metadata, lazily built globals) are not counted.
    static func heapBytesHeld(_ body: (_ hold: () -> Void) -> Void) -> Int {
        wirecodec_track_bytes(true)
        defer { wirecodec_track_bytes(false) }
        var held: Int64 = 0
        for _ in 0..<2 {
            let before = wirecodec_allocated_bytes()
            body { held = wirecodec_allocated_bytes() - before }
        }
        return Int(held)
    }
}

/// Writes `text` to standard error (file descriptor 2; the C `stderr` global is not
/// concurrency-safe to name in Swift 6).
func printError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}
