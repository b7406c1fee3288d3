import Maintenance
import StewardModel

/// Finds which job type a jobs request is about — from the query, the path, the body or the stored
/// job — and what that type requires. Errors are the ones Mattermost answers before its permission
/// check (invalid id 400, unknown job 404, type without a mapping 400).
enum JobAccess {
    struct Resolved {
        var permission: RequiredPermission
        var job: Job?
        /// The decoded body of `POST /jobs`, for the handler.
        var creation: JobHandlers.CreateBody?
    }

    /// The type alone, for a body the handler will refuse.
    private struct TypeOnly: Decodable { var type: String? }

    /// Runs on the connection's loop: at most one primary-key read of the store.
    static func resolve(_ access: JobTypes.Access, _ request: APIRequest, _ parameters: [String: String], jobs: JobStore) throws -> Resolved {
        var job: Job?
        var creation: JobHandlers.CreateBody?
        let type: String?
        if let id = parameters["job_id"] {
            guard NewID.isValid(id) else { throw AppError.invalidURLParam("job_id") }
            guard let found = try jobs.getSync(id) else { throw JobError.notFound }
            job = found
            type = found.type
        } else if let t = parameters["job_type"] {
            guard t.utf8.count <= 32 else { throw AppError.invalidURLParam("job_type") }
            type = t
        } else if request.method == "POST" {
            if let body = try? JobHandlers.CreateBody.decode(request), let t = body.type, !t.isEmpty {
                creation = body
                type = t
            } else if let t = (try? request.decodeJSON(TypeOnly.self))?.type, !t.isEmpty {
                // A body whose `data` is malformed still names its type: the permission is checked
                // first, and only an authorized peer learns that the rest is refused (400).
                type = t
            } else {
                throw AppError.invalidBodyParam("job")
            }
        } else {
            let t = request.query["job_type"] ?? ""
            if !t.isEmpty && !JobTypes.allTypes.contains(t) { throw AppError.invalidURLParam("job_type") }
            type = t.isEmpty ? nil : t
        }
        guard let type else { return Resolved(permission: .anyOf([.readJobs, .manageJobs]), job: nil) }
        guard let needed = JobTypes.permissions(type, access) else { throw JobAccessRefusal(access: access) }
        return Resolved(permission: .anyOf(needed), job: job, creation: creation)
    }
}

/// A job route naming a type that has no permission mapping for the access (mapped to
/// Mattermost's 400 in `ErrorMapping`).
struct JobAccessRefusal: Error {
    var access: JobTypes.Access
}
