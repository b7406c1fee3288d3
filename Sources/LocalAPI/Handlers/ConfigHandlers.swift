import Maintenance
import StewardModel

/// `GET /config`, `GET /config/environment`, `POST /config/reload`, `POST /config/migrate`.
enum ConfigHandlers {
    static let noCache = ("Cache-Control", "no-cache, no-store, must-revalidate")

    /// The config in force (environment overrides applied), unsanitized: the caller is a local admin.
    @Sendable static func get(_ ctx: RequestContext) async throws -> APIResponse {
        var r = APIResponse(status: 200, headers: [("Content-Type", "application/json"), noCache],
                            body: ConfigCodec.encode(ctx.services.config.settings.current))
        r.headers.append(("X-Steward-Overridden", ctx.services.config.overridden.joined(separator: ",")))
        return r
    }

    @Sendable static func environment(_ ctx: RequestContext) async throws -> APIResponse {
        .json(ctx.services.config.environmentJSON)
    }

    @Sendable static func reload(_ ctx: RequestContext) async throws -> APIResponse {
        let needsRestart = try await ctx.services.config.reload()
        if !needsRestart.isEmpty {
            ctx.logger.notice("reloaded settings that take effect after a restart", metadata: ["needs_restart": "\(needsRestart.joined(separator: ","))"])
        }
        return .ok
    }

    struct MigrateBody: Decodable {
        var from: String?
        var to: String?
    }

    @Sendable static func migrate(_ ctx: RequestContext) async throws -> APIResponse {
        // Like Mattermost: an undecodable body counts as empty; then `from` and `to` are missing.
        let body = (try? ctx.request.decodeJSON(MigrateBody.self)) ?? MigrateBody()
        guard let from = body.from, !from.isEmpty else { throw AppError.invalidBodyParam("from") }
        guard let to = body.to, !to.isEmpty else { throw AppError.invalidBodyParam("to") }
        do {
            try await ctx.services.config.migrate(from: from, to: to)
        } catch {
            ctx.logger.warning("config migrate failed", metadata: ["from": "\(PostgresDSN.redacted(from))", "to": "\(PostgresDSN.redacted(to))", "error": "\(error)"])
            throw error
        }
        ctx.logger.notice("config migrated", metadata: ["from": "\(PostgresDSN.redacted(from))", "to": "\(PostgresDSN.redacted(to))"])
        return .ok
    }
}
