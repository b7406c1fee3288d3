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
}

/// Writes audit entries (spec §9). A record opens as failed and is marked with the real outcome only
/// when the handler returns, so a crash or throw never reads as success.
public struct AuditLog: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    func metadata(_ request: APIRequest, route: String, permission: String, decision: String) -> Logger.Metadata {
        let peer = request.peer
        return [
            "peer_uid": "\(peer.uid)", "peer_gid": "\(peer.gid)", "peer_pid": "\(peer.pid)",
            "peer_exe": "\(peer.executablePath())", "route": "\(route)", "permission": "\(permission)",
            "decision": "\(decision)", "request_id": "\(request.requestID)",
        ]
    }

    func denied(_ request: APIRequest, route: Route, reason: String, permission: String? = nil) {
        var m = metadata(request, route: route.name, permission: permission ?? route.permission.description, decision: "deny")
        m["message_id"] = "\(JournalMessageID.accessDenied)"
        m["reason"] = "\(reason)"
        logger.warning("access denied", metadata: m)
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

        mutating func succeeded(status: Int) {
            outcome = status < 400 ? "success" : "failure"
            self.status = status
        }

        func finish() {
            var m = log.metadata(request, route: route.name, permission: permission, decision: "allow")
            m["message_id"] = "\(JournalMessageID.privilegedAction)"
            m["outcome"] = "\(outcome)"
            m["http_status"] = "\(status)"
            log.logger.notice("privileged action", metadata: m)
        }
    }
}
