/// The daemon's configuration document, in Mattermost's style (PascalCase sections).
///
/// Every key is optional on input: a missing key takes its default, so an empty `{}` is a valid
/// config. `validate()` names the offending setting in its error.
public struct StewardConfig: Sendable, Equatable, Codable {
    public var serviceSettings = ServiceSettings()
    public var sqlSettings = SqlSettings()
    public var localAuthorizationSettings = LocalAuthorizationSettings()
    public var logSettings = LogSettings()
    public var integritySettings = IntegritySettings()
    public var jobSettings = JobSettings()
    public var dataRetentionSettings = DataRetentionSettings()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case serviceSettings = "ServiceSettings"
        case sqlSettings = "SqlSettings"
        case localAuthorizationSettings = "LocalAuthorizationSettings"
        case logSettings = "LogSettings"
        case integritySettings = "IntegritySettings"
        case jobSettings = "JobSettings"
        case dataRetentionSettings = "DataRetentionSettings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        serviceSettings = try c.decodeIfPresent(ServiceSettings.self, forKey: .serviceSettings) ?? .init()
        sqlSettings = try c.decodeIfPresent(SqlSettings.self, forKey: .sqlSettings) ?? .init()
        localAuthorizationSettings =
            try c.decodeIfPresent(LocalAuthorizationSettings.self, forKey: .localAuthorizationSettings) ?? .init()
        logSettings = try c.decodeIfPresent(LogSettings.self, forKey: .logSettings) ?? .init()
        integritySettings = try c.decodeIfPresent(IntegritySettings.self, forKey: .integritySettings) ?? .init()
        jobSettings = try c.decodeIfPresent(JobSettings.self, forKey: .jobSettings) ?? .init()
        dataRetentionSettings = try c.decodeIfPresent(DataRetentionSettings.self, forKey: .dataRetentionSettings) ?? .init()
    }

    /// Production defaults (spec §1): socket in /run/steward, database in /var/lib/steward.
    public static var production: StewardConfig { StewardConfig() }

    /// Development defaults: everything inside `dataDir`.
    public static func development(dataDir: String) -> StewardConfig {
        var config = StewardConfig()
        config.serviceSettings.listeners = [ListenerSettings(name: "steward.sock", path: dataDir + "/steward.sock")]
        config.sqlSettings.dataSource = dataDir + "/steward.db"
        return config
    }

    public func validate() throws(ConfigValidationError) {
        try serviceSettings.validate()
        try sqlSettings.validate()
        try localAuthorizationSettings.validate()
        try logSettings.validate()
        try integritySettings.validate()
        try jobSettings.validate()
        try dataRetentionSettings.validate()
    }
}

/// A setting that failed validation: `setting` is its dotted path, e.g. `ServiceSettings.Listeners[0].Mode`.
public struct ConfigValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var setting: String
    public var reason: String
    public init(setting: String, reason: String) {
        self.setting = setting
        self.reason = reason
    }
    public var description: String { "invalid setting \(setting): \(reason)" }
}

/// One socket the daemon serves on. Under systemd, `Name` is matched against `LISTEN_FDNAMES`.
public struct ListenerSettings: Sendable, Equatable, Codable {
    public var name: String
    public var path: String
    /// Octal file mode, e.g. "0600" (what `mmctl --local` requires) or "0660" with a group.
    public var mode: String
    /// Group that owns the socket file; empty keeps the daemon's group.
    public var group: String
    /// Connections this listener holds at most (0: `ServiceSettings.MaxConnections`). Places kept
    /// for administrators are never taken by another peer, whatever this says.
    public var maxConnections: Int
    /// Connections one uid holds at most on this listener (0: `ServiceSettings.MaxConnectionsPerUid`).
    public var maxConnectionsPerUid: Int

