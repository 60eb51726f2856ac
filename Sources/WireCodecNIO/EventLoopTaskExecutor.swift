import NIOCore

/// A Swift task executor (SE-0417) that runs jobs on one NIO event loop: a task that prefers
/// it runs on the loop's thread, so what the loop hands it (an inbound event through
/// `NIOAsyncChannel`, a completed future) resumes it on that thread, and what it writes goes
/// to the channel at once (NIO's async writer writes directly when called on the loop),
/// without waking a thread of Swift's global pool each way.
///
/// Each job is queued with `EventLoop.execute` and runs synchronously there, after what is
/// already queued on the loop. (NIO 2.101 offers the loop as a `SerialExecutor` only.)
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// One ``EventLoopTaskExecutor`` per event loop of a group, made once.
struct EventLoopTaskExecutors: Sendable {
    private let executors: [ObjectIdentifier: EventLoopTaskExecutor]
    /// Every loop's executor, in the group's order.
    let all: [EventLoopTaskExecutor]

    init(_ group: any EventLoopGroup) {
        all = group.makeIterator().map { EventLoopTaskExecutor($0) }
        executors = Dictionary(all.map { (ObjectIdentifier($0.eventLoop), $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The executor of `eventLoop` (a new one for a loop outside the group).
    func executor(for eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        executors[ObjectIdentifier(eventLoop)] ?? EventLoopTaskExecutor(eventLoop)
    }
}
