/// The journal MESSAGE_IDs the daemon writes (Sources/LocalAPI/Dispatch/AuditLog.swift); repeated
/// here on purpose: a test must fail if the daemon's ids change silently.
enum JournalMessageIDs {
    static let accessDenied = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b51"
    static let privilegedAction = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b52"
    static let started = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b53"
    static let reloadFailed = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b56"
}