    public init(name: String, path: String, mode: String = "0600", group: String = "", maxConnections: Int = 0, maxConnectionsPerUid: Int = 0) {
        self.name = name
        self.path = path
        self.mode = mode
        self.group = group
        self.maxConnections = maxConnections
        self.maxConnectionsPerUid = maxConnectionsPerUid
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", path = "Path", mode = "Mode", group = "Group"
        case maxConnections = "MaxConnections", maxConnectionsPerUid = "MaxConnectionsPerUid"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(path, forKey: .path)
        try c.encode(mode, forKey: .mode)
        try c.encode(group, forKey: .group)
        // Written only when set, so a config that never used them round-trips unchanged.
        if maxConnections != 0 { try c.encode(maxConnections, forKey: .maxConnections) }
        if maxConnectionsPerUid != 0 { try c.encode(maxConnectionsPerUid, forKey: .maxConnectionsPerUid) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decodeIfPresent(String.self, forKey: .path) ?? ""
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        if name.isEmpty { name = path.split(separator: "/").last.map(String.init) ?? "" }
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "0600"
        group = try c.decodeIfPresent(String.self, forKey: .group) ?? ""
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? 0
        maxConnectionsPerUid = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerUid) ?? 0
    }

    /// The mode as a number, `nil` when it is not octal or grants anything beyond rw for owner/group/other.
    public var modeBits: UInt32? {
        guard let bits = UInt32(mode, radix: 8), bits & ~0o666 == 0 else { return nil }
        return bits
    }
}

public struct ServiceSettings: Sendable, Equatable, Codable {
    public var listeners = [ListenerSettings(name: "steward.sock", path: "/run/steward/steward.sock")]
    public var maximumPayloadSizeBytes = 300_000
    public var maximumURLLength = 2048
    public var maximumHeaderBytes = 16_384
    public var readHeaderTimeoutSeconds = 10
    public var idleTimeoutSeconds = 60
    /// How long a client may go without taking any of an answer (a download it stopped reading)
    /// before it is hung up on.
    public var writeTimeoutSeconds = 30
    public var maxConnections = 512
    public var maxConnectionsPerUid = 64
    /// Of `MaxConnections`, the places only peers holding `manage_system` may take, so peers with
    /// less (observers, any group member of an open listener) can never lock root out. Unset: an
    /// eighth of `MaxConnections`, at least 1 and at most 32 (`reservedAdmin`).
    public var reservedAdminConnections: Int?

