import Logging
import StewardModel

/// The one request path, in a fixed order: route → access → body check → handler → error mapping,
/// with the audit record opened before the handler runs. Size limits are enforced earlier, by the
/// transport, so a decision is only ever made on a fully read request. Handlers never check
/// permissions.
///
/// `begin` runs synchronously on the connection's loop and answers by itself whatever needs no
/// handler (404, 405, 403, 400) or has an immediate one (ping); `finish` runs the async handler.
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
        let context: RequestContext
        var record: AuditLog.Record?
    }

    /// The whole path, for callers that do not care which part ran where (tests).
    public func dispatch(_ request: APIRequest) async -> APIResponse {
        switch begin(request) {
        case .answered(let r): return r
        case .needsHandler(let p): return await finish(p)
        }
    }

    public func begin(_ request: APIRequest) -> Begin {
        let route: Route
        let parameters: [String: String]
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return .answered(respond(.notFound(path: request.path), request))
        case .methodNotAllowed(let allowed):
            var r = respond(.methodNotAllowed(method: request.method, path: request.path, allowed: allowed), request)
            r.headers.append(("Allow", allowed.joined(separator: ", ")))
            return .answered(r)
        case .found(let r, let p):
            route = r
            parameters = p
        }

        if case .anyOf = route.permission, case .deny(let reason) = policy.current.check(request.peer, requires: route.permission) {
            audit.denied(request, route: route, reason: reason)
            let uid = request.peer.isUnknown ? nil : request.peer.uid
            return .answered(respond(.forbidden(uid: uid, permission: route.permission.description), request))
        }

        // Every body this API takes is JSON: one that does not parse is refused before any handler runs.
        if !request.body.isEmpty, !JSONSyntax.isValid(request.body) {
            return .answered(respond(.malformedJSON("the request body is not valid JSON"), request))
        }

        let context = RequestContext(request: request, parameters: parameters, services: services, baseLogger: logger, route: route)
        if case .job = route.permission {
            // The job type decides the permission: resolved (with a store read) in `finish`.
            return .needsHandler(Pending(context: context, record: nil))
        }
        var record = route.audit == .always ? audit.open(request, route: route) : nil
        if let immediate = route.immediate {
            do {
                if let response = try immediate(context) {
                    record?.succeeded(status: response.status)
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

    public func finish(_ pending: Pending) async -> APIResponse {
        var record = pending.record
        var context = pending.context
        if case .job(let access) = context.route.permission {
            let request = context.request
            do {
                let resolved = try await JobAccess.resolve(access, request, context.parameters, jobs: services.jobs.jobs)
                if case .deny(let reason) = policy.current.check(request.peer, requires: resolved.permission) {
                    audit.denied(request, route: context.route, reason: reason, permission: resolved.permission.description)
                    let uid = request.peer.isUnknown ? nil : request.peer.uid
                    return respond(.forbidden(uid: uid, permission: resolved.permission.description), request)
                }
                context.job = resolved.job
                if context.route.audit == .always { record = audit.open(request, route: context.route, permission: resolved.permission.description) }
            } catch {
                let e = ErrorMapping.appError(for: error, route: context.route, requestID: request.requestID, logger: context.logger)
                return .error(e)
            }
        }
        defer { record?.finish() }
        do {
            let response = try await context.route.handler(context)
            record?.succeeded(status: response.status)
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
