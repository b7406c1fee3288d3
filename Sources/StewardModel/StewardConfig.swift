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
    public var clusterSettings = ClusterSettings()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case serviceSettings = "ServiceSettings"
        case sqlSettings = "SqlSettings"
        case localAuthorizationSettings = "LocalAuthorizationSettings"
        case logSettings = "LogSettings"
        case integritySettings = "IntegritySettings"
        case jobSettings = "JobSettings"
        case dataRetentionSettings = "DataRetentionSettings"
        case clusterSettings = "ClusterSettings"
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
        clusterSettings = try c.decodeIfPresent(ClusterSettings.self, forKey: .clusterSettings) ?? .init()
    }

    /// Production defaults: socket in /run/steward, database in /var/lib/steward.
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
        try clusterSettings.validate()
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

    /// Throws unless `value` is within `range`; the reason names the range, so an operator knows
    /// what to write instead. Every numeric setting goes through here (each section's `Ranges`).
    /// `why` explains a bound that depends on another setting.
    public static func check(_ value: Int, in range: ClosedRange<Int>, _ setting: String, why: String? = nil) throws(ConfigValidationError) {
        guard !range.contains(value) else { return }
        let because = why.map { " (\($0))" } ?? ""
        throw ConfigValidationError(setting: setting, reason: "must be \(range.lowerBound) to \(range.upperBound)\(because), got \(value)")
    }
}

public struct SqlSettings: Sendable, Equatable, Codable {
    public var driverName = "sqlite3"
    public var dataSource = "/var/lib/steward/steward.db"
    public var maxReaders = 4
    public var busyTimeoutMilliseconds = SqlSettings.defaultBusyTimeoutMilliseconds
    /// How long an SQLite connection waits for another's lock, unless `BusyTimeoutMilliseconds`
    /// says otherwise: the one place this number is written.
    public static let defaultBusyTimeoutMilliseconds = 5000

    /// `sqlite3` (the embedded default: `DataSource` is a file path) or `postgres` (`DataSource`
    /// is a DSN in Mattermost's form).
    public static let driverNames: Set<String> = ["sqlite3", "postgres"]
    public var isPostgres: Bool { driverName == "postgres" }

    /// The directory the store's local files live beside (the default jobs directory): the
    /// SQLite file's directory; on PostgreSQL, which has no file here, `/var/lib/steward` (the
    /// unit's `StateDirectory`). nil when a SQLite path has no directory.
    public var localDirectory: String? {
        if isPostgres { return "/var/lib/steward" }
        guard let slash = dataSource.lastIndex(of: "/") else { return nil }
        return slash == dataSource.startIndex ? "/" : String(dataSource[..<slash])
    }

    /// The SQLite file the daemon runs on, nil on PostgreSQL (what a migrate must not overwrite).
    public var storeFile: String? { isPostgres ? nil : dataSource }

    /// `DataSource` safe for the journal (a DSN's password masked).
    public var dataSourceForLog: String { PostgresDSN.redacted(dataSource) }

    public init() {}

    /// The allowed values of the numeric settings (see `ServiceSettings.Ranges`).
    public enum Ranges {
        /// Pooled readers, each a connection with three descriptors (`DescriptorBudget` multiplies).
        public static let maxReaders = 1...64
        /// `sqlite3_busy_timeout` takes an Int32 (the conversion trapped at start on larger values);
        /// a day is the same bound as the other timeouts, and fits.
        public static let busyTimeoutMilliseconds = 0...86_400_000
    }

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
        guard Self.driverNames.contains(driverName) else {
            throw ConfigValidationError(setting: "SqlSettings.DriverName", reason: "must be sqlite3 or postgres, got '\(driverName)'")
        }
        if dataSource.isEmpty {
            throw ConfigValidationError(setting: "SqlSettings.DataSource", reason: "must not be empty")
        }
        if driverName == "postgres" {
            do {
                _ = try PostgresDSN(dataSource)
            } catch {
                throw ConfigValidationError(setting: "SqlSettings.DataSource", reason: "\(error)")
            }
        }
        try ConfigValidationError.check(maxReaders, in: Ranges.maxReaders, "SqlSettings.MaxReaders")
        try ConfigValidationError.check(busyTimeoutMilliseconds, in: Ranges.busyTimeoutMilliseconds, "SqlSettings.BusyTimeoutMilliseconds")
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
    /// 0 (the default): every orphaned record is answered, as Mattermost does. Otherwise at most this
    /// many per relation (an opt-in deviation from Mattermost; the true count goes to the journal).
    public var maxRecordsPerRelation = 0
    /// Threads the child tables are read with, each with its own read connection on the same
    /// snapshot: 0 (the default) is the CPUs the daemon may use, at most 4; 1 keeps a check on a
    /// busy server to one core.
    public var scanThreads = 0

