import Maintenance
import StewardModel

/// `GET /cluster/status`: the nodes sharing the store, as Mattermost's route lists its cluster.
enum ClusterHandlers {
    @Sendable static func status(_ ctx: RequestContext) async throws -> APIResponse {
        guard let cluster = ctx.services.cluster else { return .json(ClusterInfo.json([])) }
        return .json(ClusterInfo.json(try await cluster.status()))
    }
}
