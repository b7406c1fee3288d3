import FoundationEssentials
import StewardModel
import Store

/// `data_retention`: deletes messages older than `DataRetentionSettings.MessageRetentionDays`
/// (`data.retention_days` overrides it for one run) — posts and their reactions, file-info rows and
/// thread rows where those tables exist — in batches of `BatchSize`, each batch one transaction, so a
/// crash leaves a batch entirely deleted or entirely there. Newer rows are never touched.
public struct DataRetentionWorker: JobWorker {
    public let type = "data_retention"
    public let isCritical = false
    /// `MessageRetentionDays` is at least 1 in Mattermost; so is the override.
    public let parameters = JobParameters([
        JobParameter("retention_days", .integer(1...36_500), "days to keep (default DataRetentionSettings.MessageRetentionDays)"),
    ])
    let clock: WallClock

    public init(clock: WallClock = .system) { self.clock = clock }

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        let settings = ctx.settings.dataRetentionSettings
        let days = try parameters.integer("retention_days", in: job) ?? Int64(settings.messageRetentionDays)
        // The setting is not range-checked at load yet: a day count that cannot be a time fails the
        // job instead of trapping.
        let (span, overflow) = days.multipliedReportingOverflow(by: 86_400_000)
        guard days >= 1, !overflow else { throw JobFailure("the retention must be at least 1 day and at most 36500 days, got \(days)") }
        let cutoff = clock.nowMilliseconds() - span
        let tables = Set(try ctx.store.readSync { try $0.tableNames() })
        guard tables.contains("Posts") else {
            ctx.log(.info, "no Posts table: nothing to delete")
            return .success(["posts_deleted": "0", "cutoff": "\(cutoff)"])
        }
        let total = try ctx.store.readSync { conn -> Int64 in
            let s = try conn.cached("SELECT count(*) FROM Posts WHERE CreateAt < ?")
            s.bind(1, cutoff)
            defer { s.reset() }
            _ = try s.step()
            return s.int64(0)
        }
        ctx.log(.info, "\(total) posts older than \(days) days")
        var deleted: [String: Int] = ["Posts": 0, "Reactions": 0, "FileInfo": 0, "Threads": 0]
        let related = ["Reactions", "FileInfo", "Threads"].filter(tables.contains)
        var done: Int64 = 0
        while done < total {
            try ctx.checkCancelled()
            let batch = try ctx.store.writeSync { conn -> [String: Int] in
                try conn.transaction {
                    try conn.execute("CREATE TEMP TABLE IF NOT EXISTS RetentionBatch (Id TEXT PRIMARY KEY)")
                    try conn.execute("DELETE FROM RetentionBatch")
                    let pick = try conn.cached("INSERT INTO RetentionBatch SELECT Id FROM Posts WHERE CreateAt < ? ORDER BY CreateAt LIMIT ?")
                    pick.bind(1, cutoff).bind(2, Int64(settings.batchSize))
                    try pick.run()
                    var counts: [String: Int] = [:]
                    for table in related {
                        try conn.execute("DELETE FROM \(table) WHERE PostId IN (SELECT Id FROM RetentionBatch)")
                        counts[table] = conn.changes
                    }
                    try conn.execute("DELETE FROM Posts WHERE Id IN (SELECT Id FROM RetentionBatch)")
                    counts["Posts"] = conn.changes
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
/// zip; downloadable.
public struct MessageExportWorker: JobWorker {
    public let type = "message_export"
    public let isCritical = false
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
        let tables = Set(try ctx.store.readSync { try $0.tableNames() })
        guard tables.contains("Posts") else { throw JobFailure("the store has no Posts table") }
        let channels = tables.contains("Channels"), users = tables.contains("Users")
        var csv = "post_id,create_at,channel_id,channel_name,user_id,username,message\r\n"
        var rows = 0
        try ctx.store.readSync { conn in
            let sql = """
                SELECT P.Id, P.CreateAt, P.ChannelId, \(channels ? "C.Name" : "''"), P.UserId, \(users ? "U.Username" : "''"), P.Message
                FROM Posts AS P
                \(channels ? "LEFT JOIN Channels AS C ON C.Id = P.ChannelId" : "")
                \(users ? "LEFT JOIN Users AS U ON U.Id = P.UserId" : "")
                WHERE P.CreateAt >= ? AND P.CreateAt < ? ORDER BY P.CreateAt, P.Id
                """
            let s = try conn.cached(sql)
            s.bind(1, start).bind(2, end)
            defer { s.reset() }
            while try s.step() {
                rows += 1
                if rows % 10_000 == 0 { try ctx.checkCancelled() }
                csv += [s.string(0), String(s.int64(1)), s.string(2), s.string(3), s.string(4), s.string(5), s.string(6)]
                    .map { CSV.field($0 ?? "") }.joined(separator: ",") + "\r\n"
            }
        }
        ctx.progress(80)
        try JobFiles.makeDirectory(ctx.directory)
        let name = "export-\(job.id).zip"
        try JobFiles.write(Zip.stored(["messages.csv": Array(csv.utf8)]), to: ctx.directory + "/" + name)
        ctx.log(.info, "exported \(rows) posts")
        return .success(["file": "\(type)/\(name)", "is_downloadable": "true", "messages_exported": "\(rows)"])
    }
}

enum CSV {
    /// RFC 4180: quoted when it holds a comma, quote, or line break; quotes doubled.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacing("\"", with: "\"\"") + "\""
    }
}

/// A zip archive with stored (uncompressed) entries: enough for an export any unzip reads.
enum Zip {
    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func stored(_ files: [String: [UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func le16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: UInt32, _ a: inout [UInt8]) { for i in 0..<4 { a.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            let nameBytes = Array(name.utf8)
            let crc = crc32(data)
            let offset = UInt32(out.count)
            le32(0x0403_4b50, &out); le16(20, &out); le16(0x0800, &out); le16(0, &out); le16(0, &out); le16(0x21, &out)
            le32(crc, &out); le32(UInt32(data.count), &out); le32(UInt32(data.count), &out)
            le16(nameBytes.count, &out); le16(0, &out)
            out += nameBytes + data
            le32(0x0201_4b50, &central); le16(20, &central); le16(20, &central); le16(0x0800, &central); le16(0, &central)
            le16(0, &central); le16(0x21, &central); le32(crc, &central); le32(UInt32(data.count), &central); le32(UInt32(data.count), &central)
            le16(nameBytes.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
            le32(0o100600 << 16, &central); le32(offset, &central)
            central += nameBytes
        }
        let centralOffset = UInt32(out.count)
        out += central
        le32(0x0605_4b50, &out); le16(0, &out); le16(0, &out); le16(files.count, &out); le16(files.count, &out)
        le32(UInt32(central.count), &out); le32(centralOffset, &out); le16(0, &out)
        return out
    }
}