    public init() {}

    /// The allowed values of the numeric settings (see `ServiceSettings.Ranges`).
    public enum Ranges {
        /// 0 is "all". A cap is kept in memory (up to twice it per relation, for each of some fifty
        /// relations), so it is bounded; without one, records beyond a few thousand go to disk.
        public static let maxRecordsPerRelation = 0...1_000_000
        public static let scanThreads = 0...16
    }

    enum CodingKeys: String, CodingKey {
        case relations = "Relations", discoverForeignKeys = "DiscoverForeignKeys", maxRecordsPerRelation = "MaxRecordsPerRelation"
        case scanThreads = "ScanThreads"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        relations = try c.decodeIfPresent([IntegrityRelationSettings].self, forKey: .relations) ?? []
        discoverForeignKeys = try c.decodeIfPresent(Bool.self, forKey: .discoverForeignKeys) ?? false
        maxRecordsPerRelation = try c.decodeIfPresent(Int.self, forKey: .maxRecordsPerRelation) ?? 0
        scanThreads = try c.decodeIfPresent(Int.self, forKey: .scanThreads) ?? 0
    }

    func validate() throws(ConfigValidationError) {
        try ConfigValidationError.check(maxRecordsPerRelation, in: Ranges.maxRecordsPerRelation, "IntegritySettings.MaxRecordsPerRelation")
        try ConfigValidationError.check(scanThreads, in: Ranges.scanThreads, "IntegritySettings.ScanThreads")
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

    /// The allowed values of the numeric settings (see `ServiceSettings.Ranges`).
    public enum Ranges {
        /// Each running job holds a thread, a store connection and files (`DescriptorBudget`).
        public static let maxConcurrentJobs = 1...32
        /// At least the backup just made; the ceiling is only there so that every number has one.
        public static let backupsToKeep = 1...10_000
    }

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
        try ConfigValidationError.check(maxConcurrentJobs, in: Ranges.maxConcurrentJobs, "JobSettings.MaxConcurrentJobs")
        try ConfigValidationError.check(backupsToKeep, in: Ranges.backupsToKeep, "JobSettings.BackupsToKeep")
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

    /// The allowed values of the numeric settings (see `ServiceSettings.Ranges`).
    public enum Ranges {
        /// What the `data_retention` job's `retention_days` accepts (a hundred years): days become
        /// milliseconds subtracted from now, which must not overflow.
        public static let messageRetentionDays = 1...36_500
        /// Posts deleted in one write transaction, which holds the store's writer meanwhile.
        public static let batchSize = 1...100_000
    }

    enum CodingKeys: String, CodingKey { case messageRetentionDays = "MessageRetentionDays", batchSize = "BatchSize" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messageRetentionDays = try c.decodeIfPresent(Int.self, forKey: .messageRetentionDays) ?? 365
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 3000
    }

    func validate() throws(ConfigValidationError) {
        try ConfigValidationError.check(messageRetentionDays, in: Ranges.messageRetentionDays, "DataRetentionSettings.MessageRetentionDays")
        try ConfigValidationError.check(batchSize, in: Ranges.batchSize, "DataRetentionSettings.BatchSize")
    }
}
