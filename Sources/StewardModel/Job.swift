/// Mattermost's `model.Job`. Times are milliseconds since the epoch; `data` is a string map, always
/// an object on the wire (`{}` when empty).
public struct Job: Sendable, Equatable, Codable {
    public var id: String
    public var type: String
    public var priority: Int64
    public var createAt: Int64
    public var startAt: Int64
    public var lastActivityAt: Int64
    public var status: JobStatus
    public var progress: Int64
    public var data: [String: String]

    public init(id: String, type: String, priority: Int64 = 0, createAt: Int64, startAt: Int64 = 0, lastActivityAt: Int64 = 0,
                status: JobStatus, progress: Int64 = 0, data: [String: String] = [:]) {
        self.id = id
        self.type = type
        self.priority = priority
        self.createAt = createAt
        self.startAt = startAt
        self.lastActivityAt = lastActivityAt
        self.status = status
        self.progress = progress
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case id, type, priority, status, progress, data
        case createAt = "create_at", startAt = "start_at", lastActivityAt = "last_activity_at"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        type = try c.decodeIfPresent(String.self, forKey: .type) ?? ""
        priority = try c.decodeIfPresent(Int64.self, forKey: .priority) ?? 0
        createAt = try c.decodeIfPresent(Int64.self, forKey: .createAt) ?? 0
        startAt = try c.decodeIfPresent(Int64.self, forKey: .startAt) ?? 0
        lastActivityAt = try c.decodeIfPresent(Int64.self, forKey: .lastActivityAt) ?? 0
        status = try c.decodeIfPresent(JobStatus.self, forKey: .status) ?? .pending
        progress = try c.decodeIfPresent(Int64.self, forKey: .progress) ?? 0
        data = try c.decodeIfPresent([String: String].self, forKey: .data) ?? [:]
    }

    /// Keys in Mattermost's order; `data` keys sorted so equal jobs are equal bytes.
    public var json: String {
        var w = JSONWriter()
        write(to: &w)
        return w.output
    }

    /// Writes the job into `w`'s output, its data inline (a list is one buffer, not a string per
    /// job and per data map).
    public func write(to w: inout JSONWriter) {
        w.object { o in
            o.field("id", id)
            o.field("type", type)
            o.field("priority", priority)
            o.field("create_at", createAt)
            o.field("start_at", startAt)
            o.field("last_activity_at", lastActivityAt)
            o.field("status", status.rawValue)
            o.field("progress", progress)
            o.object("data") { d in
                for (key, value) in data.sorted(by: { $0.key < $1.key }) { d.field(key, value) }
            }
        }
    }

    public static func dataJSON(_ data: [String: String]) -> String {
        var w = JSONWriter()
        w.object { o in
            for (key, value) in data.sorted(by: { $0.key < $1.key }) { o.field(key, value) }
        }
        return w.output
    }

    public static func json(_ jobs: [Job]) -> String {
        var w = JSONWriter()
        w.reserve(jobs.count * 384)
        w.array(jobs) { w, job in job.write(to: &w) }
        return w.output
    }
}

/// Mattermost's job statuses.
public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case pending, inProgress = "in_progress", success, error, cancelRequested = "cancel_requested", canceled, warning

    /// A job that will not change again.
    public var isFinished: Bool { [.success, .error, .canceled, .warning].contains(self) }
}

/// One log line of a job (Steward extension: `GET /jobs/{id}/logs`).
public struct JobLogEntry: Sendable, Equatable, Codable {
    public var idx: Int64
    public var level: String
    public var msg: String
    public var progress: Int64
    public var timestamp: Int64

    public init(idx: Int64, level: String, msg: String, progress: Int64, timestamp: Int64) {
        self.idx = idx
        self.level = level
        self.msg = msg
        self.progress = progress
        self.timestamp = timestamp
    }

    /// A page of log lines, as `GET /jobs/{id}/logs` answers.
    public static func json(_ entries: [JobLogEntry]) -> String {
        var w = JSONWriter()
        w.array(entries) { w, e in w.raw(e.json) }
        return w.output
    }

