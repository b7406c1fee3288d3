import CStewardShims
import Logging
import StewardModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Serves the API on one or more listening unix sockets.
///
/// A fixed set of `ConnectionLoop`s (one per CPU) all accept from every listener; each accepted
/// connection's peer credentials are read once, right after accept and before any byte is parsed,
/// and travel with the connection as a typed value.
public final class LocalAPIServer: Sendable {
    private let dispatcher: Dispatcher
    private let limiter: ConnectionLimiter
    private let limits: Locked<TransportLimits>
    private let logger: Logger
    private let listenerSockets = Locked<[ListenerSocket]>([])
    private let loops: [ConnectionLoop]

    /// Starts one serving thread per CPU this process may use; they accept once `start` is called.
    public init(dispatcher: Dispatcher, settings: ServiceSettings, logger: Logger) throws {
        self.dispatcher = dispatcher
        self.limiter = ConnectionLimiter(caps: .init(settings))
        self.limits = Locked(TransportLimits(settings))
        self.logger = logger
        self.loops = try (0..<Int(steward_cpu_count())).map { _ throws(ListenerError) in try ConnectionLoop() }
        for loop in loops {
            loop.accept = { [weak self] fd, listener, loop in
                guard let self else { return _ = SystemCalls.close(fd) }
                self.place(fd, from: listener, acceptedOn: loop)
            }
            loop.failed = { [logger] e in
                logger.critical(
                    "a connection loop stopped: epoll_wait keeps failing",
                    metadata: ["errno": "\(e)", "error": "\(String(cString: strerror(e)))"])
            }
            try loop.start()
        }
    }

    /// Applies limits from a reloaded config; open connections keep the limits they started with.
    public func apply(_ settings: ServiceSettings) {
        limits.withLock { $0 = TransportLimits(settings) }
        limiter.update(.init(settings))
    }

    /// Starts accepting on every listener; returns once all of them accept connections.
    public func start(_ listeners: [ListenerSocket]) async throws {
        listenerSockets.withLock { $0 = listeners }
        for listener in listeners {
            // Every loop polls the socket; accept must not block the one that loses the race.
            let flags = fcntl(listener.fd, F_GETFL)
            _ = fcntl(listener.fd, F_SETFL, flags | O_NONBLOCK)
        }
        // Logged before the loops poll them: the first request may be answered at once.
        for listener in listeners {
            logger.info(
                "listening",
                metadata: ["listener": "\(listener.settings.name)", "path": "\(listener.settings.path)",
                           "mode": "\(listener.settings.mode)", "socket_activated": "\(!listener.ownsPath)"])
        }
        let failures = Locked<[(String, Int32)]>([])
        await onEveryLoop { loop in
            for l in listeners {
                let e = loop.addListener(l.fd)
                if e != 0 { failures.withLock { $0.append((l.settings.path, e)) } }
            }
        }
        if let (path, e) = failures.withLock({ $0.first }) {
            throw ListenerError.system(call: "epoll_ctl", path: path, errno: e)
        }
    }

    /// Stops accepting, lets requests in flight finish, closes idle keep-alive connections, and
    /// waits (up to `timeout`) for every connection to close. Removes socket files we created.
    public func shutdown(timeout: Duration) async {
        await onEveryLoop { $0.shutdownConnections() }
        for l in listenerSockets.withLock({ l in defer { l.removeAll() }; return l }) {
            l.removeFileIfOwned()
            _ = SystemCalls.close(l.fd)
        }
        let deadline = ContinuousClock.now + timeout
        while limiter.openConnections > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if limiter.openConnections > 0 {
            logger.warning("connections still open at the end of the shutdown timeout", metadata: ["open": "\(limiter.openConnections)"])
        }
    }

    /// Writes the summary entries of throttled denials whose interval is over.
    public func flushSuppressedAuditEntries() {
        dispatcher.audit.flushSuppressed()
    }

    /// Each serving loop's connections, placed or about to be (for tests and diagnostics).
    var loopLoads: [Int] { loops.map(\.load) }

