import Integrity
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
        case let job as JobError:
            e = jobError(job)
        case let p as JobParameterError:
            e = AppError(id: "api.job.create.invalid_data.app_error", message: "The job's data is not valid: \(p.description).",
                         detailedError: p.description, statusCode: 400)
        case let export as ExportFileError:
            e = exportError(export)
        case let config as ConfigError:
            e = configError(config)
        case let refused as JobAccessRefusal:
            e = jobAccessError(refused.access)
        case let down as StoreUnavailableError:
            // The database is down or restarting: at once, and without a secret (the DSN is masked).
            logger.warning("store unavailable", metadata: ["error": "\(down.detail)", "route": "\(route?.name ?? "")"])
            e = AppError(id: "api.store.unavailable.app_error", message: "The database is unavailable; try again shortly.",
                         detailedError: down.detail, statusCode: 503)
        case is IntegrityUnavailable:
            e = AppError(id: "api.integrity.unavailable.app_error", message: "The integrity check does not run on this store yet.",
                         detailedError: "\(IntegrityUnavailable())", statusCode: 501)
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

    static func jobError(_ error: JobError) -> AppError {
        switch error {
        case .notFound:
            return AppError(id: "app.job.get.app_error", message: "Unable to get the job.", statusCode: 404)
        case .noWorker:
            return AppError(id: "model.job.is_valid.type.app_error", message: "Invalid job type.", statusCode: 400)
        case .invalidStatus, .statusChangeNotAllowed:
            return AppError(id: "api.job.status.invalid", message: "Invalid status set", statusCode: 400)
        case .notCancelable(let s):
            return AppError(id: "jobs.request_cancellation.status.error", message: "Could not request cancellation for job that is not in a cancelable state.",
                            detailedError: "status=\(s.rawValue)", statusCode: 500)
        case .notFinished:
            return AppError(id: "api.job.delete.not_finished", message: "Only a finished job can be deleted.", statusCode: 400)
        case .notDownloadable:
            return AppError(id: "api.job.unable_to_download_job", message: "Unable to download this job", statusCode: 400)
        case .artifactMissing:
            return AppError(id: "api.job.unable_to_download_job", message: "Unable to download this job",
                            detailedError: "the job's file no longer exists", statusCode: 404)
        case .statusNotSettable:
            return AppError(id: "app.job.update_status.app_error", message: "Unable to update job status. Invalid status set", statusCode: 500)
        case .windowTaken(let id):
            return AppError(id: "api.job.create.once_per.window_taken", message: "A job was already created in this schedule window.",
                            detailedError: "job_id=\(id) (since deleted)", statusCode: 409)
        }
    }

    static func exportError(_ error: ExportFileError) -> AppError {
        switch error {
        case .invalidName:
            return .invalidURLParam("export_name")
        case .notFound:
            return AppError(id: "api.export.export_not_found.app_error", message: "Unable to find export file.", statusCode: 404)
        case .removeFailed(let why):
            return AppError(id: "api.file.remove_file.app_error", message: "Unable to remove the file.", detailedError: why, statusCode: 500)
        }
    }

    static func configError(_ error: ConfigError) -> AppError {
        switch error {
        case .reloadFailed(let e):
            return AppError(id: "api.config.reload_config.app_error", message: "Failed to reload the configuration.",
                            detailedError: e.description, statusCode: 500)
        case .migrateFailed(let e):
            return AppError(id: "api.config.migrate_config.app_error", message: "Failed to migrate config store.",
                            detailedError: e.description, statusCode: error.isClientError ? 400 : 500)
        }
    }

    /// A job type with no permission mapping for the access asked (Mattermost's 400s).
    static func jobAccessError(_ access: JobTypes.Access) -> AppError {
        switch access {
        case .read:
            return AppError(id: "api.job.retrieve.nopermissions", message: "The job types of a job you are trying to retrieve does not contain permissions", statusCode: 400)
        case .create:
            return AppError(id: "api.job.unable_to_create_job.incorrect_job_type", message: "The job type of the job you are trying to create is invalid", statusCode: 400)
        case .manage:
            return AppError(id: "api.job.unable_to_manage_job.incorrect_job_type", message: "You do not have permission to manage this job type", statusCode: 400)
        case .download:
            return AppError(id: "api.job.unable_to_download_job.incorrect_job_type", message: "The job type you are trying to download is not supported at the moment", statusCode: 400)
        }
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
