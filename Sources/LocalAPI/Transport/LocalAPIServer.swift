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
/// Each accepted connection's peer credentials are read once in the child channel initializer,
/// before any byte is parsed, and travel with the connection as a typed value.
public final class LocalAPIServer: Sendable {
    private let dispatcher: Dispatcher
    private let limiter: ConnectionLimiter
    private let limits: Mutex<TransportLimits>
    private let group: EventLoopGroup
    private let logger: Logger
    private let serverChannels = Mutex<[Channel]>([])
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
            // One acceptor per listener; NIO spreads the connections over the event loops. (Several
            // loops polling duplicates of one listening socket is faster, but every loop then wakes
            // for every connection and all but one find nothing, which NIO asserts never happens.)
            let channel = try await makeBootstrap().withBoundSocket(listener.fd).get()
            serverChannels.withLock { $0.append(channel) }
            logger.info(
                "listening",
                metadata: ["listener": "\(listener.settings.name)", "path": "\(listener.settings.path)",
                           "mode": "\(listener.settings.mode)", "socket_activated": "\(!listener.ownsPath)"])
        }
    }

    /// Stops accepting, lets requests in flight finish, closes idle keep-alive connections, and
    /// waits (up to `timeout`) for every connection to close. Removes socket files we created.
    public func shutdown(timeout: Duration) async {
        let servers = serverChannels.withLock { s in defer { s.removeAll() }; return s }
        for s in servers { try? await s.close() }
        for l in listenerSockets.withLock({ $0 }) { l.removeFileIfOwned() }
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

    private func makeBootstrap() -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 512)
            .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.configure(channel, peer: PeerCredentialReader.read(channel))
                }
            }
    }

    private func configure(_ channel: Channel, peer: PeerCredentials) throws {
        if let refusal = limiter.acquire(uid: peer.uid) {
            logger.warning(
                "connection refused",
                metadata: ["message_id": "\(JournalMessageID.connectionRefused)", "peer_uid": "\(peer.uid)",
                           "peer_pid": "\(peer.pid)", "reason": "\(refusal)"])
            Self.closePidfd(peer)
            try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler(error: .tooManyConnections(detail: refusal)))
            return
        }
        channel.closeFuture.whenComplete { [limiter] _ in
            limiter.release(uid: peer.uid)
            Self.closePidfd(peer)
        }

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

/// Answers a refused connection with a raw 503 and closes it.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let error: AppError

    init(error: AppError) { self.error = error }

    func channelActive(context: ChannelHandlerContext) {
        let body = error.json
        let text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let buffer = context.channel.allocator.buffer(string: text)
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { channelActive(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
