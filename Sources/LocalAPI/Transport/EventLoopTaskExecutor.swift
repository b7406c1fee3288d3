import NIOCore

/// Runs Swift tasks on a NIO event loop, so a request's handler runs on its connection's thread
/// instead of hopping to the global executor and back for every request.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let loop: EventLoop

    init(_ loop: EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
