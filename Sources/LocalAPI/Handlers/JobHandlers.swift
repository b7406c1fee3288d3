import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Maintenance
import StewardModel

/// The jobs API (Mattermost's, plus logs and delete). Access was decided per job type by the
/// dispatcher; `ctx.job` is the job a `/jobs/{job_id}` route is about.
enum JobHandlers {
    /// Mattermost's paging: bad or negative page → 0; bad or negative per_page → 60; over 200 → 200.
    static func paging(_ q: [String: String]) -> (offset: Int, limit: Int) {
        let page = q["page"].flatMap(Int.init).map { max(0, $0) } ?? 0
        var perPage = q["per_page"].flatMap(Int.init) ?? 60
        if perPage < 0 { perPage = 60 }
        perPage = min(perPage, 200)
        return (page.multipliedReportingOverflow(by: perPage).overflow ? Int.max / 2 : page * perPage, perPage)
    }

    static func jobBody(_ job: Job, status: Int = 200) -> APIResponse {
        // Mattermost writes single jobs with json.Encoder: a trailing newline.
        .json(job.json + "\n", status: status)
    }

    @Sendable static func list(_ ctx: RequestContext) async throws -> APIResponse {
        let q = ctx.request.query
        var status: JobStatus?
        if let s = q["status"], !s.isEmpty {
            guard let parsed = JobStatus(rawValue: s) else { throw JobError.invalidStatus(s) }
            status = parsed
        }
        let type = q["job_type"] ?? ""
        let types = type.isEmpty ? JobTypes.allTypes.filter { JobTypes.permissions($0, .read) != nil } : [type]
        let (offset, limit) = paging(q)
        return .json(Job.json(try await ctx.services.jobs.jobs.list(types: types, status: status, offset: offset, limit: limit)))
    }

    @Sendable static func byType(_ ctx: RequestContext) async throws -> APIResponse {
        let (offset, limit) = paging(ctx.request.query)
        let type = ctx.parameters["job_type"] ?? ""
        return .json(Job.json(try await ctx.services.jobs.jobs.list(types: [type], status: nil, offset: offset, limit: limit)))
    }

    struct CreateBody: Decodable {
        var type: String?
        var data: [String: String]?
    }

    @Sendable static func create(_ ctx: RequestContext) async throws -> APIResponse {
        guard let body = try? ctx.request.decodeJSON(CreateBody.self), let type = body.type else { throw AppError.invalidBodyParam("job") }
        let engine = ctx.services.jobs
        let data = try engine.validatedData(type: type, body.data ?? [:])
        let job = try await engine.jobs.create(type: type, data: data)
        engine.logStatus(job.id, job.type, .pending, reason: "created")
        engine.wake()
        return jobBody(job, status: 201)
    }

    @Sendable static func get(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        return jobBody(job)
    }

    @Sendable static func cancel(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        try await requestCancellation(job, ctx.services.jobs)
        return .ok
    }

    static func requestCancellation(_ job: Job, _ engine: JobEngine) async throws {
        guard let next = JobStateMachine.cancellation(of: job.status),
              try await engine.jobs.transition(job.id, from: job.status, to: next)
        else { throw JobError.notCancelable(job.status) }
        engine.requestCancel(job.id)
        engine.logStatus(job.id, job.type, next, reason: "cancel requested")
    }

    struct StatusBody: Decodable {
        var status: String?
        var force: Bool?

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            status = try? c.decode(String.self, forKey: .status)
            force = try? c.decode(Bool.self, forKey: .force)
        }

        init() {}

        enum CodingKeys: String, CodingKey { case status, force }
    }

    @Sendable static func updateStatus(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        let body = (try? ctx.request.decodeJSON(StatusBody.self)) ?? StatusBody()
        guard let raw = body.status, !raw.isEmpty else { throw AppError.invalidBodyParam("status") }
        let force = body.force ?? false
        let engine = ctx.services.jobs
        guard let next = JobStatus(rawValue: raw) else {
            // Only reachable with force in Mattermost; without it the change is refused first.
            if !force { throw JobError.invalidStatus(raw) }
            throw AppError(id: "app.job.update_status.app_error", message: "Unable to update job status. Invalid status set", statusCode: 500)
        }
        if !force && !JobStateMachine.isValidStatusChange(from: job.status, to: next) {
            throw JobError.statusChangeNotAllowed(from: job.status, to: next)
        }
        switch next {
        case .pending, .canceled:
            // A running job forced back to pending is cancelled first; the engine claims it again
            // only after that run has ended (never two workers for one job).
            if job.status == .inProgress || job.status == .cancelRequested { engine.requestCancel(job.id) }
            _ = try await engine.jobs.transition(job.id, from: nil, to: next)
            if next == .canceled { engine.requestCancel(job.id) } else { engine.wake() }
            engine.logStatus(job.id, job.type, next, reason: "status set through the API")
        case .cancelRequested:
            try await requestCancellation(job, engine)
        default:
            throw AppError(id: "app.job.update_status.app_error", message: "Unable to update job status. Invalid status set", statusCode: 500)
        }
        return .ok
    }

    @Sendable static func logs(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        let offset = max(0, ctx.request.query["offset"].flatMap(Int.init) ?? 0)
        let limit = min(1000, max(0, ctx.request.query["limit"].flatMap(Int.init) ?? 100))
        let entries = try await ctx.services.jobs.jobs.logs(job.id, offset: offset, limit: limit)
        return .json("[" + entries.map(\.json).joined(separator: ",") + "]")
    }

    @Sendable static func delete(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        guard job.status.isFinished else { throw JobError.notFinished }
        let engine = ctx.services.jobs
        if let file = job.data["file"], !file.contains("..") { unlink(engine.directory + "/" + file) }
        try await engine.jobs.delete(job.id)
        ctx.logger.notice("job deleted", metadata: ["job_id": "\(job.id)", "job_type": "\(job.type)"])
        return .ok
    }

    @Sendable static func download(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        guard job.data["is_downloadable"] == "true", let file = job.data["file"], !file.contains("..") else {
            throw JobError.notDownloadable
        }
        let path = ctx.services.jobs.directory + "/" + file
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw AppError(id: "api.job.unable_to_download_job", message: "Unable to download this job", statusCode: 404)
        }
        let name = String(file.split(separator: "/").last ?? "download")
        let type = name.hasSuffix(".zip") ? "application/zip" : name.hasSuffix(".json") ? "application/json" : "application/octet-stream"
        var response = APIResponse(status: 200, headers: [
            ("Content-Type", type),
            ("Content-Disposition", "attachment;filename=\"\(name)\"; filename*=UTF-8''\(name)"),
        ], body: [])
        response.file = ResponseFile(path: path, size: Int64(st.st_size))
        return response
    }
}
