import FoundationEssentials
import StewardModel
import Store

/// Jobs and their log lines in the store (`Jobs` with Mattermost's columns, `JobLogs`). Status
/// changes are conditional updates, so two writers can never both move a job on.
public struct JobStore: Sendable {
    public let db: any SQLStore
    let clock: WallClock
    /// The node claiming jobs through this store (`ClusterSettings.NodeName`).
    public let nodeName: String

    /// Whether a creation tells other nodes (PostgreSQL); nil: always.
    let peers: ClusterPeers?

    public init(db: any SQLStore, clock: WallClock = .system, nodeName: String = "local", peers: ClusterPeers? = nil) {
        self.db = db
        self.clock = clock
        self.nodeName = nodeName
        self.peers = peers
    }

    /// Whether a creation now should `NOTIFY` the other nodes.
    var notifiesOthers: Bool { peers?.othersMayListen ?? true }

    /// On PostgreSQL the table is Mattermost's own `Jobs` when the store is a Mattermost database
    /// (its columns, `Data` jsonb since Mattermost 6.0), created the same way when absent; the
    /// indexes are Steward's, named apart from Mattermost's.
    public static let migrations: [Migration] = [
        Migration(
            name: "0002_jobs",
            sqlite: """
                CREATE TABLE Jobs (
                    Id TEXT PRIMARY KEY NOT NULL CHECK (length(Id) = 26),
                    Type TEXT NOT NULL,
                    Priority INTEGER NOT NULL DEFAULT 0,
                    CreateAt INTEGER NOT NULL,
                    StartAt INTEGER NOT NULL DEFAULT 0,
                    LastActivityAt INTEGER NOT NULL DEFAULT 0,
                    Status TEXT NOT NULL CHECK (Status IN ('pending','in_progress','success','error','cancel_requested','canceled','warning')),
                    Progress INTEGER NOT NULL DEFAULT 0,
                    Data TEXT NOT NULL DEFAULT '{}'
                );
                CREATE INDEX idx_jobs_create_at ON Jobs (CreateAt);
                CREATE INDEX idx_jobs_type_create_at ON Jobs (Type, CreateAt);
                CREATE INDEX idx_jobs_status ON Jobs (Status);
                CREATE TABLE JobLogs (
                    JobId TEXT NOT NULL REFERENCES Jobs (Id) ON DELETE CASCADE,
                    Idx INTEGER NOT NULL,
                    Level TEXT NOT NULL,
                    Msg TEXT NOT NULL,
                    Progress INTEGER NOT NULL,
                    Timestamp INTEGER NOT NULL,
                    PRIMARY KEY (JobId, Idx)
                );
                """,
            postgres: """
                CREATE TABLE IF NOT EXISTS Jobs (
                    Id VARCHAR(26) PRIMARY KEY,
                    Type VARCHAR(32),
                    Priority BIGINT,
                    CreateAt BIGINT,
                    StartAt BIGINT,
                    LastActivityAt BIGINT,
                    Status VARCHAR(32),
                    Progress BIGINT,
                    Data JSONB
                );
                CREATE INDEX IF NOT EXISTS idx_steward_jobs_status ON Jobs (Status);
                CREATE TABLE IF NOT EXISTS JobLogs (
                    JobId VARCHAR(26) NOT NULL REFERENCES Jobs (Id) ON DELETE CASCADE,
                    Idx BIGINT NOT NULL,
                    Level VARCHAR(16) NOT NULL,
                    Msg TEXT NOT NULL,
                    Progress BIGINT NOT NULL,
                    Timestamp BIGINT NOT NULL,
                    PRIMARY KEY (JobId, Idx)
                );
                """),
        // Lists are ordered by (CreateAt DESC, Id DESC): indexes in that order let the database walk
        // them backwards and stop at the page, instead of sorting every listed job per request.
        Migration(
            name: "0003_jobs_list_order",
            sqlite: """
                DROP INDEX IF EXISTS idx_jobs_create_at;
                DROP INDEX IF EXISTS idx_jobs_type_create_at;
                CREATE INDEX idx_jobs_create_at_id ON Jobs (CreateAt, Id);
                CREATE INDEX idx_jobs_type_create_at_id ON Jobs (Type, CreateAt, Id);
                """,
            postgres: """
                CREATE INDEX IF NOT EXISTS idx_steward_jobs_create_at_id ON Jobs (CreateAt, Id);
                CREATE INDEX IF NOT EXISTS idx_steward_jobs_type_create_at_id ON Jobs (Type, CreateAt, Id);
                """),
    ]

