import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import StewardModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Serves the API on one or more listening unix sockets.
///
/// Each accepted connection's peer credentials are read once, by the `Acceptor`, before NIO owns the
/// socket and before any byte is parsed, and travel with the connection as a typed value.
public final class LocalAPIServer: Sendable {
    private let dispatcher: Dispatcher
    private let limiter: ConnectionLimiter
    private let limits: Mutex<TransportLimits>
    private let group: EventLoopGroup
    private let logger: Logger
    private let acceptors = Mutex<[Acceptor]>([])
    private let listenerSockets = Mutex<[ListenerSocket]>([])
    private let loops: [ObjectIdentifier: LoopConnections]

    public init(dispatcher: Dispatcher, settings: ServiceSettings, group: EventLoopGroup, logger: Logger) {
        self.dispatcher = dispatcher
        self.limiter = ConnectionLimiter(maxTotal: settings.maxConnections, maxPerUID: settings.maxConnectionsPerUid)
        self.limits = Mutex(TransportLimits(settings))
        self.group = group
        self.logger = logger
        var loops: [ObjectIdentifier: LoopConnections] = [:]
        for loop in group.makeIterator() { loops[ObjectIdentifier(loop)] = LoopConnections(loop: loop) }
        self.loops = loops
    }

    /// Applies limits from a reloaded config; open connections keep the limits they started with.
    public func apply(_ settings: ServiceSettings) {
        limits.withLock { $0 = TransportLimits(settings) }
        limiter.updateLimits(maxTotal: settings.maxConnections, maxPerUID: settings.maxConnectionsPerUid)
    }

    public var openConnections: Int { limiter.openConnections }

    /// Starts accepting on every listener; returns once all of them accept connections.
    public func start(_ listeners: [ListenerSocket]) async throws {
        listenerSockets.withLock { $0 = listeners }
        for l in loops.values { l.start() }
        for listener in listeners {
            let acceptor = Acceptor(listener: listener, loops: Array(loops.values)) { [self] fd, peer, loop in
                self.adopt(fd, peer: peer, on: loop)
            }
            try acceptor.start()
            acceptors.withLock { $0.append(acceptor) }
            logger.info(
                "listening",
                metadata: ["listener": "\(listener.settings.name)", "path": "\(listener.settings.path)",
                           "mode": "\(listener.settings.mode)", "socket_activated": "\(!listener.ownsPath)"])
        }
    }

    /// Stops accepting, lets requests in flight finish, closes idle keep-alive connections, and
    /// waits (up to `timeout`) for every connection to close. Removes socket files we created.
    public func shutdown(timeout: Duration) async {
        let stopped = acceptors.withLock { a in defer { a.removeAll() }; return a }
        for a in stopped { a.stop() }
        for l in listenerSockets.withLock({ $0 }) {
            l.removeFileIfOwned()
            _ = SystemCalls.close(l.fd)
        }
        for l in loops.values { try? await l.shutdown().get() }
        let deadline = ContinuousClock.now + timeout
        while limiter.openConnections > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if limiter.openConnections > 0 {
            logger.warning("connections still open at the end of the shutdown timeout", metadata: ["open": "\(limiter.openConnections)"])
        }
        for l in loops.values { l.stopSweeping() }
    }

    /// Hands an accepted socket to its event loop: refused with a 503 over the connection caps,
    /// otherwise wrapped in a NIO channel whose pipeline is our connection handler.
    private func adopt(_ fd: Int32, peer: PeerCredentials, on loop: LoopConnections) {
        if let refusal = limiter.acquire(uid: peer.uid) {
            logger.warning(
                "connection refused",
                metadata: ["message_id": "\(JournalMessageID.connectionRefused)", "peer_uid": "\(peer.uid)",
                           "peer_pid": "\(peer.pid)", "reason": "\(refusal)"])
            Self.closePidfd(peer)
            RefuseConnection.answer(fd: fd, error: .tooManyConnections(detail: refusal))
            return
        }
        // Released exactly once: when the channel closes, or when it never came to be.
        let slot = ConnectionSlot(limiter: limiter, peer: peer)
        let bootstrap = ClientBootstrap(group: loop.loop).channelInitializer { [self] channel in
            channel.eventLoop.makeCompletedFuture { try self.configure(channel, peer: peer, slot: slot) }
        }
        bootstrap.withConnectedSocket(fd).whenFailure { [self] error in
            slot.release()
            logger.warning("could not adopt an accepted connection", metadata: ["error": "\(error)"])
        }
    }

    private func configure(_ channel: Channel, peer: PeerCredentials, slot: ConnectionSlot) throws {
        channel.closeFuture.whenComplete { _ in slot.release() }
        let limits = self.limits.withLock { $0 }
        let handler = HTTPConnectionHandler(
            peer: peer, dispatcher: dispatcher, limits: limits, loopConnections: loopConnections(for: channel.eventLoop))
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    private func loopConnections(for loop: EventLoop) -> LoopConnections {
        guard let l = loops[ObjectIdentifier(loop)] else {
            preconditionFailure("a child channel on an event loop outside the server's group")
        }
        return l
    }

    private static func closePidfd(_ peer: PeerCredentials) {
        if let fd = peer.pidfd { _ = SystemCalls.close(fd) }
    }
}

/// A connection's place under the caps and its pidfd, given back once however the connection ends
/// (a second close of the pidfd could close an unrelated descriptor that reused its number).
final class ConnectionSlot: Sendable {
    private let limiter: ConnectionLimiter
    private let peer: PeerCredentials
    private let released = Atomic<Bool>(false)

    init(limiter: ConnectionLimiter, peer: PeerCredentials) {
        self.limiter = limiter
        self.peer = peer
    }

    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        limiter.release(uid: peer.uid)
        if let fd = peer.pidfd { _ = SystemCalls.close(fd) }
    }
}

/// Answers a refused connection with a raw 503 and closes it, before NIO ever sees the socket.
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
