import FoundationEssentials
import StewardModel
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `data_retention`: deletes messages older than `DataRetentionSettings.MessageRetentionDays`
/// (`data.retention_days` overrides it for one run) — posts and their reactions, file-info rows and
/// thread rows where those tables exist — in batches of `BatchSize`, each batch one transaction, so a
/// crash leaves a batch entirely deleted or entirely there. Newer rows are never touched. The same
/// statements on SQLite and PostgreSQL.
public struct DataRetentionWorker: JobWorker {
    public let type = "data_retention"
    public let summary = "Deletes posts (with their reactions, file infos and threads) older than the retention"
    public let isCritical = false
    public let artifact = JobArtifactKind.none
    public let timer: String? = "steward-retention.timer"
    /// `MessageRetentionDays` is at least 1 in Mattermost; so is the override.
    public let parameters = JobParameters([
        JobParameter("retention_days", .integer(1...36_500), "days to keep (default DataRetentionSettings.MessageRetentionDays)"),
    ])
    let clock: WallClock

    public init(clock: WallClock = .system) { self.clock = clock }

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        let settings = ctx.settings.dataRetentionSettings
        let days = try parameters.integer("retention_days", in: job) ?? Int64(settings.messageRetentionDays)
        // Both the parameter and the setting are 1...36500; checked again so arithmetic on a value
        // from a store written by another version cannot trap.
        let (span, overflow) = days.multipliedReportingOverflow(by: 86_400_000)
        guard days >= 1, !overflow else { throw JobFailure("the retention must be at least 1 day and at most 36500 days, got \(days)") }
        let cutoff = clock.nowMilliseconds() - span
        // Either store: the statements are the same (table names unquoted, so PostgreSQL folds them
        // to Mattermost's lower-case tables).
        let tables = Set(try ctx.sql.readSQLSync { try $0.tableNames() }.map { $0.lowercased() })
        guard tables.contains("posts") else {
            ctx.log(.info, "no Posts table: nothing to delete")
            return .success(["posts_deleted": "0", "cutoff": "\(cutoff)"])
        }
        let total = try ctx.sql.readSQLSync { conn -> Int64 in
            try conn.first("SELECT count(*) FROM Posts WHERE CreateAt < ?", [.int(cutoff)]) { $0.int64(0) } ?? 0
        }
        ctx.log(.info, "\(total) posts older than \(days) days")
        var deleted: [String: Int] = ["Posts": 0, "Reactions": 0, "FileInfo": 0, "Threads": 0]
        let related = ["Reactions", "FileInfo", "Threads"].filter { tables.contains($0.lowercased()) }
        let batchTable = ctx.sql.dialect == .postgres
            ? "CREATE TEMP TABLE IF NOT EXISTS RetentionBatch (Id VARCHAR(26) PRIMARY KEY)"
            : "CREATE TEMP TABLE IF NOT EXISTS RetentionBatch (Id TEXT PRIMARY KEY)"
        var done: Int64 = 0
        while done < total {
            try ctx.checkCancelled()
            let batch = try ctx.sql.writeSQLSync { conn -> [String: Int] in
                try conn.transaction {
                    try conn.execute(batchTable)
                    try conn.execute("DELETE FROM RetentionBatch")
                    try conn.run("INSERT INTO RetentionBatch SELECT Id FROM Posts WHERE CreateAt < ? ORDER BY CreateAt LIMIT ?",
                                 [.int(cutoff), .int(Int64(settings.batchSize))])
                    var counts: [String: Int] = [:]
                    for table in related {
                        counts[table] = try conn.run("DELETE FROM \(table) WHERE PostId IN (SELECT Id FROM RetentionBatch)", [])
                    }
                    counts["Posts"] = try conn.run("DELETE FROM Posts WHERE Id IN (SELECT Id FROM RetentionBatch)", [])
                    return counts
                }
            }
            for (k, v) in batch { deleted[k, default: 0] += v }
            let posts = Int64(batch["Posts"] ?? 0)
            if posts == 0 { break }
            done += posts
            ctx.progress(Int(done * 100 / max(total, 1)))
            ctx.log(.info, "deleted \(done) of \(total) posts")
        }
        return .success([
            "cutoff": "\(cutoff)", "posts_deleted": "\(deleted["Posts"]!)", "reactions_deleted": "\(deleted["Reactions"]!)",
            "file_infos_deleted": "\(deleted["FileInfo"]!)", "threads_deleted": "\(deleted["Threads"]!)",
        ])
    }
}

