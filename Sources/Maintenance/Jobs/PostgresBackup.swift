import StewardModel
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `db_backup` on PostgreSQL: `pg_dump --format=custom` of one snapshot (pg_dump reads in one
/// transaction) into the staged artifact, then checked with `pg_restore --list` before it is
/// committed; the newest `BackupsToKeep` are kept. pg_dump writes to a descriptor the worker opened
/// in the held jobs directory (it never opens a path of ours), and gets the password through its
/// environment only — never on a command line other users can read in /proc.
enum PostgresBackup {
    static func run(_ job: Job, _ ctx: JobContext, _ store: PostgresPool, type: String) throws -> JobResult {
        let artifact = try ctx.artifactWriter()
        let dsn = store.options.dsn
        let expected = max(1, Int64(try store.dedicatedConnection().query("SELECT pg_database_size(current_database())").scalar ?? "1") ?? 1)
        ctx.log(.info, "backing up the store with pg_dump")
        let fd = try artifact.create()
        var dumped = false
        defer {
            close(fd)
            if !dumped { artifact.discard() }
        }
        var dump = try ChildProcess(tool("pg_dump"), ["--format=custom", "--no-password", "--dbname=" + conninfo(dsn)],
                                    environment: environment(dsn, application: "stewardd backup"), stdout: fd)
        let result = try dump.wait {
            var st = stat()
            if fstat(fd, &st) == 0 { ctx.progress(Int(min(90, Int64(st.st_size) * 90 / expected))) }
            return ctx.isCancelRequested
        }
        guard result.status == 0 else { throw JobFailure("pg_dump failed (exit \(result.status)): \(dsn.masking(result.stderr))") }
        guard fsync(fd) == 0 else { throw JobFailure("cannot write the backup: \(String(cString: strerror(errno)))") }
        try ctx.checkCancelled()
        let entries = try check(artifact, dsn)
        ctx.progress(95)
        try artifact.commit()
        dumped = true
        let removed = JobArtifacts.keepNewest(ctx.settings.jobSettings.backupsToKeep, of: type, kind: artifact.kind, in: artifact.directory)
        if !removed.isEmpty { ctx.log(.info, "removed old backups: \(removed.joined(separator: ", "))") }
        ctx.log(.info, "backup written and verified: \(entries) archive entries")
        return .success([
            "size_bytes": "\(JobFiles.size(artifact.directory.pinnedPath(artifact.name)))", "format": "pg_dump custom",
            "archive_entries": "\(entries)", "restore_list": "ok",
        ])
    }

    /// `pg_restore --list` of the staged file (on its standard input): the archive's table of
    /// contents must read to the end. Returns its entries.
    static func check(_ artifact: ArtifactWriter, _ dsn: PostgresDSN) throws -> Int {
        let input = openat(artifact.directory.descriptor, JobArtifacts.stagingName(artifact.name), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw JobFailure("cannot read the backup back: \(String(cString: strerror(errno)))") }
        defer { close(input) }
        var listed: [Int32] = [-1, -1]
        guard ChildProcess.pipeCloseOnExec(&listed) else { throw JobFailure("pipe: \(String(cString: strerror(errno)))") }
        defer { close(listed[0]) }
        let spawned = Result { try ChildProcess(tool("pg_restore"), ["--list"], environment: ["LC_ALL": "C"], stdin: input, stdout: listed[1]) }
        // Our copy of the write end goes at once, so the read below ends when pg_restore exits.
        close(listed[1])
        var restore = try spawned.get()
        var toc: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(listed[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            toc += buffer[0..<n]
        }
        let result = try restore.wait { false }
        guard result.status == 0 else { throw JobFailure("the backup failed verification: pg_restore --list: \(result.stderr)") }
        return String(decoding: toc, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix(";") && !$0.isEmpty }.count
    }

    /// The newest PostgreSQL client tool installed (Debian keeps each major version apart).
    static func tool(_ name: String) -> String {
        let root = "/usr/lib/postgresql"
        var entries: [Int] = []
        if let dir = opendir(root) {
            while let e = readdir(dir) {
                let n = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if let v = Int(n), access("\(root)/\(v)/bin/\(name)", X_OK) == 0 { entries.append(v) }
            }
            closedir(dir)
        }
        return entries.max().map { "\(root)/\($0)/bin/\(name)" } ?? "/usr/bin/\(name)"
    }

    /// libpq's connection string of the DSN without its password (which goes in `PGPASSWORD`).
    static func conninfo(_ dsn: PostgresDSN) -> String {
        dsn.keywords.filter { !["password", "sslpassword"].contains($0.name) }.map { k in
            var v = ""
            for c in k.value {
                if c == "'" || c == "\\" { v.append("\\") }
                v.append(c)
            }
            return "\(k.name)='\(v)'"
        }.joined(separator: " ")
    }

    static func environment(_ dsn: PostgresDSN, application: String) -> [String: String] {
        var env = ["LC_ALL": "C", "PGAPPNAME": application]
        if let p = dsn.value("password") { env["PGPASSWORD"] = p }
        if let p = dsn.value("sslpassword") { env["PGSSLPASSWORD"] = p }
        return env
    }
}