    public var json: String {
        var w = JSONWriter()
        w.object { o in
            o.field("idx", idx)
            o.field("level", level)
            o.field("msg", msg)
            o.field("progress", progress)
            o.field("timestamp", timestamp)
        }
        return w.output
    }
}

/// Job type names and what each needs, per Mattermost's jobs API and Steward's own types.
public enum JobTypes {
    /// Steward's job types (each has a worker).
    public static let stewardTypes: Set<String> = ["db_backup", "db_optimize", "integrity_check"]
    /// Mattermost types Steward runs.
    public static let mattermostWorkerTypes: Set<String> = ["data_retention", "message_export", "export_process"]

    /// Mattermost's `AllJobTypes`, in order (GET /jobs without a type lists these plus Steward's).
    public static let mattermostAll = [
        "data_retention", "message_export", "elasticsearch_post_indexing", "elasticsearch_post_aggregation",
        "ldap_sync", "migrations", "plugins", "expiry_notify", "product_notices", "active_users", "import_process",
        "import_delete", "export_process", "export_delete", "cloud", "extract_content", "last_accessible_post",
        "last_accessible_file", "cleanup_desktop_tokens", "refresh_materialized_views", "mobile_session_metadata",
    ]

    /// Mattermost types with a read permission mapping (others answer `api.job.retrieve.nopermissions`).
    static let mattermostReadable: Set<String> = [
        "data_retention", "message_export", "elasticsearch_post_indexing", "elasticsearch_post_aggregation", "ldap_sync",
        "migrations", "plugins", "product_notices", "expiry_notify", "active_users", "import_process", "import_delete",
        "export_process", "export_delete", "cloud", "mobile_session_metadata", "extract_content", "access_control_sync",
    ]

    public static let allTypes: [String] = mattermostAll + stewardTypes.sorted()

    public enum Access: String, Sendable {
        case read, create, manage, download
    }

    /// Every permission that `access` to jobs of some type accepts: a peer holding none of them
    /// is refused whatever the request names.
    public static func permissionsForAnyType(_ access: Access) -> [Permission] {
        anyTypePermissions[access] ?? []
    }

    private static let anyTypePermissions: [Access: [Permission]] = {
        var table: [Access: [Permission]] = [:]
        for access in [Access.read, .create, .manage, .download] {
            var all = Set<Permission>()
            for type in allTypes + mattermostReadable { all.formUnion(permissions(type, access) ?? []) }
            // `GET /jobs` without a type needs one of these (JobAccess).
            if access == .read { all.formUnion([.readJobs, .manageJobs]) }
            table[access] = all.sorted()
        }
        return table
    }()

    /// The permissions (any of) that `access` to jobs of `type` needs; nil when the type has no
    /// mapping for it (Mattermost answers 400 then).
    public static func permissions(_ type: String, _ access: Access) -> [Permission]? {
        switch type {
        case "data_retention":
            switch access {
            case .read: return [.readDataRetentionJob, .manageJobs]
            case .create: return [.createDataRetentionJob, .manageJobs]
            case .manage: return [.manageDataRetentionJob, .manageJobs]
            case .download: return nil
            }
        case "message_export":
            switch access {
            case .read: return [.readComplianceExportJob, .manageJobs]
            case .create: return [.createComplianceExportJob, .manageJobs]
            case .manage: return [.manageComplianceExportJob, .manageJobs]
            case .download: return [.downloadComplianceExportResult]
            }
        case "db_backup":
            switch access {
            case .read: return [.readJobs]
            case .download: return [.downloadBackup]
            case .create, .manage: return [.manageJobs]
            }
        case _ where stewardTypes.contains(type):
            switch access {
            case .read, .download: return [.readJobs]
            case .create, .manage: return [.manageJobs]
            }
        case _ where mattermostReadable.contains(type):
            switch access {
            case .read: return [.readJobs]
            case .create, .manage: return type == "mobile_session_metadata" ? nil : [.manageJobs]
            case .download: return nil
            }
        default:
            return nil
        }
    }
}
