#if canImport(Glibc)
import Glibc
#endif
import Maintenance
import StewardModel

/// `POST /caches/invalidate` and `POST /database/recycle`.
enum MaintenanceHandlers {
    @Sendable static func invalidateCaches(_ ctx: RequestContext) async throws -> APIResponse {
        let purged = ctx.services.caches.purgeAll()
        ctx.logger.notice(
            "caches invalidated",
            metadata: ["caches": "\(purged.map { "\($0.name)=\($0.purged)" }.joined(separator: ","))"])
        // The other nodes purge theirs too (Mattermost's inv_all_caches); this node's are done.
        try await ctx.services.cluster?.broadcast(.cachesInvalidated)
        var r = APIResponse.ok
        r.headers.append(("Cache-Control", "no-cache, no-store, must-revalidate"))
        return r
    }

    @Sendable static func recycleDatabase(_ ctx: RequestContext) async throws -> APIResponse {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let generation = try await ctx.services.database.recycle()
        try await ctx.services.busy.resume()
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &end)
        let micros = (Int(end.tv_sec) - Int(start.tv_sec)) * 1_000_000 + (Int(end.tv_nsec) - Int(start.tv_nsec)) / 1000
        ctx.logger.notice(
            "database connections recycled",
            metadata: ["generation": "\(generation)", "duration_us": "\(micros)"])
        return .ok
    }
}
