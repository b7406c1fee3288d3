import Maintenance
import StewardModel
import Store

/// `integrity_check`: the relational checks plus SQLite's `quick_check` (`integrity_check` with
/// `data.full=true`) and `foreign_key_check`; the report is a downloadable JSON file. Orphans, page
/// errors or foreign-key violations end the job in `warning`.
public struct IntegrityCheckWorker: JobWorker {
    public let type = "integrity_check"
    public let summary = "Mattermost's relational checks, SQLite's quick_check and foreign_key_check; a JSON report"
    public let isCritical = false
    public let artifact = JobArtifactKind.report
    public let timer: String? = "steward-integrity.timer"
    public let parameters = JobParameters([
        JobParameter("full", .boolean, default: "false", "run SQLite's full integrity_check instead of quick_check"),
        JobParameter("relations_only", .boolean, default: "false",
                     "only the relational checks (what POST /integrity answers; stewardctl integrity on a terminal)"),
    ])

    public init() {}

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        let full = try parameters.boolean("full", in: job)
        let relationsOnly = try parameters.boolean("relations_only", in: job)
        let integrity = ctx.settings.integritySettings
        ctx.log(.info, "relational checks")
        // Tables read are 0–70 % of the job; the page and foreign-key checks the rest.
        var options = IntegrityChecker.Options(
            configured: integrity.relations, discoverForeignKeys: integrity.discoverForeignKeys,
            maxRecordsPerRelation: integrity.maxRecordsPerRelation,
            progress: { done, total in
                ctx.progress(70 * done / max(total, 1))
                if done == total || done % 8 == 0 { ctx.log(.info, "tables read: \(done) of \(total)") }
            })
        options.threads = IntegrityChecker.Options.threads(setting: integrity.scanThreads)
        let report = try IntegrityChecker(store: ctx.sql).runSync(options)
        if !report.walkedByIndex.isEmpty {
            ctx.log(.info, "answered from their foreign-key indexes: \(report.walkedByIndex.joined(separator: "; "))")
        }
        try ctx.checkCancelled()
        ctx.progress(70)
        // SQLite's page and foreign-key checks; PostgreSQL has no counterpart to run here.
        let sqliteChecks = !relationsOnly && ctx.sql is DatabasePool
        if sqliteChecks { ctx.log(.info, full ? "PRAGMA integrity_check" : "PRAGMA quick_check") }
        let pageCheck = !sqliteChecks ? [] : try ctx.sqlite().readSync { conn -> [String] in
            let s = try conn.cached(full ? "PRAGMA integrity_check" : "PRAGMA quick_check")
            var out: [String] = []
            while try s.step() { out.append(s.string(0) ?? "") }
            s.reset()
            return out
        }
        try ctx.checkCancelled()
        ctx.progress(85)
        let fkViolations = !sqliteChecks ? 0 : try ctx.sqlite().readSync { conn -> Int in
            let s = try conn.cached("PRAGMA foreign_key_check")
            var n = 0
            while try s.step() { n += 1 }
            s.reset()
            return n
        }
        let orphans = report.orphanCounts.reduce(0) { $0 + $1.count }
        let pagesOK = !sqliteChecks || pageCheck == ["ok"]
        // The relations are streamed into the file (they can be millions of records); the summary
        // fields after them are small.
        var tail = JSONWriter()
        tail.object { o in
            o.object("orphan_counts") { counts in
                for c in report.orphanCounts { counts.field(c.check, c.count) }
            }
            o.raw("skipped", JSONWriter.strings(report.skipped))
            o.raw("truncated", JSONWriter.strings(report.truncated))
            o.raw("page_check", JSONWriter.strings(pageCheck))
            o.field("foreign_key_violations", fkViolations)
        }
        let artifact = try ctx.artifactWriter()
        try artifact.stream { write in
            try Array("{\"relations\":".utf8).withUnsafeBytes(write)
            try report.writeJSON(write)
            try Array(("," + tail.output.dropFirst()).utf8).withUnsafeBytes(write)
        }
        ctx.log(orphans > 0 || !pagesOK || fkViolations > 0 ? .warning : .info,
                "\(orphans) orphans, page check \(pagesOK ? "ok" : "failed"), \(fkViolations) foreign-key violations")
        let data = [
            "orphans": "\(orphans)", "page_check": relationsOnly ? "not run" : !sqliteChecks ? "not applicable (PostgreSQL)" : pagesOK ? "ok" : "failed", "foreign_key_violations": "\(fkViolations)",
            "truncated_relations": "\(report.truncated.count)",
        ]
        return orphans > 0 || !pagesOK || fkViolations > 0 ? .warning(data) : .success(data)
    }
}
