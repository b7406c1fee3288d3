import Dispatch

/// The one way blocking work (SQLite calls, file reads, a config migrate, a job's worker) leaves
/// the connection loops and Swift's cooperative pool: at most `width` items run at once, on
/// Dispatch threads, in submission order; the rest wait in a queue. Dispatch alone would start a
/// thread for every blocked item (up to 64), and a blocked cooperative thread stalls unrelated
/// tasks.
public final class BlockingPool: Sendable {
    /// Store and file work of requests and the engine: short, many.
    public static let shared = BlockingPool(label: "steward.blocking", width: 8)

    private let queue: DispatchQueue
    private let width: Int
    private let state = Locked<(running: Int, waiting: [@Sendable () -> Void])>((0, []))

    public init(label: String, width: Int) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
        self.width = max(1, width)
    }

    /// Runs `work` as soon as one of the pool's places is free.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        let start = state.withLock { s -> Bool in
            if s.running < width {
                s.running += 1
                return true
            }
            s.waiting.append(work)
            return false
        }
        if start { queue.async { self.drain(work) } }
    }

    /// Runs `body` in the pool and resumes the caller with its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            submit { cont.resume(with: Result { try body() }) }
        }
    }

    /// Items waiting for a place (for tests and diagnostics).
    public var waiting: Int { state.withLock { $0.waiting.count } }

    private func drain(_ first: @escaping @Sendable () -> Void) {
        var next: (@Sendable () -> Void)? = first
        while let work = next {
            work()
            next = state.withLock { s -> (@Sendable () -> Void)? in
                if s.waiting.isEmpty {
                    s.running -= 1
                    return nil
                }
                return s.waiting.removeFirst()
            }
        }
    }
}