    static let columns = "Id, Type, Priority, CreateAt, StartAt, LastActivityAt, Status, Progress, Data"

    static func job(_ s: any SQLRow) -> Job {
        // Job data is written as a flat string map; anything else an older version or a hand left
        // there goes through Foundation's decoder (and is dropped if even that cannot read it).
        let data = s.withText(8) { $0.flatMap(JSONStringMap.parse) } ?? s.string(8).flatMap { try? JSONDecoderLite.stringMap($0) } ?? [:]
        return Job(
            id: s.string(0) ?? "", type: s.string(1) ?? "", priority: s.int64(2), createAt: s.int64(3), startAt: s.int64(4),
            lastActivityAt: s.int64(5), status: JobStatus(rawValue: s.string(6) ?? "") ?? .error, progress: s.int64(7), data: data)
    }

    public func create(type: String, data: [String: String]) async throws -> Job {
        let job = Job(id: NewID.make(), type: type, createAt: clock.nowMilliseconds(), status: .pending, data: data)
        // Committed with the other creations waiting for the writer (group commit).
        let notify = notifiesOthers
        try await db.writeSQLCombined { conn in try Self.insert(conn, job, notify: notify) }
        return job
    }

    /// `create` on the caller's thread when the writer is free this instant (one row, no wait);
    /// nil otherwise, and nothing was written.
    public func createIfWriterFree(type: String, data: [String: String]) throws -> Job? {
        let job = Job(id: NewID.make(), type: type, createAt: clock.nowMilliseconds(), status: .pending, data: data)
        let notify = notifiesOthers
        return try db.writeSQLIfFree { conn in try Self.insert(conn, job, notify: notify) } == nil ? nil : job
    }

    /// Inserts a pending job; on PostgreSQL with `notify`, other nodes are told of it at commit.
    static func insert(_ conn: any SQLConnection, _ job: Job, notify: Bool) throws {
        let values: [SQLValue] = [.text(job.id), .text(job.type), .int(job.createAt), .text(Job.dataJSON(job.data))]
        guard conn.dialect == .postgres, notify else {
            return _ = try conn.run("INSERT INTO Jobs (\(columns)) VALUES (?, ?, 0, ?, 0, 0, 'pending', 0, ?)", values)
        }
        // Other nodes are told in the same statement (no second round trip), delivered at commit;
        // PostgreSQL sends one of identical notifications per transaction, so a batch is one.
        try conn.run("""
            INSERT INTO Jobs (\(columns)) VALUES (?, ?, 0, ?, 0, 0, 'pending', 0, ?)
            RETURNING pg_notify('\(ClusterEvents.channel)', '\(ClusterEvent.jobCreated.rawValue)')
            """, values)
    }

    public func get(_ id: String) async throws -> Job? {
        try await db.readSQL { conn in try Self.get(conn, id) }
    }

    /// `get` on the caller's thread: one primary-key lookup, cheap enough for a connection's loop.
    public func getSync(_ id: String) throws -> Job? {
        try db.readSQLSync { conn in try Self.get(conn, id) }
    }

    static func get(_ conn: any SQLConnection, _ id: String) throws -> Job? {
        try conn.first("SELECT \(columns) FROM Jobs WHERE Id = ?", [.text(id)], job)
    }

