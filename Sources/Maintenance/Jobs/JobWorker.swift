import Logging
import StewardModel
import Store
import Synchronization

/// Real work for one job type. `run` is called on a thread of its own and may block; it reports
/// progress and log lines through the context and calls `checkCancelled()` often.
public protocol JobWorker: Sendable {
    var type: String { get }
    /// Critical jobs run while the server is busy; the others wait.
    var isCritical: Bool { get }
    /// The data keys a job of this type accepts, with their ranges: `POST /jobs` refuses any other
    /// key and any value out of range, so nothing reaches `run` unchecked.
    var parameters: JobParameters { get }
    func run(_ job: Job, _ context: JobContext) throws -> JobResult
}

/// How a job ended when its worker returned (a throw ends it in `error`).
public struct JobResult: Sendable {
    public var status: JobStatus
    public var data: [String: String]

    public static func success(_ data: [String: String] = [:]) -> JobResult { JobResult(status: .success, data: data) }
    public static func warning(_ data: [String: String] = [:]) -> JobResult { JobResult(status: .warning, data: data) }
}

/// Thrown by `JobContext.checkCancelled()` once a cancel was requested.
public struct JobCancelled: Error {}

/// A worker failure whose message is safe to show in `data.error`.
public struct JobFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a running worker may touch: progress, log lines, cancellation, the store, its directory.
public final class JobContext: @unchecked Sendable {
    public let job: Job
    public let store: DatabasePool
    public let directory: String
    public let settings: StewardConfig
    let jobs: JobStore
    private let cancelled: CancelFlag
    private var lastProgress: Int64 = -1

    init(job: Job, jobs: JobStore, directory: String, settings: StewardConfig, cancelled: CancelFlag) {
        self.job = job
        self.jobs = jobs
        self.store = jobs.db
        self.directory = directory
        self.settings = settings
        self.cancelled = cancelled
    }

    public var isCancelRequested: Bool { cancelled.isSet }

    public func checkCancelled() throws {
        if isCancelRequested { throw JobCancelled() }
    }

    /// Progress 0–100; written only when it changes.
    public func progress(_ p: Int) {
        let value = Int64(max(0, min(100, p)))
        guard value != lastProgress else { return }
        lastProgress = value
        try? jobs.db.writeSync { conn in try JobStore.setProgress(conn, job.id, value, now: jobs.clock.nowMilliseconds()) }
    }

    public func log(_ level: Logger.Level = .info, _ msg: String) {
        let p = max(lastProgress, 0)
        try? jobs.db.writeSync { conn in
            try JobStore.appendLog(conn, job.id, level: "\(level)", msg: msg, progress: p, now: jobs.clock.nowMilliseconds())
        }
    }
}

/// A running job's cancel request, set by the API and read by its worker.
final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
