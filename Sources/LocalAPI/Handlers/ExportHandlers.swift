import Maintenance
import StewardModel

/// Mattermost's `/api/v4/exports` routes over the bulk-export files (`export_process`): the names,
/// one file (with `Range`, which mmctl's resumed download sends), and its removal.
enum ExportHandlers {
    @Sendable static func list(_ ctx: RequestContext) async throws -> APIResponse {
        .json(JSONWriter.strings(ctx.services.jobs.exports.names()))
    }

    @Sendable static func download(_ ctx: RequestContext) async throws -> APIResponse {
        let name = ctx.parameters["export_name"] ?? ""
        let file = try ctx.services.jobs.exports.open(name)
        return try FileAnswer.make(file, contentType: "application/zip", attachmentName: name, request: ctx.request)
    }

    @Sendable static func delete(_ ctx: RequestContext) async throws -> APIResponse {
        let name = ctx.parameters["export_name"] ?? ""
        try ctx.services.jobs.exports.remove(name)
        var r = APIResponse.ok
        r.auditFields = [("export_name", name)]
        ctx.logger.notice("export deleted", metadata: ["export_name": "\(name)"])
        return r
    }
}
