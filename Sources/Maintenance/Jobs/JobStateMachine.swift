import StewardModel

/// Job status transitions as pure functions (Mattermost's `IsValidStatusChange` and "request
/// cancellation"), tested without threads or a store.
public enum JobStateMachine {
    /// What `PATCH /jobs/{id}/status` allows without `force`. Unlike Mattermost, a running job
    /// cannot be put back to `pending` without `force`: the engine would claim it again while its
    /// first worker still runs (two writers of one backup, past MaxConcurrentJobs and cancellation).
    public static func isValidStatusChange(from current: JobStatus, to next: JobStatus) -> Bool {
        switch current {
        case .inProgress: return next == .cancelRequested
        case .pending: return next == .cancelRequested
        case .cancelRequested: return next == .canceled
        case .success, .error, .warning, .canceled: return false
        }
    }

    /// `POST /jobs/{id}/cancel`: a pending job is canceled at once, a running one is asked to stop.
    public static func cancellation(of current: JobStatus) -> JobStatus? {
        switch current {
        case .pending: return .canceled
        case .inProgress: return .cancelRequested
        default: return nil
        }
    }

    /// What the worker's end turns the job into, given the status it has when the worker returns:
    /// a cancel that arrived meanwhile wins; a job someone already ended (a forced status change)
    /// keeps its status (nil).
    public static func finish(current: JobStatus, outcome: JobStatus) -> JobStatus? {
        switch current {
        case .inProgress: return outcome
        case .cancelRequested: return .canceled
        case .pending, .success, .error, .warning, .canceled: return nil
        }
    }
}

/// Errors of the jobs domain, mapped to Mattermost's AppErrors by the transport.
public enum JobError: Error, Equatable, Sendable {
    case notFound
    case noWorker(String)
    case invalidStatus(String)
    case notCancelable(JobStatus)
    case statusChangeNotAllowed(from: JobStatus, to: JobStatus)
    case notFinished
    /// The type has no artifact, or the job has not finished successfully.
    case notDownloadable
    /// The job's artifact is gone (removed by retention or by hand).
    case artifactMissing
    /// A status that cannot be set (forced to an unknown or a running status).
    case statusNotSettable(String)
    /// A creation with a schedule window whose job was created and has since been deleted.
    case windowTaken(jobId: String)
}