    /// Ends the serving threads (after `shutdown`): connections still open are closed.
    public func stopLoops() {
        for loop in loops { loop.stop() }
    }

    /// Returns once every serving thread has run an empty task: the watchdog's proof of life.
    public func loopsAnswer() async {
        await onEveryLoop { _ in }
    }

    private func onEveryLoop(_ work: @escaping @Sendable (ConnectionLoop) -> Void) async {
        for loop in loops {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                loop.execute {
                    work(loop)
                    done.resume()
                }
            }
        }
    }

    /// Called on the loop that accepted `fd`: the connection goes to the loop with the fewest, this
    /// one on a tie. Whichever loop wakes first accepts a whole burst (a load generator's or a
    /// script's connections arrive together), and a connection never moves once placed, so without
    /// this one loop can hold three of four busy connections while the other idles.
    private func place(_ fd: Int32, from listenerFD: Int32, acceptedOn loop: ConnectionLoop) {
        let here = loops.firstIndex { $0 === loop } ?? 0
        let target = loops[Self.placement(loads: loopLoads, acceptedOn: here)]
        target.reserve()
        if target === loop { return adopt(fd, from: listenerFD, on: loop) }
        target.execute { [self] in
            // A loop that has ended runs its leftovers elsewhere, and one that is stopping would
            // close its epoll set under the connection: nothing may be served from either.
            guard target.inLoop, !target.isStopping else {
                target.release()
                return _ = SystemCalls.close(fd)
            }
            adopt(fd, from: listenerFD, on: target)
        }
    }

    /// The index of the loop a new connection goes to: the first with the fewest connections, or
    /// the accepting one when none has fewer (no hand-off between threads without a gain).
    static func placement(loads: [Int], acceptedOn here: Int) -> Int {
        var best = here
        for (i, load) in loads.enumerated() where load < loads[best] { best = i }
        return best
    }

    /// Called on `loop`, which has reserved a place for `fd`: refused with a 503 over the connection
    /// caps, otherwise served by a `Connection` on that loop.
    private func adopt(_ fd: Int32, from listenerFD: Int32, on loop: ConnectionLoop) {
        let peer = PeerCredentialReader.read(fd)
        let listener = listenerSockets.withLock { $0.first { $0.fd == listenerFD }?.settings.name } ?? ""
        if let refusal = limiter.acquire(uid: peer.uid, listener: listener, administrator: self.dispatcher.isAdministrator(peer)) {
            dispatcher.audit.connectionRefused(peer: peer, listener: listener, reason: refusal)
            if let pidfd = peer.pidfd { _ = SystemCalls.close(pidfd) }
            RefuseConnection.answer(fd: fd, error: .tooManyConnections(detail: refusal))
            loop.release()
            return
        }
        // Released exactly once, when the connection closes.
        let slot = ConnectionSlot(limiter: limiter, peer: peer, listener: listener)
        let connection = Connection(
            fd: fd, peer: peer, slot: slot, loop: loop, dispatcher: dispatcher, limits: limits.withLock { $0 })
        connection.start()
    }
}

/// A connection's place under the caps and its pidfd, given back once however the connection ends
/// (a second close of the pidfd could close an unrelated descriptor that reused its number).
final class ConnectionSlot: Sendable {
    private let limiter: ConnectionLimiter
    private let peer: PeerCredentials
    private let listener: String
    private let released = Atomic<Bool>(false)

    init(limiter: ConnectionLimiter, peer: PeerCredentials, listener: String) {
        self.limiter = limiter
        self.peer = peer
        self.listener = listener
    }

    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        limiter.release(uid: peer.uid, listener: listener)
        if let fd = peer.pidfd { _ = SystemCalls.close(fd) }
    }
}

/// Answers a refused connection with a raw 503 and closes it, before any byte of it is read.
enum RefuseConnection {
    static func answer(fd: Int32, error: AppError) {
        let body = error.json
        let text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let bytes = Array(text.utf8)
        // A fresh socket's send buffer holds this easily; a short write just truncates a refusal.
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        close(fd)
    }
}
