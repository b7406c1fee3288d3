import Logging
import Maintenance
import StewardModel
import Store

/// The one place where errors become responses. Domain errors map to their AppError; anything
/// unexpected becomes a generic 500 whose cause is logged with the request id and never sent.
enum ErrorMapping {
    static func appError(for error: any Error, route: Route?, requestID: String, logger: Logger) -> AppError {
        var e: AppError
        switch error {
        case let app as AppError:
            e = app
        case MaintenanceError.invalidBusySeconds:
            // Mattermost passes the whole sentence as the parameter name; kept for wire compatibility.
            e = .invalidURLParam("seconds must be 1 - 86400")
        case MaintenanceError.storeFailure(let detail):
            logger.error("store failure", metadata: ["error": "\(detail)", "route": "\(route?.name ?? "")"])
            e = .internalError()
        default:
            logger.error("unexpected error", metadata: ["error": "\(error)", "route": "\(route?.name ?? "")"])
            e = .internalError(id: internalID(for: route))
        }
        e.requestID = requestID
        return e
    }

    /// Mattermost-style ids for a failed action, so scripts can tell what failed.
    private static func internalID(for route: Route?) -> String {
        switch route?.path {
        case RouteTable.prefix + "/database/recycle": return ErrorID.recycleFailed
        case RouteTable.prefix + "/caches/invalidate": return ErrorID.cacheInvalidateFailed
        case RouteTable.prefix + "/server_busy": return ErrorID.serverBusyFailed
        default: return ErrorID.internalError
        }
    }
}