    /// The places kept for administrators, as in force.
    public var reservedAdmin: Int {
        reservedAdminConnections ?? (maxConnections > 1 ? max(1, min(32, maxConnections / 8)) : 0)
    }
    public var shutdownTimeoutSeconds = 10
    /// Directories `POST /config/migrate` may read and write besides the config's and the store's.
    public var configMigrateDirectories: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case listeners = "Listeners"
        case maximumPayloadSizeBytes = "MaximumPayloadSizeBytes"
        case maximumURLLength = "MaximumURLLength"
        case maximumHeaderBytes = "MaximumHeaderBytes"
        case readHeaderTimeoutSeconds = "ReadHeaderTimeoutSeconds"
        case idleTimeoutSeconds = "IdleTimeoutSeconds"
        case writeTimeoutSeconds = "WriteTimeoutSeconds"
        case maxConnections = "MaxConnections"
        case maxConnectionsPerUid = "MaxConnectionsPerUid"
        case reservedAdminConnections = "ReservedAdminConnections"
        case shutdownTimeoutSeconds = "ShutdownTimeoutSeconds"
        case configMigrateDirectories = "ConfigMigrateDirectories"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ServiceSettings()
        listeners = try c.decodeIfPresent([ListenerSettings].self, forKey: .listeners) ?? d.listeners
        maximumPayloadSizeBytes = try c.decodeIfPresent(Int.self, forKey: .maximumPayloadSizeBytes) ?? d.maximumPayloadSizeBytes
        maximumURLLength = try c.decodeIfPresent(Int.self, forKey: .maximumURLLength) ?? d.maximumURLLength
        maximumHeaderBytes = try c.decodeIfPresent(Int.self, forKey: .maximumHeaderBytes) ?? d.maximumHeaderBytes
        readHeaderTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .readHeaderTimeoutSeconds) ?? d.readHeaderTimeoutSeconds
        idleTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .idleTimeoutSeconds) ?? d.idleTimeoutSeconds
        writeTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .writeTimeoutSeconds) ?? d.writeTimeoutSeconds
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
        maxConnectionsPerUid = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerUid) ?? d.maxConnectionsPerUid
        reservedAdminConnections = try c.decodeIfPresent(Int.self, forKey: .reservedAdminConnections)
        shutdownTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .shutdownTimeoutSeconds) ?? d.shutdownTimeoutSeconds
        configMigrateDirectories = try c.decodeIfPresent([String].self, forKey: .configMigrateDirectories) ?? []
    }

    func validate() throws(ConfigValidationError) {
        if listeners.isEmpty {
            throw ConfigValidationError(setting: "ServiceSettings.Listeners", reason: "at least one listener is required")
        }
        var seen = Set<String>()
        for (i, l) in listeners.enumerated() {
            let key = "ServiceSettings.Listeners[\(i)]"
            if !l.path.hasPrefix("/") {
                throw ConfigValidationError(setting: key + ".Path", reason: "must be an absolute path, got '\(l.path)'")
            }
            if l.path.utf8.count > 107 {
                throw ConfigValidationError(setting: key + ".Path", reason: "longer than a unix socket path may be (107 bytes)")
            }
            if l.modeBits == nil {
                throw ConfigValidationError(setting: key + ".Mode", reason: "must be an octal mode within 0666, got '\(l.mode)'")
            }
            if !seen.insert(l.name).inserted || l.name.isEmpty {
                throw ConfigValidationError(setting: key + ".Name", reason: "names must be unique and non-empty")
            }
            if l.maxConnections < 0 || l.maxConnectionsPerUid < 0 {
                throw ConfigValidationError(setting: key + ".MaxConnections", reason: "must be 0 (the service-wide value) or more")
            }
        }
        func positive(_ v: Int, _ name: String) throws(ConfigValidationError) {
            if v <= 0 { throw ConfigValidationError(setting: "ServiceSettings." + name, reason: "must be greater than 0, got \(v)") }
        }
        try positive(maximumPayloadSizeBytes, "MaximumPayloadSizeBytes")
        try positive(maximumURLLength, "MaximumURLLength")
        try positive(maximumHeaderBytes, "MaximumHeaderBytes")
        try positive(readHeaderTimeoutSeconds, "ReadHeaderTimeoutSeconds")
        try positive(idleTimeoutSeconds, "IdleTimeoutSeconds")
        try positive(writeTimeoutSeconds, "WriteTimeoutSeconds")
        try positive(maxConnections, "MaxConnections")
        try positive(maxConnectionsPerUid, "MaxConnectionsPerUid")
        try positive(shutdownTimeoutSeconds, "ShutdownTimeoutSeconds")
        if let r = reservedAdminConnections, r < 0 || r >= maxConnections {
            throw ConfigValidationError(
                setting: "ServiceSettings.ReservedAdminConnections",
                reason: "must be at least 0 and less than MaxConnections (\(maxConnections)), got \(r)")
        }
        for (i, d) in configMigrateDirectories.enumerated() where !d.hasPrefix("/") {
            throw ConfigValidationError(setting: "ServiceSettings.ConfigMigrateDirectories[\(i)]", reason: "must be an absolute path, got '\(d)'")
        }
    }
}

public struct SqlSettings: Sendable, Equatable, Codable {
    public var driverName = "sqlite3"
    public var dataSource = "/var/lib/steward/steward.db"
    public var maxReaders = 4
    public var busyTimeoutMilliseconds = 5000

    public init() {}

    enum CodingKeys: String, CodingKey {
        case driverName = "DriverName", dataSource = "DataSource", maxReaders = "MaxReaders"
        case busyTimeoutMilliseconds = "BusyTimeoutMilliseconds"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SqlSettings()
        driverName = try c.decodeIfPresent(String.self, forKey: .driverName) ?? d.driverName
        dataSource = try c.decodeIfPresent(String.self, forKey: .dataSource) ?? d.dataSource
        maxReaders = try c.decodeIfPresent(Int.self, forKey: .maxReaders) ?? d.maxReaders
        busyTimeoutMilliseconds = try c.decodeIfPresent(Int.self, forKey: .busyTimeoutMilliseconds) ?? d.busyTimeoutMilliseconds
    }

