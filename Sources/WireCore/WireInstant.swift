/// An instant of the caller's monotonic clock, in nanoseconds since an origin of its choosing
/// (NIO's `NIODeadline.uptimeNanoseconds`, say).
///
/// The codecs have no clock: connection machines that keep deadlines take `now` as one of
/// these (``WireInstant``'s arithmetic saturates, so a far deadline never wraps).
public struct WireInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// `lhs` moved forward by `rhs` (negative durations count as zero; saturating).
    public static func + (lhs: Self, rhs: Duration) -> Self {
        let (seconds, attoseconds) = rhs.components
        guard seconds >= 0 && (seconds > 0 || attoseconds > 0) else { return lhs }
        let (secondsPart, overflow1) = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let nanos = UInt64(clamping: attoseconds / 1_000_000_000)
        let (delta, overflow2) = secondsPart.addingReportingOverflow(nanos)
        let (sum, overflow3) = lhs.nanoseconds.addingReportingOverflow(delta)
        return Self(nanoseconds: overflow1 || overflow2 || overflow3 ? .max : sum)
    }

    /// The time from `rhs` to `lhs` (zero when `lhs` is earlier).
    public static func - (lhs: Self, rhs: Self) -> Duration {
        lhs.nanoseconds > rhs.nanoseconds ? .nanoseconds(Int64(clamping: lhs.nanoseconds - rhs.nanoseconds)) : .zero
    }

    public var description: String { "\(nanoseconds) ns" }
}
