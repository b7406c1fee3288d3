import NIOCore

/// The connections served by one event loop, touched only on that loop (no lock on the hot path).
///
/// One repeating sweep per loop enforces the idle and request-read deadlines, instead of a timer
/// scheduled and cancelled for every connection and request.
final class LoopConnections: @unchecked Sendable {
    static let sweepInterval = TimeAmount.milliseconds(200)

    let loop: EventLoop
    let executor: EventLoopTaskExecutor
    private var handlers: [ObjectIdentifier: HTTPConnectionHandler] = [:]
    private var sweeper: RepeatedTask?

    init(loop: EventLoop) {
        self.loop = loop
        self.executor = EventLoopTaskExecutor(loop)
    }

    func start() {
        loop.execute {
            self.sweeper = self.loop.scheduleRepeatedTask(initialDelay: Self.sweepInterval, delay: Self.sweepInterval) { _ in
                self.sweep()
            }
        }
    }

    func add(_ handler: HTTPConnectionHandler) {
        loop.preconditionInEventLoop()
        handlers[ObjectIdentifier(handler)] = handler
    }

    func remove(_ handler: HTTPConnectionHandler) {
        handlers.removeValue(forKey: ObjectIdentifier(handler))
    }

    private func sweep() {
        let now = NIODeadline.now()
        for h in handlers.values where h.deadline < now { h.deadlinePassed() }
    }

    /// Asks every connection to close once idle (now, if it is idle already) and stops sweeping.
    func shutdown() -> EventLoopFuture<Void> {
        loop.submit {
            for h in self.handlers.values { h.shutdown() }
        }
    }

    func stopSweeping() {
        loop.execute {
            self.sweeper?.cancel()
            self.sweeper = nil
        }
    }
}