    func validate() throws(ConfigValidationError) {
        if driverName != "sqlite3" {
            throw ConfigValidationError(setting: "SqlSettings.DriverName", reason: "only sqlite3 is supported, got '\(driverName)'")
        }
        if dataSource.isEmpty {
            throw ConfigValidationError(setting: "SqlSettings.DataSource", reason: "must not be empty")
        }
        if !(1...64).contains(maxReaders) {
            throw ConfigValidationError(setting: "SqlSettings.MaxReaders", reason: "must be 1 to 64, got \(maxReaders)")
        }
        if busyTimeoutMilliseconds < 0 {
            throw ConfigValidationError(setting: "SqlSettings.BusyTimeoutMilliseconds", reason: "must not be negative")
        }
    }
}

public struct LogSettings: Sendable, Equatable, Codable {
    /// trace, debug, info, notice, warning, error, critical.
    public var level = "info"
    /// Write to the journal when journald is there; stderr otherwise.
    public var enableJournal = true

    public init() {}

    enum CodingKeys: String, CodingKey { case level = "Level", enableJournal = "EnableJournal" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        level = try c.decodeIfPresent(String.self, forKey: .level) ?? "info"
        enableJournal = try c.decodeIfPresent(Bool.self, forKey: .enableJournal) ?? true
    }

    static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    func validate() throws(ConfigValidationError) {
        if !Self.levels.contains(level) {
            throw ConfigValidationError(setting: "LogSettings.Level", reason: "must be one of \(Self.levels.joined(separator: ", ")), got '\(level)'")
        }
    }
}

/// `IntegritySettings`: relations checked after Mattermost's, foreign-key discovery, the record cap.
public struct IntegritySettings: Sendable, Equatable, Codable {
    public var relations: [IntegrityRelationSettings] = []
    /// Also check the relations the schema declares as foreign keys (`PRAGMA foreign_key_list`).
    public var discoverForeignKeys = false
    /// Records kept per relation in an answer; the true count goes to the journal.
    public var maxRecordsPerRelation = 10_000

    public init() {}

    enum CodingKeys: String, CodingKey {
        case relations = "Relations", discoverForeignKeys = "DiscoverForeignKeys", maxRecordsPerRelation = "MaxRecordsPerRelation"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        relations = try c.decodeIfPresent([IntegrityRelationSettings].self, forKey: .relations) ?? []
        discoverForeignKeys = try c.decodeIfPresent(Bool.self, forKey: .discoverForeignKeys) ?? false
        maxRecordsPerRelation = try c.decodeIfPresent(Int.self, forKey: .maxRecordsPerRelation) ?? 10_000
    }

    func validate() throws(ConfigValidationError) {
        if maxRecordsPerRelation < 1 {
            throw ConfigValidationError(setting: "IntegritySettings.MaxRecordsPerRelation", reason: "must be at least 1, got \(maxRecordsPerRelation)")
        }
        for (i, r) in relations.enumerated() {
            for (name, value) in [("ParentTable", r.parentTable), ("ParentKey", r.parentKey), ("ChildTable", r.childTable), ("ChildForeignKey", r.childForeignKey)] {
                if !IntegrityRelationSettings.isIdentifier(value) {
                    throw ConfigValidationError(setting: "IntegritySettings.Relations[\(i)].\(name)", reason: "must be a plain SQL identifier, got '\(value)'")
                }
            }
            if !r.childIdColumn.isEmpty && !IntegrityRelationSettings.isIdentifier(r.childIdColumn) {
                throw ConfigValidationError(setting: "IntegritySettings.Relations[\(i)].ChildIdColumn", reason: "must be a plain SQL identifier, got '\(r.childIdColumn)'")
            }
        }
    }
}

/// One configured relation: rows of `ChildTable` whose `ChildForeignKey` matches no `ParentKey` of
/// `ParentTable` are orphans.
public struct IntegrityRelationSettings: Sendable, Equatable, Codable {
    public var parentTable: String
    public var parentKey: String
    public var childTable: String
    public var childForeignKey: String
    /// The child's own id column, reported as `child_id`; empty when it has none.
    public var childIdColumn: String
    /// Rows with an empty (or NULL) foreign key are not orphans.
    public var skipEmpty: Bool

