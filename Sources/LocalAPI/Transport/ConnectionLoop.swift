import CStewardShims
import Dispatch
import NIOCore
import StewardModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One serving thread: an epoll set holding the listening sockets (shared with the other loops,
/// `EPOLLEXCLUSIVE`, so one loop wakes per connection) and the connections it was given, which
/// never leave it. It is also the task executor of its connections' handlers, so a request is
/// parsed, handled and answered on one thread.
///
/// Why not a NIO channel per connection: for mmctl-style traffic — one request per connection — a
/// channel's setup and teardown (pipeline, promises, selector registration, a hand-off between
/// threads) cost more than the request; see docs/performance.md.
final class ConnectionLoop: TaskExecutor, @unchecked Sendable {
    /// How often idle and request-read deadlines are checked.
    static let sweepInterval = TimeAmount.milliseconds(200)
    private static let wakeToken: UInt64 = 1 << 62
    private static let listenerFlag: UInt64 = 1 << 61

    private let epfd: Int32
    private let wakeFD: Int32
    /// Called on the loop for each accepted socket; set before `start`.
    var accept: (_ fd: Int32, _ listener: Int32, ConnectionLoop) -> Void = { fd, _, _ in _ = SystemCalls.close(fd) }
    /// Called on the loop, as its last act, when `epoll_wait` fails for good: the loop stops
    /// (its connections with it) and the watchdog's proof of life no longer comes; set before `start`.
    var failed: (Int32) -> Void = { _ in }
    /// Set by `stop`; the loop exits at its next turn and closes its descriptors.
    private let stopping = Atomic<Bool>(false)
    /// Consecutive `epoll_wait` failures other than EINTR.
    private static let maxWaitFailures = 100
    /// The loop thread's id, recorded by the thread itself (0 until it runs).
    private let threadID = Atomic<UInt>(0)
    /// Connections this loop serves plus those handed to it and not yet adopted: what the accepting
    /// loop compares to spread connections evenly. Read from any thread.
    private let assigned = Atomic<Int>(0)

    private enum Work {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }
    private struct Queue {
        var items: [Work] = []
        /// The loop has ended: work goes to the global executors instead (and the wake descriptor
        /// is closed, so it must not be written to).
        var ended = false
    }
    private let queue = Locked(Queue())

    // Loop-confined state (only touched on the loop's thread).
    private var connections: [Int32: Connection] = [:]
    private var listeners: [Int32] = []
    private var pausedListeners: [Int32] = []
    private var nextSweep = NIODeadline.distantFuture
    /// Reused for every read that starts a request and every response, so a one-request connection
    /// allocates no buffers of its own.
    var readScratch = ByteBuffer()
    var writeScratch = ByteBuffer()

    init() throws(ListenerError) {
        epfd = steward_epoll_create()
        guard epfd >= 0 else { throw .system(call: "epoll_create1", path: "", errno: errno) }
        wakeFD = steward_eventfd()
        guard wakeFD >= 0 else { throw .system(call: "eventfd", path: "", errno: errno) }
        guard steward_epoll_ctl(epfd, Int32(STEWARD_EPOLL_CTL_ADD), wakeFD, STEWARD_EPOLLIN, Self.wakeToken) == 0 else {
            throw .system(call: "epoll_ctl", path: "", errno: errno)
        }
        readScratch = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        writeScratch = ByteBufferAllocator().buffer(capacity: 4 * 1024)
    }

    /// Starts the thread. The loop runs until `stop`.
    func start() throws(ListenerError) {
        let rc = DedicatedThread.start(name: "steward-loop") { self.run() }
        guard rc == 0 else { throw .system(call: "pthread_create", path: "", errno: rc) }
    }

    var inLoop: Bool { pthread_self() == threadID.load(ordering: .relaxed) }

    /// `stop` has run: the loop serves nobody new (work still queued behind it runs, then the loop ends).
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Ends the loop: its thread returns after the current turn, closing the epoll set and the
    /// wake descriptor. Connections still open are closed first (a stopped loop serves nobody).
    func stop() {
        execute { [self] in
            for c in Array(connections.values) { c.abort() }
            stopping.store(true, ordering: .relaxed)
        }
    }

    /// Runs `work` on the loop's thread, after what is already queued.
    func execute(_ work: @escaping @Sendable () -> Void) {
        enqueue(.closure(work))
    }

    func enqueue(_ job: consuming ExecutorJob) {
        enqueue(.job(UnownedJob(job)))
    }

    private func enqueue(_ work: Work) {
        let inLoop = self.inLoop
        let accepted = queue.withLock { q in
            if q.ended { return false }
            q.items.append(work)
            // The loop drains the queue before it sleeps again, so only the first item needs to
            // wake it. Written under the lock: the loop closes the descriptor under it too.
            if q.items.count == 1 && !inLoop {
                var one: UInt64 = 1
                _ = Glibc.write(wakeFD, &one, 8)
            }
            return true
        }
        if !accepted { Self.runElsewhere(work) }
    }

    /// Work for a loop that has ended: a task still resumes (on the global executor), a closure
    /// still runs (its connection is closed, so it finds nothing to do).
    private static func runElsewhere(_ work: Work) {
        switch work {
        case .closure(let f): BlockingPool.shared.submit(f)
        case .job(let j): globalConcurrentExecutor.enqueue(j)
        }
    }

    // MARK: on the loop

    /// Starts accepting on a listening socket (non-blocking, shared by every loop). Returns 0 or the
    /// errno of epoll_ctl.
    func addListener(_ fd: Int32) -> Int32 {
        let data = Self.listenerFlag | UInt64(UInt32(bitPattern: fd))
        var rc = steward_epoll_ctl(epfd, Int32(STEWARD_EPOLL_CTL_ADD), fd, STEWARD_EPOLLIN | STEWARD_EPOLLEXCLUSIVE, data)
        if rc != 0 && errno == EINVAL {
            // A kernel before 4.5 has no EPOLLEXCLUSIVE: every loop wakes and all but one find
            // nothing to accept — slower, still correct.
            rc = steward_epoll_ctl(epfd, Int32(STEWARD_EPOLL_CTL_ADD), fd, STEWARD_EPOLLIN, data)
        }
        guard rc == 0 else { return errno }
        listeners.append(fd)
        return 0
    }

    /// Stops accepting (before the server closes the listening sockets).
    func removeListeners() {
        for fd in listeners { _ = steward_epoll_ctl(epfd, Int32(STEWARD_EPOLL_CTL_DEL), fd, 0, 0) }
        listeners.removeAll()
        pausedListeners.removeAll()
    }

    /// How many connections this loop has or is about to have (any thread; a hint, not a lock).
    var load: Int { assigned.load(ordering: .relaxed) }

    /// Counts an accepted connection for this loop before it is adopted here, so the accepts that
    /// follow in the same batch see it; `unregister` (or `release`) gives it back.
    func reserve() { assigned.add(1, ordering: .relaxed) }

    /// A reserved connection that never registered (refused over the caps, or the loop ended).
    func release() { assigned.subtract(1, ordering: .relaxed) }

    func register(_ connection: Connection) {
        connections[connection.fd] = connection
        if nextSweep == .distantFuture { nextSweep = .now() + Self.sweepInterval }
    }

    func unregister(_ connection: Connection) {
        if connections[connection.fd] === connection {
            connections.removeValue(forKey: connection.fd)
            assigned.subtract(1, ordering: .relaxed)
        }
    }

    /// Sets the events a connection waits for; `old` is what it waited for until now (0: not in the set).
    func setInterest(fd: Int32, old: UInt32, new: UInt32) {
        let op: Int32
        if old == 0 { op = STEWARD_EPOLL_CTL_ADD } else if new == 0 { op = STEWARD_EPOLL_CTL_DEL } else { op = STEWARD_EPOLL_CTL_MOD }
        _ = steward_epoll_ctl(epfd, op, fd, new, UInt64(UInt32(bitPattern: fd)))
    }

    /// Graceful shutdown: stop accepting, close idle connections, close the others after their answer.
    func shutdownConnections() {
        removeListeners()
        for c in Array(connections.values) { c.shutdown() }
    }

    private func run() {
        threadID.store(pthread_self(), ordering: .relaxed)
        var events = [UInt32](repeating: 0, count: 64)
        var datas = [UInt64](repeating: 0, count: 64)
        var waitFailures = 0
        while !stopping.load(ordering: .relaxed) {
            let hasWork = queue.withLock { !$0.items.isEmpty }
            let n = events.withUnsafeMutableBufferPointer { ev in
                datas.withUnsafeMutableBufferPointer { d in
                    steward_epoll_wait(epfd, ev.baseAddress, d.baseAddress, 64, hasWork ? 0 : timeoutMilliseconds())
                }
            }
            if n < 0 {
                let e = errno
                if e != EINTR {
                    // Not expected with a valid epoll set (EBADF, EFAULT, EINVAL): retry a little, then
                    // give up loudly instead of spinning or trapping the daemon.
                    waitFailures += 1
                    if waitFailures >= Self.maxWaitFailures {
                        failed(e)
                        break
                    }
                    usleep(10_000)
                }
            } else {
                waitFailures = 0
            }
            for i in 0..<max(0, Int(n)) {
                let data = datas[i]
                if data == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                } else if data & Self.listenerFlag != 0 {
                    acceptConnections(on: Int32(bitPattern: UInt32(truncatingIfNeeded: data)))
                } else if let c = connections[Int32(bitPattern: UInt32(truncatingIfNeeded: data))] {
                    c.ready(events: events[i])
                }
            }
            runQueued()
            if NIODeadline.now() >= nextSweep { sweep() }
        }
        // Whatever runs the leftovers is not this loop — and this thread's id may soon belong to
        // another thread (pthread ids are reused), so no later thread may pass for the loop.
        threadID.store(0, ordering: .relaxed)
        let left = queue.withLock { q in
            q.ended = true
            _ = SystemCalls.close(wakeFD)
            defer { q.items.removeAll() }
            return q.items
        }
        for w in left { Self.runElsewhere(w) }
        for fd in listeners + pausedListeners { _ = steward_epoll_ctl(epfd, Int32(STEWARD_EPOLL_CTL_DEL), fd, 0, 0) }
        _ = SystemCalls.close(epfd)
    }

    private func runQueued() {
        let work = queue.withLock { q in
            defer { q.items.removeAll(keepingCapacity: true) }
            return q.items
        }
        for w in work {
            switch w {
            case .closure(let f): f()
            case .job(let j): j.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }

    private func timeoutMilliseconds() -> Int32 {
        if nextSweep == .distantFuture { return -1 }
        let ns = (nextSweep - .now()).nanoseconds
        return ns <= 0 ? 0 : Int32(min((ns + 999_999) / 1_000_000, 60_000))
    }

    /// Accepts what is waiting, a bounded batch at a time so this loop's connections keep being served.
    private func acceptConnections(on listener: Int32) {
        for _ in 0..<32 {
            let fd = steward_accept(listener)
            if fd >= 0 {
                accept(fd, listener, self)
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK: return
            case EINTR, ECONNABORTED, EPROTO: continue
            default:
                // Out of descriptors or memory: stop listening on this loop until the next sweep
                // instead of spinning on a socket that stays readable.
                _ = steward_epoll_ctl(epfd, Int32(STEWARD_EPOLL_CTL_DEL), listener, 0, 0)
                listeners.removeAll { $0 == listener }
                pausedListeners.append(listener)
                if nextSweep == .distantFuture { nextSweep = .now() + Self.sweepInterval }
                return
            }
        }
    }

    private func sweep() {
        let now = NIODeadline.now()
        for c in Array(connections.values) where c.deadline <= now { c.sweep(now: now) }
        let paused = pausedListeners
        pausedListeners.removeAll()
        for fd in paused where addListener(fd) != 0 { pausedListeners.append(fd) }
        nextSweep = connections.isEmpty ? .distantFuture : now + Self.sweepInterval
    }
}
