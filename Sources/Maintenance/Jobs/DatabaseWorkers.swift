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
/// disk on a busy host. On PostgreSQL: `pg_dump` of one snapshot (`PostgresBackup`; no throttle).
public struct DatabaseBackupWorker: JobWorker {
    public let type = "db_backup"
    public let summary = "Online backup of the store, verified with quick_check; the newest BackupsToKeep are kept"
    public let isCritical = true
    public let artifact = JobArtifactKind.backup
    public let timer: String? = "steward-backup.timer"
    public let parameters = JobParameters([
        JobParameter("step_delay_ms", .integer(0...60_000), default: "0", "milliseconds to wait between steps of 256 pages"),
    ])

    public init() {}

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        if let postgres = ctx.sql as? PostgresPool { return try PostgresBackup.run(job, ctx, postgres, type: type) }
        let artifact = try ctx.artifactWriter()
        let path = artifact.path
        // Checked: 0...60 000 ms, so the conversion below cannot trap.
        let delay = UInt32(try parameters.integer("step_delay_ms", in: job) ?? 0)
        ctx.log(.info, "backing up the store")
        var pages = 0
        try ctx.sqlite().readSync { conn in
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
        let check = try Self.sealAndCheck(path)
        guard check == "ok" else { throw JobFailure("the backup failed verification: \(check)") }
        ctx.progress(95)
        try artifact.commit()
        let removed = JobArtifacts.keepNewest(ctx.settings.jobSettings.backupsToKeep, of: type, kind: artifact.kind, in: artifact.directory)
        if !removed.isEmpty { ctx.log(.info, "removed old backups: \(removed.joined(separator: ", "))") }
        ctx.log(.info, "backup written and verified")
        return .success([
            "size_bytes": "\(JobFiles.size(artifact.directory.pinnedPath(artifact.name)))", "pages": "\(pages)", "quick_check": check,
        ])
    }

    /// Makes the copy one self-contained file (rollback journal, so no `-wal` or `-shm` goes with
    /// it and it opens read-only anywhere) and returns `PRAGMA quick_check`'s verdict.
    static func sealAndCheck(_ path: String) throws -> String {
        let conn = try Connection(path: path, readOnly: false, busyTimeoutMilliseconds: SqlSettings.defaultBusyTimeoutMilliseconds)
        try conn.execute("PRAGMA journal_mode=DELETE")
        let s = try conn.cached("PRAGMA quick_check")
        var lines: [String] = []
        while try s.step() { lines.append(s.string(0) ?? "") }
        s.reset()
        return lines.joined(separator: "; ")
    }
}

/// `db_optimize`: `PRAGMA optimize`, a WAL checkpoint (TRUNCATE) and, with `data.vacuum=true`,
/// `VACUUM`; sizes before and after in `data`. On PostgreSQL: `VACUUM (ANALYZE)` table by table
/// (`PostgresOptimize`).
public struct DatabaseOptimizeWorker: JobWorker {
    public let type = "db_optimize"
    public let summary = "PRAGMA optimize, a WAL checkpoint and optionally VACUUM; sizes before and after"
    public let isCritical = false
    public let artifact = JobArtifactKind.none
    public let timer: String? = "steward-optimize.timer"
    public let parameters = JobParameters([
        JobParameter("vacuum", .boolean, default: "false", "also VACUUM the store (rewrites the whole file)"),
    ])

    public init() {}

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        if let postgres = ctx.sql as? PostgresPool { return try PostgresOptimize.run(job, ctx, postgres) }
        let path = try ctx.sqlite().path
        let before = (JobFiles.size(path), JobFiles.size(path + "-wal"))
        let vacuum = try parameters.boolean("vacuum", in: job)
        try ctx.checkCancelled()
        // Progress is written through the same writer connection: never from inside a write.
        try ctx.sqlite().writeSync { conn in try conn.execute("PRAGMA optimize") }
        ctx.progress(30)
        try ctx.sqlite().writeSync { conn in try conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        ctx.progress(vacuum ? 50 : 90)
        if vacuum {
            try ctx.checkCancelled()
            ctx.log(.info, "vacuuming")
            try ctx.sqlite().writeSync { conn in
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

/// Sizes of the files jobs look at.
public enum JobFiles {
    public static func size(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }
}
