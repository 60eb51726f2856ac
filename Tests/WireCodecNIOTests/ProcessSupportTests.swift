import Foundation
import Testing

/// The test helpers that run other programs stop them when they overrun: a child started from
/// a test inherits the test thread's signal mask, SIGTERM blocked among others, so SIGTERM
/// alone does not end a program that does not unblock it (Python peers, shell scripts, sleep).
@Suite struct ProcessSupportTests {
    @Test func aProgramThatOverrunsItsTimeoutIsStopped() throws {
        let started = Date()
        let result = try runProcess("/bin/sleep", ["30"], timeout: 1)
        #expect(result.timedOut)
        #expect(Date().timeIntervalSince(started) < 15, "stopped soon after the timeout, not when it ended by itself")
    }

    /// A child that exits without reading its input: the write fails with EPIPE, which must not
    /// end the test process (`FileHandle.write(_:)` traps on it; the clean-clone test run of
    /// 2026-12-06 18:28 died so).
    @Test func aChildThatReadsNoInputDoesNotStopTheTests() throws {
        let result = try runProcess("/bin/true", [], stdin: Data(count: 1 << 20), timeout: 30)
        #expect(result.status == 0)
    }
}
