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

    // Reads are answered on the connection's loop (immediate): each is bounded — one primary-key
    // lookup, or at most 200 jobs (after at most `loopOffsetLimit` skipped) or 1000 log lines read
    // through an index in the order asked. Deeper pages take the async handlers.

    /// The list a `GET /jobs` asks for.
    static func listQuery(_ ctx: RequestContext) throws -> (types: [String], status: JobStatus?, offset: Int, limit: Int) {
        let q = ctx.request.query
        var status: JobStatus?
        if let s = q["status"], !s.isEmpty {
            guard let parsed = JobStatus(rawValue: s) else { throw JobError.invalidStatus(s) }
            status = parsed
        }
        let type = q["job_type"] ?? ""
        let (offset, limit) = paging(q)
        return (type.isEmpty ? readableTypes : [type], status, offset, limit)
    }

    /// A deep page makes SQLite step over `offset` index entries first: past this many, the list
    /// is read off the loop (any peer allowed to read jobs may ask for page 100000).
    static let loopOffsetLimit = 1000

    @Sendable static func quickList(_ ctx: RequestContext) throws -> APIResponse? {
        let l = try listQuery(ctx)
        guard l.offset <= loopOffsetLimit, ctx.services.jobs.jobs.db.answersOnTheLoop else { return nil }
        return .json(Job.json(try ctx.services.jobs.jobs.listSync(types: l.types, status: l.status, offset: l.offset, limit: l.limit)))
    }

    /// Every type with a read mapping: what `GET /jobs` without a type lists.
    static let readableTypes = JobTypes.allTypes.filter { JobTypes.permissions($0, .read) != nil }

    @Sendable static func quickByType(_ ctx: RequestContext) throws -> APIResponse? {
        let (offset, limit) = paging(ctx.request.query)
        guard offset <= loopOffsetLimit, ctx.services.jobs.jobs.db.answersOnTheLoop else { return nil }
        let type = ctx.parameters["job_type"] ?? ""
        return .json(Job.json(try ctx.services.jobs.jobs.listSync(types: [type], status: nil, offset: offset, limit: limit)))
    }

    @Sendable static func quickGet(_ ctx: RequestContext) throws -> APIResponse? {
        guard let job = ctx.job else { throw JobError.notFound }
        return jobBody(job)
    }

    @Sendable static func quickLogs(_ ctx: RequestContext) throws -> APIResponse? {
        guard let job = ctx.job else { throw JobError.notFound }
        guard ctx.services.jobs.jobs.db.answersOnTheLoop else { return nil }
        let offset = max(0, ctx.request.query["offset"].flatMap(Int.init) ?? 0)
        let limit = min(1000, max(0, ctx.request.query["limit"].flatMap(Int.init) ?? 100))
        let entries = try ctx.services.jobs.jobs.logsSync(job.id, offset: offset, limit: limit)
        return .json(JobLogEntry.json(entries))
    }

    /// The job type catalogue (a Steward extension): from memory.
    @Sendable static func quickTypes(_ ctx: RequestContext) throws -> APIResponse? {
        .json(JobTypeInfo.json(ctx.services.jobs.catalogue))
    }

    @Sendable static func list(_ ctx: RequestContext) async throws -> APIResponse {
        let l = try listQuery(ctx)
        return .json(Job.json(try await ctx.services.jobs.jobs.list(types: l.types, status: l.status, offset: l.offset, limit: l.limit)))
    }

    @Sendable static func byType(_ ctx: RequestContext) async throws -> APIResponse {
        let (offset, limit) = paging(ctx.request.query)
        let type = ctx.parameters["job_type"] ?? ""
        return .json(Job.json(try await ctx.services.jobs.jobs.list(types: [type], status: nil, offset: offset, limit: limit)))
    }
    @Sendable static func get(_ ctx: RequestContext) async throws -> APIResponse { try quickGet(ctx)! }
    @Sendable static func logs(_ ctx: RequestContext) async throws -> APIResponse { try quickLogs(ctx)! }
    @Sendable static func types(_ ctx: RequestContext) async throws -> APIResponse { try quickTypes(ctx)! }

    struct CreateBody: Decodable, Sendable {
        var type: String?
        var data: [String: String]?

        /// Reads the body in one pass when its shape is the common one (`model.Job`'s members: strings,
        /// numbers, null, a flat `data` map); anything else goes through Foundation's decoder, so the
        /// answer (and every refusal) is the decoder's. Foundation's decoder cost about 15 µs here.
        static func decode(_ request: APIRequest) throws -> CreateBody {
            if request.body.isEmpty { return CreateBody() }
            let fast: CreateBody? = request.body.withUnsafeBufferPointer { bytes in
                // The decoder refuses bytes that are not UTF-8; the one-pass reader would repair them.
                guard UTF8Check.isValid(bytes), let fields = JSONStringMap.fields(bytes) else { return nil }
                var body = CreateBody()
                switch fields["type"] {
                case .string(let t): body.type = t
                case nil, .null: break
                default: return nil
                }
                switch fields["data"] {
                case .map(let m): body.data = m
                case nil, .null: break
                default: return nil
                }
                return body
            }
            return try fast ?? request.decodeJSON(CreateBody.self)
        }
    }

    /// The body decoded while deciding access, or (on a path that did not) decoded now.
    private static func creation(_ ctx: RequestContext) throws -> CreateBody {
        guard let body = ctx.jobCreation ?? (try? CreateBody.decode(ctx.request)) else { throw AppError.invalidBodyParam("job") }
        return body
    }

    /// On the loop when the store's writer is free (one row); otherwise nil and `create` runs.
    @Sendable static func quickCreate(_ ctx: RequestContext) throws -> APIResponse? {
        let body = try creation(ctx)
        guard let type = body.type else { throw AppError.invalidBodyParam("job") }
        // A creation in a schedule window reads and writes its key: not a one-row insert.
        if ctx.request.query["once_per"] != nil { return nil }
        return try ctx.services.jobs.createIfWriterFree(type: type, data: body.data ?? [:], logged: false).map(created)
    }

    /// 201 with the job; the call's audit record names it, and is the creation's only journal entry.
    private static func created(_ job: Job) -> APIResponse {
        var r = jobBody(job, status: 201)
        r.auditFields = [("job_id", job.id), ("job_type", job.type), ("status", job.status.rawValue)]
        return r
    }

    @Sendable static func create(_ ctx: RequestContext) async throws -> APIResponse {
        let body = try creation(ctx)
        guard let type = body.type else { throw AppError.invalidBodyParam("job") }
        guard let raw = ctx.request.query["once_per"] else {
            return created(try await ctx.services.jobs.create(type: type, data: body.data ?? [:], logged: false))
        }
        // Steward's extension for timers on several nodes: at most one job per window; the callers
        // that come second get that job, with 200 instead of 201.
        guard let period = ScheduleWindow.parsePeriod(raw) else { throw AppError.invalidURLParam("once_per") }
        switch try await ctx.services.jobs.create(type: type, data: body.data ?? [:], oncePer: period, logged: false) {
        case .created(let job):
            return created(job)
        case .existing(let job):
            var r = jobBody(job, status: 200)
            r.auditFields = [("job_id", job.id), ("job_type", job.type), ("status", job.status.rawValue), ("once_per", "window already taken")]
            return r
        }
    }

    @Sendable static func cancel(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        try await ctx.services.jobs.cancel(job)
        return .ok
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
        try await ctx.services.jobs.setStatus(job, to: raw, force: body.force ?? false)
        return .ok
    }

    @Sendable static func delete(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        try await ctx.services.jobs.delete(job)
        ctx.logger.notice("job deleted", metadata: ["job_id": "\(job.id)", "job_type": "\(job.type)"])
        return .ok
    }

    @Sendable static func download(_ ctx: RequestContext) async throws -> APIResponse {
        guard let job = ctx.job else { throw JobError.notFound }
        let artifact = try ctx.services.jobs.artifact(of: job)
        return try FileAnswer.make(artifact.file, contentType: artifact.contentType, attachmentName: artifact.name, request: ctx.request)
    }
}
