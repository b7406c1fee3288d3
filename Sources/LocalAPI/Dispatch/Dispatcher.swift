import Logging
import StewardModel

/// The one request path, in a fixed order: route → access → body check → handler → error mapping,
/// with the audit record opened before the handler runs. Size limits are enforced earlier, by the
/// transport; routing and the access check run again at a request's head (`admit`), so a peer
/// without permission is refused before its body is read. Handlers never check permissions.
///
/// `begin` runs synchronously on the connection's loop and answers by itself whatever needs no
/// handler (404, 405, 403, 400) or has an immediate one (ping, the busy state, job reads); a job
/// route's type is resolved and checked there too. `finish` runs the async handler.
public final class Dispatcher: Sendable {
    let router: Router
    let policy: PolicyProvider
    let services: APIServices
    let audit: AuditLog
    let logger: Logger

    public init(router: Router = RouteTable.router, policy: PolicyProvider, services: APIServices, logger: Logger) {
        self.router = router
        self.policy = policy
        self.services = services
        self.audit = AuditLog(logger: logger)
        self.logger = logger
    }

    public enum Begin: Sendable {
        case answered(APIResponse)
        case needsHandler(Pending)
    }

    /// A request that passed routing and access and waits for its handler.
    public struct Pending: Sendable {
        var context: RequestContext
        var record: AuditLog.Record?
        /// A job route whose per-type decision needs a store read that may not run on the loop
        /// (PostgreSQL): decided first thing in `finish`, on the blocking pool.
        var deferredJobAccess: JobTypes.Access?
    }

    /// True when the peer holds `manage_system`: it may take the connection places kept for
    /// administrators.
    public func isAdministrator(_ peer: PeerCredentials) -> Bool {
        policy.current.check(peer, requires: .permission(.manageSystem)) == .allow
    }

    /// The whole path, for callers that do not care which part ran where (tests).
    public func dispatch(_ request: APIRequest) async -> APIResponse {
        switch begin(request) {
        case .answered(let r): return r
        case .needsHandler(let p): return await finish(p)
        }
    }

    /// A request refused at its head, before its body is read: no such route, or a peer that could
    /// not hold any permission the route might require.
    public struct Refusal: Sendable {
        public var response: APIResponse
        public var requestID: String
    }

    /// Asked by the transport as soon as a request's head has arrived (requests with a body): the
    /// same routing and access check as `begin`, so a peer without permission is refused before its
    /// body is read or parsed. nil: read the body and go on.
    public func admit(method: String, uri: String, peer: PeerCredentials) -> Refusal? {
        let request = APIRequest(method: method, uri: uri, peer: peer)
        guard case .refused(let response) = routeAndAuthorize(request) else { return nil }
        return Refusal(response: response, requestID: request.requestID)
    }

    private enum Admission {
        case admitted(Route, parameters: [String: String])
        case refused(APIResponse)
    }

