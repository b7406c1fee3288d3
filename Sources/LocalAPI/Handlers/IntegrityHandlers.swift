import Integrity
import StewardModel

/// `POST /integrity`: Mattermost's relational checks (plus configured and discovered relations).
enum IntegrityHandlers {
    static let messageID = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b59"

    @Sendable static func check(_ ctx: RequestContext) async throws -> APIResponse {
        let settings = ctx.services.settings.current.integritySettings
        let report = try await ctx.services.integrity.run(.init(
            configured: settings.relations, discoverForeignKeys: settings.discoverForeignKeys,
            maxRecordsPerRelation: settings.maxRecordsPerRelation))
        let orphans = report.orphanCounts.filter { $0.count > 0 }
        ctx.logger.notice(
            "integrity check finished",
            metadata: [
                "message_id": "\(messageID)",
                "checks": "\(report.results.count)",
                "orphans_total": "\(report.orphanCounts.reduce(0) { $0 + $1.count })",
                "orphans": "\(orphans.map { "\($0.check)=\($0.count)" }.joined(separator: "; "))",
                "truncated": "\(report.truncated.joined(separator: "; "))",
                "skipped_absent_tables": "\(report.skipped.joined(separator: "; "))",
                "rows_scanned": "\(report.rowsScanned)",
                "parent_keys_ms": "\(report.parentMilliseconds)",
                "child_scans_ms": "\(report.childMilliseconds)",
            ])
        return .json(IntegrityCheckResult.json(report.results))
    }
}
