import Logging
import StewardModel

/// Fixed 128-bit journal MESSAGE_IDs, one per event kind, so `journalctl MESSAGE_ID=…` finds them.
public enum JournalMessageID {
    public static let accessDenied = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b51"
    public static let privilegedAction = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b52"
    public static let started = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b53"
    public static let stopping = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b54"
    public static let reloaded = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b55"
    public static let reloadFailed = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b56"
    public static let connectionRefused = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b57"
    public static let internalError = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b58"
    /// A peer's denials or refused connections past the throttle, counted over an interval.
    public static let suppressed = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b5b"
}

/// Writes audit entries (docs/security.md, "What is audited"). A record opens as failed and is marked with the real outcome only
/// when the handler returns, so a crash or throw never reads as success.
///
/// Denials and refused connections go through a `DenialThrottle` (a few per peer and interval in
/// full, then one summary with the count); privileged-action entries are always written.
public struct AuditLog: Sendable {
    let logger: Logger
    let throttle: DenialThrottle

    public init(logger: Logger) {
        self.logger = logger
        self.throttle = DenialThrottle()
    }

    init(logger: Logger, throttle: DenialThrottle) {
        self.logger = logger
        self.throttle = throttle
    }

    func metadata(_ request: APIRequest, route: String, permission: String, decision: String) -> Logger.Metadata {
        let peer = request.peer
        return [
            "peer_uid": "\(peer.uid)", "peer_gid": "\(peer.gid)", "peer_pid": "\(peer.pid)",
            "peer_exe": "\(peer.executableForAudit)", "route": "\(route)", "permission": "\(permission)",
            "decision": "\(decision)", "request_id": "\(request.requestID)",
        ]
    }

    func denied(_ request: APIRequest, route: Route, reason: String, permission: String? = nil) {
        guard admit(.accessDenied, uid: request.peer.uid) else { return }
        var m = metadata(request, route: route.name, permission: permission ?? route.permission.description, decision: "deny")
        m["message_id"] = "\(JournalMessageID.accessDenied)"
        m["reason"] = "\(reason)"
        logger.warning("access denied", metadata: m)
    }

    /// A connection refused over the caps (a 503 before any byte is read).
    func connectionRefused(peer: PeerCredentials, listener: String, reason: String) {
        guard admit(.connectionRefused, uid: peer.uid) else { return }
        logger.warning(
            "connection refused",
            metadata: ["message_id": "\(JournalMessageID.connectionRefused)", "peer_uid": "\(peer.uid)",
                       "peer_pid": "\(peer.pid)", "listener": "\(listener)", "reason": "\(reason)"])
    }

    /// Writes the summaries of intervals that are over (called periodically by the daemon, so a
    /// peer that stopped is still accounted for).
    public func flushSuppressed() {
        for s in throttle.flush() { write(s) }
    }

    private func admit(_ kind: DenialThrottle.Kind, uid: UInt32) -> Bool {
        let (write, summary) = throttle.admit(kind, uid: uid)
        if let summary { self.write(summary) }
        return write
    }

    private func write(_ s: DenialThrottle.Summary) {
        let what = s.kind == .accessDenied ? "access denied" : "connection refused"
        logger.warning(
            "\(what): \(s.suppressed) more entries suppressed",
            metadata: ["message_id": "\(JournalMessageID.suppressed)", "peer_uid": "\(s.uid)", "suppressed": "\(s.suppressed)",
                       "interval_seconds": "\(s.seconds)", "kind": "\(what)"])
    }

    /// Opens a record for an allowed privileged call; `finish` writes it.
    func open(_ request: APIRequest, route: Route, permission: String? = nil) -> Record {
        Record(log: self, request: request, route: route, permission: permission ?? route.permission.description)
    }

    struct Record: Sendable {
        let log: AuditLog
        let request: APIRequest
        let route: Route
        let permission: String
        var outcome = "failure"
        var status = 500

        var fields: [(key: String, value: String)] = []

        mutating func succeeded(status: Int) {
            outcome = status < 400 ? "success" : "failure"
            self.status = status
        }

        /// The handler's answer: its status and the fields it names (`APIResponse.auditFields`).
        mutating func answered(_ response: APIResponse) {
            succeeded(status: response.status)
            fields = response.auditFields
        }

        func finish() {
            var m = log.metadata(request, route: route.name, permission: permission, decision: "allow")
            m["message_id"] = "\(JournalMessageID.privilegedAction)"
            m["outcome"] = "\(outcome)"
            m["http_status"] = "\(status)"
            for (key, value) in fields { m[key] = "\(value)" }
            log.logger.notice("privileged action", metadata: m)
        }
    }
}