    /// Routing, then the access check every request passes first, in one place. Total over
    /// `RequiredPermission`: a job route asks whether the peer holds any permission that access
    /// to jobs of some type needs — a peer holding none is refused here, before a job id is looked
    /// up or a body is read; the per-type decision follows in `finish` for the others.
    private func routeAndAuthorize(_ request: APIRequest) -> Admission {
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return .refused(respond(.notFound(path: request.path), request))
        case .methodNotAllowed(let allowed):
            var r = respond(.methodNotAllowed(method: request.method, path: request.path, allowed: allowed), request)
            r.headers.append(("Allow", allowed.joined(separator: ", ")))
            return .refused(r)
        case .found(let route, let parameters):
            let required = route.permission.beforeResolution
            if case .deny(let reason) = policy.current.check(request.peer, requires: required) {
                audit.denied(request, route: route, reason: reason, permission: required.description)
                let uid = request.peer.isUnknown ? nil : request.peer.uid
                return .refused(respond(.forbidden(uid: uid, permission: required.description), request))
            }
            return .admitted(route, parameters: parameters)
        }
    }

    public func begin(_ request: APIRequest) -> Begin {
        let route: Route
        let parameters: [String: String]
        switch routeAndAuthorize(request) {
        case .refused(let response):
            return .answered(response)
        case .admitted(let r, let p):
            route = r
            parameters = p
        }

        // Every body this API takes is JSON: one that does not parse is refused before any handler runs.
        if !request.body.isEmpty, !JSONSyntax.isValid(request.body) {
            return .answered(respond(.malformedJSON("the request body is not valid JSON"), request))
        }

        var context = RequestContext(request: request, parameters: parameters, services: services, baseLogger: logger, route: route)
        var record: AuditLog.Record?
        if case .job(let access) = route.permission, parameters["job_id"] != nil, !services.jobs.jobs.db.answersOnTheLoop {
            return .needsHandler(Pending(context: context, record: nil, deferredJobAccess: access))
        }
        if case .job(let access) = route.permission {
            switch authorizeJob(access, &context) {
            case .refused(let response): return .answered(response)
            case .authorized(let opened): record = opened
            }
        } else if route.audit == .always {
            record = audit.open(request, route: route)
        }
        if let immediate = route.immediate {
            do {
                if let response = try immediate(context) {
                    record?.answered(response)
                    record?.finish()
                    return .answered(response)
                }
            } catch {
                let e = ErrorMapping.appError(for: error, route: route, requestID: request.requestID, logger: context.logger)
                record?.succeeded(status: e.statusCode)
                record?.finish()
                return .answered(.error(e))
            }
        }
        return .needsHandler(Pending(context: context, record: record))
    }

    private enum JobAuthorization: Sendable {
        case authorized(AuditLog.Record?)
        case refused(APIResponse)
    }

    /// A job route's per-type decision. Only peers holding some job permission get here
    /// (`routeAndAuthorize`); now the job's type decides, in Mattermost's order: 400/404 for a bad
    /// or unknown job, then the check. On the loop: at most one primary-key read.
    private func authorizeJob(_ access: JobTypes.Access, _ context: inout RequestContext) -> JobAuthorization {
        let request = context.request
        do {
            let resolved = try JobAccess.resolve(access, request, context.parameters, jobs: services.jobs.jobs)
            if case .deny(let reason) = policy.current.check(request.peer, requires: resolved.permission) {
                audit.denied(request, route: context.route, reason: reason, permission: resolved.permission.description)
                let uid = request.peer.isUnknown ? nil : request.peer.uid
                return .refused(respond(.forbidden(uid: uid, permission: resolved.permission.description), request))
            }
            context.job = resolved.job
            context.jobCreation = resolved.creation
            let opened = context.route.audit == .always ? audit.open(request, route: context.route, permission: resolved.permission.description) : nil
            return .authorized(opened)
        } catch {
            let e = ErrorMapping.appError(for: error, route: context.route, requestID: request.requestID, logger: context.logger)
            if context.route.audit == .always {
                // A privileged call that failed before its type was known is still an entry.
                var failed = audit.open(request, route: context.route)
                failed.succeeded(status: e.statusCode)
                failed.finish()
            }
            return .refused(.error(e))
        }
    }

    public func finish(_ pending: Pending) async -> APIResponse {
        var pending = pending
        if let access = pending.deferredJobAccess {
            let before = pending.context
            let (outcome, context) = await (try? BlockingPool.shared.run { [self] in
                var c = before
                return (self.authorizeJob(access, &c), c)
            }) ?? (.refused(.error(.internalError())), before)
            switch outcome {
            case .refused(let response): return response
            case .authorized(let opened): pending.record = opened
            }
            pending.context = context
        }
        var record = pending.record
        let context = pending.context
        defer { record?.finish() }
        do {
            let response = try await context.route.handler(context)
            record?.answered(response)
            return response
        } catch {
            let e = ErrorMapping.appError(for: error, route: context.route, requestID: context.request.requestID, logger: context.logger)
            record?.succeeded(status: e.statusCode)
            return .error(e)
        }
    }

    private func respond(_ error: AppError, _ request: APIRequest) -> APIResponse {
        var e = error
        e.requestID = request.requestID
        return .error(e)
    }
}