/// `message_export`: the posts created between `data.start_time` (inclusive) and `data.end_time`
/// (exclusive), in milliseconds, as CSV (one row per post: id, time, channel, user, message) inside a
/// zip; downloadable. Rows are read from one snapshot and streamed into the archive on disk, so
/// memory stays bounded and an export past 4 GiB is a zip64 archive.
public struct MessageExportWorker: JobWorker {
    public let type = "message_export"
    public let summary = "A compliance export of the posts in a time range: CSV in a zip"
    public let isCritical = false
    public let artifact = JobArtifactKind.export
    public let timer: String? = nil
    /// Milliseconds since the epoch, up to the year 9999.
    public let parameters = JobParameters([
        JobParameter("start_time", .integer(0...253_402_300_799_999), "first post time included, in milliseconds"),
        JobParameter("end_time", .integer(0...253_402_300_799_999), "first post time excluded, in milliseconds"),
    ])

    public init() {}

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        guard let start = try parameters.integer("start_time", in: job), let end = try parameters.integer("end_time", in: job), start <= end else {
            throw JobFailure("data.start_time and data.end_time (milliseconds, start <= end) are required")
        }
        let tables = Set(try ctx.sql.readSQLSync { try $0.tableNames() }.map { $0.lowercased() })
        guard tables.contains("posts") else { throw JobFailure("the store has no Posts table") }
        let channels = tables.contains("channels"), users = tables.contains("users")
        let artifact = try ctx.artifactWriter()
        let fd = try artifact.create()
        defer { close(fd) }
        var zip = ZipStreamWriter(descriptor: fd)
        try zip.begin("messages.csv")
        var pending = Array("post_id,create_at,channel_id,channel_name,user_id,username,message\r\n".utf8)
        var rows = 0
        // One snapshot: the count and the rows agree, and rows written meanwhile are not half in.
        let begin = ctx.sql.dialect == .postgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"
        try ctx.sql.readSQLSync { conn in
            try conn.execute(begin)
            defer { try? conn.execute("COMMIT") }
            let total = try conn.first("SELECT count(*) FROM Posts WHERE CreateAt >= ? AND CreateAt < ?", [.int(start), .int(end)]) { $0.int64(0) } ?? 0
            let sql = """
                SELECT P.Id, P.CreateAt, P.ChannelId, \(channels ? "C.Name" : "''"), P.UserId, \(users ? "U.Username" : "''"), P.Message
                FROM Posts AS P
                \(channels ? "LEFT JOIN Channels AS C ON C.Id = P.ChannelId" : "")
                \(users ? "LEFT JOIN Users AS U ON U.Id = P.UserId" : "")
                WHERE P.CreateAt >= ? AND P.CreateAt < ? ORDER BY P.CreateAt, P.Id
                """
            try conn.streamRows(sql, [.int(start), .int(end)]) { s in
                rows += 1
                let line = [s.string(0), String(s.int64(1)), s.string(2), s.string(3), s.string(4), s.string(5), s.string(6)]
                    .map { CSV.field($0 ?? "") }.joined(separator: ",") + "\r\n"
                pending += line.utf8
                if pending.count >= ZipStreamWriter.bufferSize {
                    try zip.write(pending)
                    pending.removeAll(keepingCapacity: true)
                }
                if rows % 10_000 == 0 {
                    try ctx.checkCancelled()
                    ctx.progress(Int(Int64(rows) * 95 / max(total, 1)))
                }
            }
        }
        try zip.write(pending)
        try zip.endEntry()
        try zip.finish()
        guard fsync(fd) == 0 else { throw JobFailure("writing the export failed: \(String(cString: strerror(errno)))") }
        try artifact.commit()
        ctx.log(.info, "exported \(rows) posts")
        return .success(["messages_exported": "\(rows)"])
    }
}

enum CSV {
    /// RFC 4180: quoted when it holds a comma, quote, or line break; quotes doubled.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacing("\"", with: "\"\"") + "\""
    }
}
