import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// One `NOTIFY` received: its channel, payload and the server process that sent it.
public struct PGNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    public var senderPID: Int32

    public init(channel: String, payload: String, senderPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderPID = senderPID
    }
}

/// `LISTEN`/`NOTIFY` on a connection of its own: listen on channels, then wait on the socket
/// (`PQsocket`) for what arrives. A listening connection should do nothing else — a query on it
/// would have to be read past the notifications — so the store keeps one per node for this.
///
/// Notifications sent while the connection is down are lost (PostgreSQL keeps none for a
/// listener that is gone): after a reconnect a listener must listen again and re-read the state
/// the notifications were about.
extension PGConnection {
    /// Starts listening on `channel` (an identifier, quoted here: any text is safe).
    public func listen(_ channel: String) throws(PGError) {
        try execute("LISTEN " + Self.identifier(channel))
    }

    /// Stops listening on `channel`.
    public func unlisten(_ channel: String) throws(PGError) {
        try execute("UNLISTEN " + Self.identifier(channel))
    }

    /// A channel name as a quoted identifier (an inner quote doubled).
    static func identifier(_ name: String) -> String {
        "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    /// Sends `payload` (PostgreSQL's limit: under 8000 bytes) to every listener on `channel`;
    /// inside a transaction it is delivered at commit, and not at all on rollback.
    public func notify(_ channel: String, _ payload: String) throws(PGError) {
        _ = try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// The descriptor to wait on for notifications (for an epoll set or `poll`).
    public var socketDescriptor: Int32 { pq.socket!(handle) }

    /// Notifications already received, without waiting: reads what the socket holds.
    /// Throws `connectionLost` when the server has gone.
    public func pendingNotifications() throws(PGError) -> [PGNotification] {
        guard pq.consumeInput!(handle) == 1 else {
            throw PGError(kind: .connectionLost, message: dsn.masking(Self.trimmed(pq.errorMessage!(handle))))
        }
        var received: [PGNotification] = []
        while let n = pq.notifies!(handle) {
            received.append(PGNotification(
                channel: String(cString: n.pointee.relname), payload: String(cString: n.pointee.extra), senderPID: n.pointee.be_pid))
            pq.freemem!(UnsafeMutableRawPointer(n))
        }
        return received
    }

    /// Waits up to `timeoutMilliseconds` for notifications and returns them (none: the time ran
    /// out). Throws `connectionLost` when the server has gone.
    public func waitForNotifications(timeoutMilliseconds: Int32) throws(PGError) -> [PGNotification] {
        let ready = try pendingNotifications()
        if !ready.isEmpty { return ready }
        var fd = pollfd(fd: socketDescriptor, events: Int16(POLLIN), revents: 0)
        guard fd.fd >= 0 else { throw PGError(kind: .connectionLost, message: "the connection has no socket") }
        let n = poll(&fd, 1, timeoutMilliseconds)
        if n < 0 && errno != EINTR { throw PGError(kind: .connectionLost, message: "poll: \(String(cString: strerror(errno)))") }
        return n > 0 ? try pendingNotifications() : []
    }
}
