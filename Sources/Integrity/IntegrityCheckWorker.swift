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
    ])

    public init() {}

    public func run(_ job: Job, _ ctx: JobContext) throws -> JobResult {
        let full = try parameters.boolean("full", in: job)
        let integrity = ctx.settings.integritySettings
        ctx.log(.info, "relational checks")
        let report = try IntegrityChecker(store: ctx.store).runSync(.init(
            configured: integrity.relations, discoverForeignKeys: integrity.discoverForeignKeys,
            maxRecordsPerRelation: integrity.maxRecordsPerRelation,
            afterTableScan: { _ in ctx.progress(min(70, max(5, ctx.isCancelRequested ? 0 : 40))) }))
        try ctx.checkCancelled()
        ctx.progress(70)
        ctx.log(.info, full ? "PRAGMA integrity_check" : "PRAGMA quick_check")
        let pageCheck = try ctx.store.readSync { conn -> [String] in
            let s = try conn.cached(full ? "PRAGMA integrity_check" : "PRAGMA quick_check")
            var out: [String] = []
            while try s.step() { out.append(s.string(0) ?? "") }
            s.reset()
            return out
        }
        try ctx.checkCancelled()
        ctx.progress(85)
        let fkViolations = try ctx.store.readSync { conn -> Int in
            let s = try conn.cached("PRAGMA foreign_key_check")
            var n = 0
            while try s.step() { n += 1 }
            s.reset()
            return n
        }
        let orphans = report.orphanCounts.reduce(0) { $0 + $1.count }
        let pagesOK = pageCheck == ["ok"]
        var w = JSONWriter()
        w.object { o in
            o.raw("relations", IntegrityCheckResult.json(report.results))
            o.object("orphan_counts") { counts in
                for c in report.orphanCounts { counts.field(c.check, c.count) }
            }
            o.raw("skipped", JSONWriter.strings(report.skipped))
            o.raw("truncated", JSONWriter.strings(report.truncated))
            o.raw("page_check", JSONWriter.strings(pageCheck))
            o.field("foreign_key_violations", fkViolations)
        }
        try ctx.artifactWriter().write(Array(w.output.utf8))
        ctx.log(orphans > 0 || !pagesOK || fkViolations > 0 ? .warning : .info,
                "\(orphans) orphans, page check \(pagesOK ? "ok" : "failed"), \(fkViolations) foreign-key violations")
        let data = [
            "orphans": "\(orphans)", "page_check": pagesOK ? "ok" : "failed", "foreign_key_violations": "\(fkViolations)",
            "truncated_relations": "\(report.truncated.count)",
        ]
        return orphans > 0 || !pagesOK || fkViolations > 0 ? .warning(data) : .success(data)
    }
}