    public init(parentTable: String, parentKey: String = "Id", childTable: String, childForeignKey: String,
                childIdColumn: String = "", skipEmpty: Bool = false) {
        self.parentTable = parentTable
        self.parentKey = parentKey
        self.childTable = childTable
        self.childForeignKey = childForeignKey
        self.childIdColumn = childIdColumn
        self.skipEmpty = skipEmpty
    }

    enum CodingKeys: String, CodingKey {
        case parentTable = "ParentTable", parentKey = "ParentKey", childTable = "ChildTable"
        case childForeignKey = "ChildForeignKey", childIdColumn = "ChildIdColumn", skipEmpty = "SkipEmpty"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        parentTable = try c.decode(String.self, forKey: .parentTable)
        parentKey = try c.decodeIfPresent(String.self, forKey: .parentKey) ?? "Id"
        childTable = try c.decode(String.self, forKey: .childTable)
        childForeignKey = try c.decode(String.self, forKey: .childForeignKey)
        childIdColumn = try c.decodeIfPresent(String.self, forKey: .childIdColumn) ?? ""
        skipEmpty = try c.decodeIfPresent(Bool.self, forKey: .skipEmpty) ?? false
    }

    /// Letters, digits and underscores, not starting with a digit: safe to put in SQL unquoted.
    public static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(first >= 48 && first <= 57), s.utf8.count <= 64 else { return false }
        return s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }
}

/// `JobSettings`: whether this node runs jobs, how many at once, what backups keep.
public struct JobSettings: Sendable, Equatable, Codable {
    /// Mattermost's setting of the same name: false accepts and lists jobs but runs none.
    public var runJobs = true
    public var maxConcurrentJobs = 2
    /// Backups kept by `db_backup` (the newest).
    public var backupsToKeep = 7
    /// Where backups, reports and exports go; empty: beside the store (`<store dir>/steward-jobs`).
    public var directory = ""

    public init() {}

    enum CodingKeys: String, CodingKey {
        case runJobs = "RunJobs", maxConcurrentJobs = "MaxConcurrentJobs", backupsToKeep = "BackupsToKeep", directory = "Directory"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runJobs = try c.decodeIfPresent(Bool.self, forKey: .runJobs) ?? true
        maxConcurrentJobs = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentJobs) ?? 2
        backupsToKeep = try c.decodeIfPresent(Int.self, forKey: .backupsToKeep) ?? 7
        directory = try c.decodeIfPresent(String.self, forKey: .directory) ?? ""
    }

    func validate() throws(ConfigValidationError) {
        if !(1...32).contains(maxConcurrentJobs) {
            throw ConfigValidationError(setting: "JobSettings.MaxConcurrentJobs", reason: "must be 1 to 32, got \(maxConcurrentJobs)")
        }
        if backupsToKeep < 1 {
            throw ConfigValidationError(setting: "JobSettings.BackupsToKeep", reason: "must be at least 1, got \(backupsToKeep)")
        }
        if !directory.isEmpty && !directory.hasPrefix("/") {
            throw ConfigValidationError(setting: "JobSettings.Directory", reason: "must be an absolute path, got '\(directory)'")
        }
    }
}

/// `DataRetentionSettings`: what the `data_retention` job deletes.
public struct DataRetentionSettings: Sendable, Equatable, Codable {
    /// Posts older than this many days are deleted (with their reactions, file rows and threads).
    public var messageRetentionDays = 365
    /// Posts deleted per transaction.
    public var batchSize = 3000

    public init() {}

    enum CodingKeys: String, CodingKey { case messageRetentionDays = "MessageRetentionDays", batchSize = "BatchSize" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messageRetentionDays = try c.decodeIfPresent(Int.self, forKey: .messageRetentionDays) ?? 365
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 3000
    }

    func validate() throws(ConfigValidationError) {
        if messageRetentionDays < 1 {
            throw ConfigValidationError(setting: "DataRetentionSettings.MessageRetentionDays", reason: "must be at least 1, got \(messageRetentionDays)")
        }
        if !(1...100_000).contains(batchSize) {
            throw ConfigValidationError(setting: "DataRetentionSettings.BatchSize", reason: "must be 1 to 100000, got \(batchSize)")
        }
    }
}
