import Maintenance
import StewardModel

/// `POST`, `GET`, `DELETE /server_busy`, in Mattermost's exact format.
enum ServerBusyHandlers {
    @Sendable static func set(_ ctx: RequestContext) async throws -> APIResponse {
        let seconds = try ServerBusyService.parseSeconds(ctx.request.query["seconds"])
        let state = try await ctx.services.busy.set(seconds: seconds)
        ctx.logger.warning("server busy set", metadata: ["seconds": "\(seconds)", "busy_expires": "\(state.expires)"])
        return .ok
    }

    /// Answered on the connection's loop: the state lives in memory.
    @Sendable static func quickGet(_ ctx: RequestContext) throws -> APIResponse? {
        .json(ctx.services.busy.stateJSON())
    }

    @Sendable static func get(_ ctx: RequestContext) async throws -> APIResponse { try quickGet(ctx)! }

    @Sendable static func clear(_ ctx: RequestContext) async throws -> APIResponse {
        try await ctx.services.busy.clear()
        ctx.logger.notice("server busy cleared")
        return .ok
    }
}
