import Dispatch
import Logging
import StewardModel
import Store

/// Runs jobs: claims pending ones up to `JobSettings.MaxConcurrentJobs`, runs their workers on
/// threads of their own, records how they end, and recovers jobs a dead daemon left running.
///
/// Wakes on a new job, a finished one, a busy-flag change, a cancel and a settings reload; while
/// the server is busy only critical job types start; with `RunJobs` false nothing starts.
public final class JobEngine: Sendable {
    public static let statusMessageID = "5e8a1c0b7f3d4e2a9b6c1d0e8f7a6b5a"
    static let workerThreads = BlockingPool(label: "steward.jobs", width: 32)

    public let jobs: JobStore
    private let busy: ServerBusyService
    private let settings: RuntimeSettings
    private let workers: [String: any JobWorker]
    private let logger: Logger
    private let running = Locked<[String: CancelFlag]>([:])
    private let wakeups: AsyncStream<Void>.Continuation
    private let stream: AsyncStream<Void>
    private let loop = Locked<Task<Void, Never>?>(nil)

    public init(jobs: JobStore, busy: ServerBusyService, settings: RuntimeSettings, workers: [any JobWorker], logger: Logger) {
        self.jobs = jobs
        self.busy = busy
        self.settings = settings
        self.workers = Dictionary(uniqueKeysWithValues: workers.map { ($0.type, $0) })
        self.logger = logger
        (stream, wakeups) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        busy.onChange { [wakeups] _ in wakeups.yield() }
    }

    public func hasWorker(for type: String) -> Bool { workers[type] != nil }

    /// The data of a job to be created, checked against its type's parameters.
    public func validatedData(type: String, _ data: [String: String]) throws -> [String: String] {
        guard let worker = workers[type] else { throw JobError.noWorker(type) }
        return try worker.parameters.validate(data, type: type)
    }

    /// Where jobs' files go (from the settings in force).
    public var artifacts: JobArtifacts { JobArtifacts(settings: settings.current) }

    func worker(for type: String) -> (any JobWorker)? { workers[type] }

    /// Recovers interrupted jobs, then starts scheduling.
    public func start() async throws {
        for job in try await jobs.recoverInterrupted() {
            logStatus(job.id, job.type, job.status == .cancelRequested ? .canceled : .error, reason: "recovered after an interrupted run")
        }
        let task = Task { [self] in
            for await _ in stream {
                if Task.isCancelled { return }
                await schedule()
            }
        }
        loop.withLock { $0 = task }
        wake()
    }

    /// Stops the workers of this node's running jobs that the store no longer has `in_progress`
    /// (cancelled or forced on another node: `ClusterEvent.jobStatusChanged`).
    public func stopJobsChangedElsewhere() async {
        let ids = running.withLock { Array($0.keys) }
        guard !ids.isEmpty else { return }
        do {
            for (id, status) in try await jobs.statuses(ids) where status != .inProgress {
                guard let flag = running.withLock({ $0[id] }), !flag.isSet else { continue }
                logger.notice("job changed on another node; stopping its worker", metadata: ["job_id": "\(id)", "status": "\(status.rawValue)"])
                flag.set()
            }
        } catch {
            logger.warning("could not read the running jobs' statuses", metadata: ["error": "\(error)"])
        }
    }

    /// Ends the running jobs of nodes whose lease has run out (`ClusterNodes` calls it after each
    /// heartbeat); each is a status entry naming the node.
    public func recoverFromDeadNodes() async {
        do {
            for job in try await jobs.recoverFromDeadNodes() {
                logStatus(job.id, job.type, job.status, reason: job.data["error"])
            }
        } catch {
            logger.warning("could not look for dead nodes' jobs", metadata: ["error": "\(error)"])
        }
    }

    /// Puts back the jobs this node claimed but never started (`JobStore.releaseUntracked`), so a
    /// claim whose answer a broken connection lost does not leave its job running forever.
    public func releaseUntrackedClaims() async {
        do {
            let released = try await jobs.releaseUntracked(running: running.withLock { Set($0.keys) })
            for job in released {
                logStatus(job.id, job.type, job.status, reason: "claimed by this node but never started (the claim's answer was lost)")
            }
            if !released.isEmpty { wake() }
        } catch {
            logger.warning("could not look for claims this node lost", metadata: ["error": "\(error)"])
        }
    }

    /// With `RunJobs` false there is nothing to schedule: no wake-up (a reload that turns it on wakes).
    public func wake() {
        if settings.current.jobSettings.runJobs { wakeups.yield() }
    }

    /// Marks a running job's cancel flag (its status is changed by the caller).
    public func requestCancel(_ id: String) {
        running.withLock { $0[id] }?.set()
        wake()
    }

    public var runningCount: Int { running.withLock { $0.count } }

    /// Asks running workers to stop and waits for them (up to `timeout`).
    public func shutdown(timeout: Duration) async {
        loop.withLock { $0?.cancel(); $0 = nil }
        wakeups.finish()
        for flag in running.withLock({ Array($0.values) }) { flag.set() }
        let deadline = ContinuousClock.now + timeout
        while runningCount > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }

