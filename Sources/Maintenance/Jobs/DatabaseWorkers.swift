import FoundationEssentials
import StewardModel
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `db_backup`: SQLite's online backup of the store into the jobs directory while writers continue
/// (the copy reads one snapshot), verified with `PRAGMA quick_check`, newest `BackupsToKeep` kept.
///
/// `data.step_delay_ms` throttles the copy (milliseconds between steps of 256 pages), to spare the
/// disk on a busy host.
public struct DatabaseBackupWorker: JobWorker {
    public let type = "db_backup"
    public let isCritical = true
    public let parameters = JobParameters([
        JobParameter("step_delay_ms", .integer(0...60_000), default: "0", "milliseconds to wait between steps of 256 pages"),
    ])

    public init() {}

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        try JobFiles.makeDirectory(ctx.directory)
        let name = "steward-\(ctx.job.createAt)-\(job.id).db"
        let path = ctx.directory + "/" + name
        // Checked: 0...60 000 ms, so the conversion below cannot trap.
        let delay = UInt32(try parameters.integer("step_delay_ms", in: job) ?? 0)
        ctx.log(.info, "backing up the store")
        var pages = 0
        try ctx.store.readSync { conn in
            // Hold one read transaction: the copy is of this snapshot, and writers do not restart it.
            try conn.execute("BEGIN")
            defer { try? conn.execute("COMMIT") }
            let start = try conn.cached("SELECT count(*) FROM sqlite_master")
            _ = try start.step()
            start.reset()
            try conn.backup(into: path, pagesPerStep: 256) { copied, total in
                pages = total
                ctx.progress(total == 0 ? 90 : copied * 90 / total)
                try ctx.checkCancelled()
                if delay > 0 { usleep(delay * 1000) }
                return true
            }
        }
        try ctx.checkCancelled()
        let check = try Self.quickCheck(path)
        guard check == "ok" else {
            unlink(path)
            throw JobFailure("the backup failed verification: \(check)")
        }
        ctx.progress(95)
        let removed = try JobFiles.keepNewest(ctx.settings.jobSettings.backupsToKeep, in: ctx.directory, prefix: "steward-", suffix: ".db")
        if !removed.isEmpty { ctx.log(.info, "removed old backups: \(removed.joined(separator: ", "))") }
        ctx.log(.info, "backup written and verified")
        return .success([
            "file": "\(type)/\(name)", "is_downloadable": "true", "size_bytes": "\(JobFiles.size(path))",
            "pages": "\(pages)", "quick_check": check,
        ])
    }

    static func quickCheck(_ path: String, full: Bool = false) throws -> String {
        let conn = try Connection(path: path, readOnly: true, busyTimeoutMilliseconds: 5000)
        let s = try conn.cached(full ? "PRAGMA integrity_check" : "PRAGMA quick_check")
        var lines: [String] = []
        while try s.step() { lines.append(s.string(0) ?? "") }
        s.reset()
        return lines.joined(separator: "; ")
    }
}

/// `db_optimize`: `PRAGMA optimize`, a WAL checkpoint (TRUNCATE) and, with `data.vacuum=true`,
/// `VACUUM`; sizes before and after in `data`.
public struct DatabaseOptimizeWorker: JobWorker {
    public let type = "db_optimize"
    public let isCritical = false
    public let parameters = JobParameters([
        JobParameter("vacuum", .boolean, default: "false", "also VACUUM the store (rewrites the whole file)"),
    ])

    public init() {}

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        let path = ctx.store.path
        let before = (JobFiles.size(path), JobFiles.size(path + "-wal"))
        let vacuum = try parameters.boolean("vacuum", in: job)
        try ctx.checkCancelled()
        // Progress is written through the same writer connection: never from inside a write.
        try ctx.store.writeSync { conn in try conn.execute("PRAGMA optimize") }
        ctx.progress(30)
        try ctx.store.writeSync { conn in try conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        ctx.progress(vacuum ? 50 : 90)
        if vacuum {
            try ctx.checkCancelled()
            ctx.log(.info, "vacuuming")
            try ctx.store.writeSync { conn in
                try conn.execute("VACUUM")
                try conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
        let after = (JobFiles.size(path), JobFiles.size(path + "-wal"))
        ctx.log(.info, "optimized: \(before.0) → \(after.0) bytes, WAL \(before.1) → \(after.1) bytes")
        return .success([
            "size_before_bytes": "\(before.0)", "size_after_bytes": "\(after.0)",
            "wal_before_bytes": "\(before.1)", "wal_after_bytes": "\(after.1)", "vacuumed": "\(vacuum)",
        ])
    }
}

/// Files jobs write: directories, sizes, retention.
public enum JobFiles {
    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw JobFailure("cannot create \(path)")
        }
    }

    public static func size(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// Deletes all but the `keep` newest files (names sort by creation time); returns what it removed.
    static func keepNewest(_ keep: Int, in directory: String, prefix: String, suffix: String) throws -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.sorted()
        guard names.count > keep else { return [] }
        let old = Array(names.prefix(names.count - keep))
        for n in old { unlink(directory + "/" + n) }
        return old
    }

    /// Writes `bytes` to `path` (temp + rename), mode 0600.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw JobFailure("\(error)")
        }
    }
}
