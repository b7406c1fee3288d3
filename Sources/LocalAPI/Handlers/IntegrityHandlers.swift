import Integrity
import Maintenance
import StewardModel

/// `POST /integrity`: Mattermost's relational checks (plus configured and discovered relations).
enum IntegrityHandlers {
    static let messageID = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b59"

    @Sendable static func check(_ ctx: RequestContext) async throws -> APIResponse {
        let settings = ctx.services.settings.current.integritySettings
        var options = IntegrityChecker.Options(
            configured: settings.relations, discoverForeignKeys: settings.discoverForeignKeys,
            maxRecordsPerRelation: settings.maxRecordsPerRelation)
        options.threads = IntegrityChecker.Options.threads(setting: settings.scanThreads)
        let report = try await ctx.services.integrity.run(options)
        let orphans = report.orphanCounts.filter { $0.count > 0 }
        ctx.logger.notice(
            "integrity check finished",
            metadata: [
                "message_id": "\(messageID)",
                "checks": "\(report.resultCount)",
                "records": "\(report.recordCount)",
                "orphans_total": "\(report.orphanCounts.reduce(0) { $0 + $1.count })",
                "orphans": "\(orphans.map { "\($0.check)=\($0.count)" }.joined(separator: "; "))",
                "truncated": "\(report.truncated.joined(separator: "; "))",
                "absent_tables": "\(report.skipped.joined(separator: "; "))",
                "rows_scanned": "\(report.rowsScanned)",
                "walked_by_index": "\(report.walkedByIndex.joined(separator: "; "))",
                "parent_keys_ms": "\(report.parentMilliseconds)",
                "child_scans_ms": "\(report.childMilliseconds)",
            ])
        return try await BlockingPool.shared.run { try answer(report) }
    }

    /// Answers with more records than this are written to an unlinked temporary file and streamed
    /// from it (a million orphans is ~70 MB of JSON); smaller ones are sent from memory.
    static let inMemoryRecords = 50_000

    /// The JSON answer, built on a blocking thread: spilled records are read back from disk.
    private static func answer(_ report: IntegrityReport) throws -> APIResponse {
        if report.recordCount <= inMemoryRecords {
            var body: [UInt8] = []
            try report.writeJSON { body.append(contentsOf: $0) }
            return APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: body)
        }
        let file = try TemporaryFile()
        try report.writeJSON { try file.append($0) }
        var response = APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: [])
        response.file = ResponseFile(file.opened())
        return response
    }
}