    /// The statuses of `ids` (those that exist).
    public func statuses(_ ids: [String]) async throws -> [String: JobStatus] {
        guard !ids.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
        let rows = try await db.readSQL { conn in
            try conn.all("SELECT Id, Status FROM Jobs WHERE Id IN (\(marks))", ids.map { .text($0) }) { ($0.string(0) ?? "", $0.string(1) ?? "") }
        }
        return Dictionary(rows.compactMap { id, s in JobStatus(rawValue: s).map { (id, $0) } }, uniquingKeysWith: { a, _ in a })
    }

    /// Newest first (Mattermost orders by CreateAt DESC).
    public func list(types: [String], status: JobStatus?, offset: Int, limit: Int) async throws -> [Job] {
        try await db.readSQL { conn in try Self.list(conn, types: types, status: status, offset: offset, limit: limit) }
    }

    /// `list` on the caller's thread: at most 200 rows, read through an index in list order.
    public func listSync(types: [String], status: JobStatus?, offset: Int, limit: Int) throws -> [Job] {
        try db.readSQLSync { conn in try Self.list(conn, types: types, status: status, offset: offset, limit: limit) }
    }

    static func list(_ conn: any SQLConnection, types: [String], status: JobStatus?, offset: Int, limit: Int) throws -> [Job] {
        guard limit > 0, !types.isEmpty else { return [] }
        // Most lists ask for every type one may read: then the few other known types are left out
        // instead (every stored job has a known type: creation checks it), so the query walks the
        // (CreateAt, Id) index and stops after the page rather than merging one range per type.
        let excluded = JobTypes.allTypes.filter { !types.contains($0) }
        let filter: [String], clause: String
        if types.count > 1 && excluded.count < types.count && Set(types).isSubset(of: JobTypes.allTypes) {
            filter = excluded
            clause = excluded.isEmpty ? "1 = 1" : "Type NOT IN (\(Array(repeating: "?", count: excluded.count).joined(separator: ",")))"
        } else {
            filter = types
            clause = "Type IN (\(Array(repeating: "?", count: types.count).joined(separator: ",")))"
        }
        var parameters = filter.map { SQLValue.text($0) }
        if let status { parameters.append(.text(status.rawValue)) }
        parameters += [.int(Int64(limit)), .int(Int64(offset))]
        var out: [Job] = []
        out.reserveCapacity(limit)
        try conn.query(
            "SELECT \(Self.columns) FROM Jobs WHERE \(clause)\(status == nil ? "" : " AND Status = ?") ORDER BY CreateAt DESC, Id DESC LIMIT ? OFFSET ?",
            parameters) { out.append(Self.job($0)) }
        return out
    }

    /// Moves a job from `from` to `to` only if it is still in `from`; returns whether it moved.
    @discardableResult
    public func transition(_ id: String, from: JobStatus?, to: JobStatus, progress: Int64? = nil, data: [String: String]? = nil,
                           starting: Bool = false) async throws -> Bool {
        let now = clock.nowMilliseconds()
        return try await db.writeSQL { conn in
            let moved = try Self.transition(conn, id, from: from, to: to, progress: progress, data: data, starting: starting, now: now)
            // A job running on another node stops there too (the worker runs where it was claimed).
            if moved && [.cancelRequested, .canceled, .pending].contains(to) { try ClusterEvents.send(.jobStatusChanged, on: conn) }
            return moved
        }
    }

    static func transition(_ conn: any SQLConnection, _ id: String, from: JobStatus?, to: JobStatus, progress: Int64?, data: [String: String]?,
                           starting: Bool, now: Int64) throws -> Bool {
        var sql = "UPDATE Jobs SET Status = ?, LastActivityAt = ?"
        var parameters: [SQLValue] = [.text(to.rawValue), .int(now)]
        if let progress { sql += ", Progress = ?"; parameters.append(.int(progress)) }
        if let data { sql += ", Data = ?"; parameters.append(.text(Job.dataJSON(data))) }
        if starting { sql += ", StartAt = ?"; parameters.append(.int(now)) }
        sql += " WHERE Id = ?"
        parameters.append(.text(id))
        if let from { sql += " AND Status = ?"; parameters.append(.text(from.rawValue)) }
        return try conn.run(sql, parameters) == 1
    }

