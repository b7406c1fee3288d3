import StewardModel

/// The jobs API's operations, as the domain does them: handlers decode the request, call one of
/// these and encode the answer; status rules, artifacts and journal entries live here.
extension JobEngine {
    /// Validates `data` against the type's parameters, stores the job pending and wakes the engine.
    /// `logged: false` leaves out the journal entry of the creation, for a caller whose own entry
    /// names the job (the API's audit record: one entry per creation, not two).
    public func create(type: String, data: [String: String], logged: Bool = true) async throws -> Job {
        let checked = try validatedData(type: type, data)
        let job = try await jobs.create(type: type, data: checked)
        if logged { logStatus(job.id, job.type, .pending, reason: "created") }
        wake()
        return job
    }

    /// `create` in a schedule window (`once_per`): at most one job of this type and data per
    /// window of `periodSeconds`, across every node of the store.
    public func create(type: String, data: [String: String], oncePer periodSeconds: Int64, logged: Bool = true) async throws -> ScheduledCreation {
        let checked = try validatedData(type: type, data)
        let result = try await jobs.create(type: type, data: checked, oncePer: periodSeconds)
        if case .created(let job) = result {
            if logged { logStatus(job.id, job.type, .pending, reason: "created") }
            wake()
        }
        return result
    }

    /// `create` without leaving the caller's thread, when the store's writer is free this instant
    /// (the connection's loop must not wait for a VACUUM); nil: use `create`.
    public func createIfWriterFree(type: String, data: [String: String], logged: Bool = true) throws -> Job? {
        let checked = try validatedData(type: type, data)
        guard let job = try jobs.createIfWriterFree(type: type, data: checked) else { return nil }
        if logged { logStatus(job.id, job.type, .pending, reason: "created") }
        wake()
        return job
    }

    /// Mattermost's cancel: pending → canceled, in_progress → cancel_requested (the worker stops).
    public func cancel(_ job: Job) async throws {
        guard let next = JobStateMachine.cancellation(of: job.status),
              try await jobs.transition(job.id, from: job.status, to: next)
        else { throw JobError.notCancelable(job.status) }
        requestCancel(job.id)
        logStatus(job.id, job.type, next, reason: "cancel requested")
    }

    /// `PATCH /jobs/{id}/status`: Mattermost's rules; with `force` any status is set, and a running
    /// job forced back to pending is cancelled first — the engine claims it again only after that
    /// run has ended, so one job never has two workers.
    public func setStatus(_ job: Job, to raw: String, force: Bool) async throws {
        guard let next = JobStatus(rawValue: raw) else {
            // Only reachable with force in Mattermost; without it the change is refused first.
            throw force ? JobError.statusNotSettable(raw) : JobError.invalidStatus(raw)
        }
        if !force && !JobStateMachine.isValidStatusChange(from: job.status, to: next) {
            throw JobError.statusChangeNotAllowed(from: job.status, to: next)
        }
        switch next {
        case .pending, .canceled:
            if job.status == .inProgress || job.status == .cancelRequested { requestCancel(job.id) }
            _ = try await jobs.transition(job.id, from: nil, to: next)
            if next == .canceled { requestCancel(job.id) } else { wake() }
            logStatus(job.id, job.type, next, reason: "status set through the API")
        case .cancelRequested:
            try await cancel(job)
        default:
            throw JobError.statusNotSettable(raw)
        }
    }

    /// Deletes a finished job and exactly its artifact.
    public func delete(_ job: Job) async throws {
        guard job.status.isFinished else { throw JobError.notFinished }
        if let worker = worker(for: job.type) { artifacts.remove(job, kind: worker.artifact) }
        try await jobs.delete(job.id)
    }

    /// A finished job's artifact, opened for reading.
    public func artifact(of job: Job) throws(JobError) -> JobArtifactDownload {
        guard let worker = worker(for: job.type), worker.artifact != .none,
              job.status == .success || job.status == .warning,
              let name = JobArtifacts.fileName(of: job, kind: worker.artifact)
        else { throw .notDownloadable }
        guard let file = artifacts.open(job, kind: worker.artifact) else { throw .artifactMissing }
        return JobArtifactDownload(file: file, name: name, contentType: worker.artifact.contentType)
    }

    /// Every job type the daemon knows, from the declarations `create` validates with.
    public var catalogue: [JobTypeInfo] {
        JobTypes.allTypes.map { type in
            let worker = worker(for: type)
            var permissions: [String: [String]] = [:]
            for access in [JobTypes.Access.read, .create, .manage, .download] {
                if let p = JobTypes.permissions(type, access) { permissions[access.rawValue] = p.map(\.rawValue) }
            }
            if worker?.artifact ?? JobArtifactKind.none == .none { permissions["download"] = nil }
            return JobTypeInfo(
                type: type, summary: worker?.summary ?? "a Mattermost job type Steward lists but does not run",
                runnable: worker != nil, runsWhileBusy: worker?.isCritical ?? false, artifact: worker?.artifact ?? .none,
                timer: worker?.timer, permissions: permissions, parameters: worker?.parameters.list.map(\.info) ?? [])
        }
    }
}

/// An artifact ready to be sent: the open file, its name and its media type.
public struct JobArtifactDownload: Sendable {
    public let file: OpenFile
    public let name: String
    public let contentType: String
}

extension JobParameter {
    /// The parameter as the catalogue shows it.
    var info: JobTypeInfo.Parameter {
        switch kind {
        case .integer(let r):
            return .init(name: name, type: "integer", minimum: r.lowerBound, maximum: r.upperBound, defaultValue: defaultValue, description: summary)
        case .boolean:
            return .init(name: name, type: "boolean", minimum: nil, maximum: nil, defaultValue: defaultValue, description: summary)
        }
    }
}
