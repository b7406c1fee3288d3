import FoundationEssentials
import StewardModel
import Store
#if canImport(Glibc)
import Glibc
#endif

/// `export_process`: Mattermost's bulk export. Reads the store's Mattermost tables from one
/// snapshot and writes Mattermost's bulk-export format — JSON lines, `version` first, then teams,
/// channels, users (with their team and channel memberships and preferences), bots, posts (with
/// their replies, reactions, flags and attachment paths), emoji, direct and group channels and their
/// posts — as `import.jsonl` in `<job id>_export.zip` in the exports directory, which
/// `GET /api/v4/exports` lists and mmctl downloads.
///
/// Memory is bounded by one page: every section is read in pages of `pageSize` rows by id (keyset,
/// so each page is an index range on either database) and written out before the next is read;
/// the children of a page (replies, reactions, files, memberships) come from queries over the
/// page's ids. Only the flagged-post and favourite-channel preferences are read once up front
/// (one entry per flag), since Mattermost has no index to read them by post or channel.
///
/// What is left out, and why (docs/jobs.md): attachments are listed by path and never copied, since
/// the daemon has no file store (`include_attachments` is accepted, and the job says how many it
/// listed); profile pictures, custom statuses, roles and schemes and thread followers are not
/// exported. The zip's entries are stored, not deflated.
public struct BulkExportWorker: JobWorker {
    public let type = ExportFiles.type
    public let summary = "Mattermost's bulk export: teams, channels, users, posts, direct messages and emoji as JSON lines in a zip"
    public let isCritical = false
    public let artifact = JobArtifactKind.bulkExport
    public let timer: String? = nil
    /// The keys mmctl's `export create` sends (as strings "true"); all optional.
    public let parameters = JobParameters([
        JobParameter("include_attachments", .boolean, "list the posts' attachments (their files are not copied: no file store)"),
        JobParameter("include_archived_channels", .boolean, "also export archived channels and their posts"),
        JobParameter("include_roles_and_schemes", .boolean, "accepted from mmctl; roles and schemes are not exported"),
        JobParameter("include_profile_pictures", .boolean, "accepted from mmctl; profile pictures are not exported"),
    ])
    /// Rows per page of every section.
    let pageSize: Int
    let version: String

    public init(pageSize: Int = 500, version: String = StewardVersion.version) {
        self.pageSize = max(1, pageSize)
        self.version = version
    }

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        let options = BulkExportOptions(
            includeArchivedChannels: try parameters.boolean("include_archived_channels", in: job),
            includeAttachments: try parameters.boolean("include_attachments", in: job), pageSize: pageSize)
        for (key, what) in [("include_roles_and_schemes", "roles and schemes"), ("include_profile_pictures", "profile pictures")]
        where try parameters.boolean(key, in: job) {
            ctx.log(.info, "\(what) are not exported by Steward")
        }
        let artifact = try ctx.artifactWriter()
        let fd = try artifact.create()
        defer { close(fd) }
        var sink = ExportSink(zip: ZipStreamWriter(descriptor: fd))
        try sink.zip.begin("import.jsonl")
        // One snapshot: every section sees the same database, and rows written meanwhile are not half in.
        let begin = ctx.sql.dialect == .postgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"
        let counts = try ctx.sql.readSQLSync { conn -> ExportCounts in
            try conn.execute(begin)
            defer { try? conn.execute("COMMIT") }
            let schema = try ExportSchema.read(conn)
            var export = BulkExport(conn: conn, schema: schema, options: options, sink: sink, ctx: ctx)
            try export.writeVersion(generatorVersion: version, created: Self.rfc3339Now())
            try export.run()
            sink = export.sink
            return export.counts
        }
        try sink.finish()
        try sink.zip.endEntry()
        try sink.zip.finish()
        guard fsync(fd) == 0 else { throw JobFailure("writing the export failed: \(String(cString: strerror(errno)))") }
        try artifact.commit()
        if !counts.absentTables.isEmpty {
            ctx.log(.info, "absent from the store, so not exported: \(counts.absentTables.joined(separator: ", "))")
        }
        if options.includeAttachments && counts.attachments > 0 {
            ctx.log(.warning, "\(counts.attachments) attachments listed by path; their files are not in the export (Steward has no file store)")
        }
        ctx.log(.info, "exported \(counts.teams) teams, \(counts.channels) channels, \(counts.users) users, \(counts.posts) posts, \(counts.directPosts) direct posts")
        return .success(counts.jobData(fileName: artifact.name))
    }

    /// Now in RFC 3339 with nanoseconds, UTC, as Go's `time.RFC3339Nano` writes it in the version line.
    static func rfc3339Now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        var nanos = String(ts.tv_nsec)
        nanos = String(repeating: "0", count: 9 - nanos.count) + nanos
        while nanos.hasSuffix("0") { nanos.removeLast() }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))\(nanos.isEmpty ? "" : "." + nanos)Z"
    }
}

struct BulkExportOptions {
    var includeArchivedChannels: Bool
    var includeAttachments: Bool
    var pageSize: Int
}

/// How many lines of each kind went out; the job's data at the end (Mattermost's keys).
struct ExportCounts {
    var teams = 0, channels = 0, users = 0, bots = 0, posts = 0, replies = 0, reactions = 0, attachments = 0
    var emoji = 0, directChannels = 0, directPosts = 0, skippedDirectChannels = 0, invalidProps = 0
    var absentTables: [String] = []

    func jobData(fileName: String) -> [String: String] {
        [
            "export_file": fileName,
            "teams_exported": "\(teams)", "channels_exported": "\(channels)", "users_exported": "\(users)",
            "bots_exported": "\(bots)", "posts_exported": "\(posts)", "replies_exported": "\(replies)",
            "reactions_exported": "\(reactions)", "attachments_listed": "\(attachments)", "emojis_exported": "\(emoji)",
            "direct_channels_exported": "\(directChannels)", "direct_posts_exported": "\(directPosts)",
            "skipped_direct_channels": "\(skippedDirectChannels)", "invalid_props": "\(invalidProps)",
        ]
    }
}

/// The lines of the export, buffered up to `ZipStreamWriter.bufferSize` and then written.
struct ExportSink {
    var zip: ZipStreamWriter
    var pending: [UInt8] = []
    var bytes: Int64 = 0

    init(zip: ZipStreamWriter) {
        self.zip = zip
        pending.reserveCapacity(ZipStreamWriter.bufferSize * 2)
    }

    /// One line: `{"type":<type>,<type>:{…}}`.
    mutating func line(_ type: String, _ body: (inout JSONWriter.ObjectWriter) -> Void) throws(JobFailure) {
        try append(ExportLines.line(type, body))
    }

    mutating func append(_ line: [UInt8]) throws(JobFailure) {
        pending += line
        pending.append(0x0A)
        bytes += Int64(line.count + 1)
        if pending.count >= ZipStreamWriter.bufferSize {
            try zip.write(pending)
            pending.removeAll(keepingCapacity: true)
        }
    }

    mutating func finish() throws(JobFailure) {
        try zip.write(pending)
        pending.removeAll()
    }
}