    /// Ends a running job with its worker's outcome, deciding with `JobStateMachine.finish` on the
    /// status read in the same write transaction (so a cancel that lands meanwhile is never lost):
    /// `canceled` if a cancel was requested. Returns the status the job ended with, or nil when
    /// someone else had already ended it — so it is safe to call again after a failure whose
    /// commit is unknown. `errorLog` is appended to the job's log in the same transaction.
    public func finish(_ id: String, outcome: JobStatus, data: [String: String], errorLog: String? = nil) async throws -> JobStatus? {
        let now = clock.nowMilliseconds()
        // One transaction: a connection lost between the log line and the status (PostgreSQL
        // restarting) leaves neither, so the engine's retry writes the error line once.
        return try await db.writeSQL { conn in
            try conn.transaction {
                guard let job = try Self.get(conn, id), let final = JobStateMachine.finish(current: job.status, outcome: outcome) else { return nil }
                if let errorLog { try Self.appendLog(conn, id, level: "error", msg: errorLog, progress: 0, now: now) }
                let progress: Int64 = final == .error ? -1 : (final == .canceled ? job.progress : 100)
                _ = try Self.transition(conn, id, from: job.status, to: final, progress: progress, data: data, starting: false, now: now)
                return final
            }
        }
    }

    public func setProgress(_ id: String, _ progress: Int64) async throws {
        let now = clock.nowMilliseconds()
        try await db.writeSQL { conn in try Self.setProgress(conn, id, progress, now: now) }
    }

    static func setProgress(_ conn: any SQLConnection, _ id: String, _ progress: Int64, now: Int64) throws {
        try conn.run("UPDATE Jobs SET Progress = ?, LastActivityAt = ? WHERE Id = ?", [.int(progress), .int(now), .text(id)])
    }

    public func appendLog(_ id: String, level: String, msg: String, progress: Int64) async throws {
        let now = clock.nowMilliseconds()
        try await db.writeSQL { conn in try Self.appendLog(conn, id, level: level, msg: msg, progress: progress, now: now) }
    }

    static func appendLog(_ conn: any SQLConnection, _ id: String, level: String, msg: String, progress: Int64, now: Int64) throws {
        try conn.run(
            "INSERT INTO JobLogs (JobId, Idx, Level, Msg, Progress, Timestamp) VALUES (?, (SELECT coalesce(max(Idx) + 1, 0) FROM JobLogs WHERE JobId = ?), ?, ?, ?, ?)",
            [.text(id), .text(id), .text(level), .text(msg), .int(progress), .int(now)])
    }

    public func logs(_ id: String, offset: Int, limit: Int) async throws -> [JobLogEntry] {
        try await db.readSQL { conn in try Self.logs(conn, id, offset: offset, limit: limit) }
    }

    /// `logs` on the caller's thread: at most 1000 rows by primary key.
    public func logsSync(_ id: String, offset: Int, limit: Int) throws -> [JobLogEntry] {
        try db.readSQLSync { conn in try Self.logs(conn, id, offset: offset, limit: limit) }
    }

    static func logs(_ conn: any SQLConnection, _ id: String, offset: Int, limit: Int) throws -> [JobLogEntry] {
        try conn.all("SELECT Idx, Level, Msg, Progress, Timestamp FROM JobLogs WHERE JobId = ? AND Idx >= ? ORDER BY Idx LIMIT ?",
                     [.text(id), .int(Int64(offset)), .int(Int64(limit))]) { s in
            JobLogEntry(idx: s.int64(0), level: s.string(1) ?? "", msg: s.string(2) ?? "", progress: s.int64(3), timestamp: s.int64(4))
        }
    }

    public func delete(_ id: String) async throws {
        try await db.writeSQL { conn in
            try conn.transaction {
                try conn.run("DELETE FROM JobLogs WHERE JobId = ?", [.text(id)])
                try conn.run("DELETE FROM Jobs WHERE Id = ?", [.text(id)])
            }
        }
    }
}

/// The `Data` column: a JSON object of strings.
enum JSONDecoderLite {
    static func stringMap(_ text: String) throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }
}