    private func schedule() async {
        let config = settings.current.jobSettings
        guard config.runJobs else { return }
        let isBusy = busy.isBusy()
        let types = Set(workers.values.filter { !isBusy || $0.isCritical }.map(\.type))
        while runningCount < config.maxConcurrentJobs {
            let busyIDs = running.withLock { Set($0.keys) }
            let next: Job?
            do {
                next = try await jobs.claimNext(types: types, excluding: busyIDs)
            } catch {
                logger.error("could not claim a pending job", metadata: ["error": "\(error)"])
                return
            }
            guard let job = next else { return }
            launch(job)
        }
    }

    private func launch(_ job: Job) {
        guard let worker = workers[job.type] else { return }
        let flag = CancelFlag()
        // One worker per job at a time, whatever the store says.
        let claimed = running.withLock { r -> Bool in
            guard r[job.id] == nil else { return false }
            r[job.id] = flag
            return true
        }
        guard claimed else { return }
        logStatus(job.id, job.type, .inProgress)
        let current = settings.current
        let artifacts = JobArtifacts(settings: current)
        // Workers block for as long as their job runs: a pool of their own, as wide as the widest
        // MaxConcurrentJobs, so they never take the places of request work.
        Self.workerThreads.submit { [self] in
            let outcome: (JobStatus, [String: String])
            do {
                var writer: ArtifactWriter?
                if worker.artifact != .none, let name = JobArtifacts.fileName(of: job, kind: worker.artifact) {
                    writer = ArtifactWriter(kind: worker.artifact, directory: try artifacts.directory(for: job.type, create: true), name: name)
                }
                let context = JobContext(job: job, jobs: jobs, artifact: writer, settings: current, cancelled: flag)
                do {
                    let result = try worker.run(job, context)
                    outcome = (result.status, Self.finalData(job, result.data, artifact: worker.artifact, artifacts: artifacts))
                } catch {
                    // Nothing half-done stays behind: the staging file and any artifact go.
                    artifacts.remove(job, kind: worker.artifact)
                    throw error
                }
            } catch is JobCancelled {
                outcome = (.canceled, job.data)
            } catch {
                var data = job.data
                data["error"] = (error as? JobFailure)?.description ?? "\(error)"
                outcome = (.error, data)
            }
            Task { await self.finish(job, outcome) }
        }
    }

    /// Keys of `data` only the engine writes: a worker's result or a creator's data never sets them.
    static let engineKeys: Set<String> = ["file", "is_downloadable", "error"]

    /// The job's data once its worker succeeded: the creator's (checked) parameters, the worker's
    /// result, and the artifact's name when its file is there.
    static func finalData(_ job: Job, _ result: [String: String], artifact: JobArtifactKind, artifacts: JobArtifacts) -> [String: String] {
        var data = job.data.filter { !engineKeys.contains($0.key) }
        data.merge(result.filter { !engineKeys.contains($0.key) }) { _, new in new }
        if artifacts.open(job, kind: artifact) != nil, let name = JobArtifacts.relativeName(of: job, kind: artifact) {
            data["file"] = name
            // A bulk export is downloaded by name under /api/v4/exports, as Mattermost's.
            if artifact != .bulkExport { data["is_downloadable"] = "true" }
        }
        return data
    }

    /// Records how a job ended. While the store is unavailable (PostgreSQL restarting) the write is
    /// retried, the job still counted as running so nothing claims it meanwhile; only a shutdown
    /// gives up, and the next start recovers the job as interrupted.
    private func finish(_ job: Job, _ outcome: (status: JobStatus, data: [String: String])) async {
        var final: JobStatus?
        var delay = Duration.milliseconds(200)
        while true {
            do {
                final = try await jobs.finish(job.id, outcome: outcome.status, data: outcome.data,
                                              errorLog: outcome.status == .error ? outcome.data["error"] : nil)
                break
            } catch {
                let retry = error is StoreUnavailableError && loop.withLock({ $0 != nil })
                logger.error("could not record a job's end", metadata: [
                    "job_id": "\(job.id)", "error": "\(error)", "retry": "\(retry ? "in \(delay)" : "no")"])
                guard retry else { break }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
        running.withLock { _ = $0.removeValue(forKey: job.id) }
        if let final { logStatus(job.id, job.type, final, reason: outcome.data["error"]) }
        wake()
    }

    /// Every state change is a journal entry with JOB_ID, JOB_TYPE, STATUS.
    public func logStatus(_ id: String, _ type: String, _ status: JobStatus, reason: String? = nil) {
        var m: Logger.Metadata = ["message_id": "\(Self.statusMessageID)", "job_id": "\(id)", "job_type": "\(type)", "status": "\(status.rawValue)"]
        if let reason { m["reason"] = "\(reason)" }
        logger.notice("job status changed", metadata: m)
    }
}
