import Logging
import StewardModel
import Store
import Synchronization

/// Real work for one job type. `run` is called on a thread of its own and may block; it reports
/// progress and log lines through the context and calls `checkCancelled()` often.
///
/// A worker is its job type's declaration: the validator of `POST /jobs`, the artifact paths and
/// the catalogue (`GET /jobs/types`) all read it, so they cannot disagree.
public protocol JobWorker: Sendable {
    var type: String { get }
    /// One line for the catalogue.
    var summary: String { get }
    /// Critical jobs run while the server is busy; the others wait.
    var isCritical: Bool { get }
    /// The file a job of this type leaves, if any (`JobArtifacts` names it).
    var artifact: JobArtifactKind { get }
    /// The systemd timer unit (in `systemd/`) whose service creates jobs of this type, if any.
    var timer: String? { get }
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

/// What a running worker may touch: progress, log lines, cancellation, the store, its artifact.
public final class JobContext: @unchecked Sendable {
    public let job: Job
    /// The store, whichever database it is.
    public let sql: any SQLStore
    /// Where the worker writes its artifact (nil for a type without one).
    public let artifact: ArtifactWriter?
    public let settings: StewardConfig
    let jobs: JobStore
    private let cancelled: CancelFlag
    private var lastProgress: Int64 = -1

    init(job: Job, jobs: JobStore, artifact: ArtifactWriter?, settings: StewardConfig, cancelled: CancelFlag) {
        self.job = job
        self.jobs = jobs
        self.sql = jobs.db
        self.artifact = artifact
        self.settings = settings
        self.cancelled = cancelled
    }

    /// The store as SQLite, for the workers that use SQLite itself (its backup API, `PRAGMA`s,
    /// rowid ranges). On PostgreSQL these fail with a clear message until their PostgreSQL forms
    /// exist (`pg_dump`, `VACUUM (ANALYZE)`).
    public func sqlite() throws(JobFailure) -> DatabasePool {
        guard let pool = sql as? DatabasePool else {
            throw JobFailure("\(job.type) does not run on a PostgreSQL store yet")
        }
        return pool
    }

    /// The artifact writer of a type that declares one.
    public func artifactWriter() throws(JobFailure) -> ArtifactWriter {
        guard let artifact else { throw JobFailure("\(job.type) jobs declare no artifact") }
        return artifact
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
        try? jobs.db.writeSQLSync { conn in try JobStore.setProgress(conn, job.id, value, now: jobs.clock.nowMilliseconds()) }
    }

    public func log(_ level: Logger.Level = .info, _ msg: String) {
        let p = max(lastProgress, 0)
        try? jobs.db.writeSQLSync { conn in
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
