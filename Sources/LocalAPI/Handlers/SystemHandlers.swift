import StewardModel

/// `GET /system/ping`.
enum SystemHandlers {
    static let okBody = PingResponse(status: "OK", version: StewardVersion.version).json
    static let okResponse = APIResponse.json(okBody)

    /// The plain ping needs nothing but the process: answered on the connection's loop.
    @Sendable static func quickPing(_ ctx: RequestContext) throws -> APIResponse? {
        ctx.request.query["get_server_status"] == "true" ? nil : okResponse
    }

    @Sendable static func ping(_ ctx: RequestContext) async throws -> APIResponse {
        guard ctx.request.query["get_server_status"] == "true" else { return .json(okBody) }
        let healthy = await ctx.services.database.healthy()
        return .json(PingResponse(status: "OK", version: StewardVersion.version, databaseStatus: healthy ? "OK" : "UNHEALTHY").json)
    }
}
