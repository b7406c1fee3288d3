/// Permission names: Mattermost's where it has one, Steward's own otherwise.
public struct Permission: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { self.rawValue = name }
    public var description: String { rawValue }
    public static func < (a: Permission, b: Permission) -> Bool { a.rawValue < b.rawValue }

    public static let manageSystem = Permission("manage_system")
    /// Read the busy state: held by every built-in role (spec: "GET: also observer").
    public static let readServerBusy = Permission("read_server_busy")
    public static let invalidateCaches = Permission("invalidate_caches")
    public static let recycleDatabaseConnections = Permission("recycle_database_connections")
    public static let readJobs = Permission("read_jobs")
    public static let manageJobs = Permission("manage_jobs")
    public static let createJobs = Permission("create_jobs")

    // Per-job-type names from Mattermost's jobs API for the types Steward runs.
    public static let createDataRetentionJob = Permission("create_data_retention_job")
    public static let readDataRetentionJob = Permission("read_data_retention_job")
    public static let manageDataRetentionJob = Permission("manage_data_retention_job")
    public static let createComplianceExportJob = Permission("create_compliance_export_job")
    public static let readComplianceExportJob = Permission("read_compliance_export_job")
    public static let manageComplianceExportJob = Permission("manage_compliance_export_job")
    public static let downloadComplianceExportResult = Permission("download_compliance_export_result")
    /// Download a `db_backup` artifact: the whole database (posts, users, sessions), so only
    /// `system_admin` holds it in the default policy — not the observers who read job metadata.
    public static let downloadBackup = Permission("download_backup")

    /// Every permission Steward knows; `system_admin` holds all of them.
    public static let all: [Permission] = [
        .manageSystem, .readServerBusy, .invalidateCaches, .recycleDatabaseConnections,
        .readJobs, .createJobs, .manageJobs,
        .createDataRetentionJob, .readDataRetentionJob, .manageDataRetentionJob,
        .createComplianceExportJob, .readComplianceExportJob, .manageComplianceExportJob,
        .downloadComplianceExportResult, .downloadBackup,
    ]
}

/// Built-in roles of the local authorization policy.
public enum BuiltinRole: String, CaseIterable, Sendable, Codable {
    case systemAdmin = "system_admin"
    case jobOperator = "job_operator"
    case observer = "observer"

    public var permissions: Set<Permission> {
        switch self {
        case .systemAdmin:
            return Set(Permission.all)
        case .jobOperator:
            return [
                .readServerBusy, .readJobs, .createJobs, .manageJobs,
                .createDataRetentionJob, .readDataRetentionJob, .manageDataRetentionJob,
                .createComplianceExportJob, .readComplianceExportJob, .manageComplianceExportJob,
                .downloadComplianceExportResult,
            ]
        case .observer:
            return [.readServerBusy, .readJobs, .readDataRetentionJob, .readComplianceExportJob]
        }
    }
}
