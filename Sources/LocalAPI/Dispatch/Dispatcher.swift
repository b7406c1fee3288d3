import Foundation
import Logging
import StewardModel

/// The one request path, in a fixed order: route → access → body check → handler → error mapping, with the audit
/// record opened before the handler runs. Size limits are enforced earlier, by the transport, so a
/// decision is only ever made on a fully read request. Handlers never check permissions.
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

    public func dispatch(_ request: APIRequest) async -> APIResponse {
        let route: Route
        let parameters: [String: String]
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return respond(.notFound(path: request.path), request)
        case .methodNotAllowed(let allowed):
            var r = respond(.methodNotAllowed(method: request.method, path: request.path, allowed: allowed), request)
            r.headers.append(("Allow", allowed.joined(separator: ", ")))
            return r
        case .found(let r, let p):
            route = r
            parameters = p
        }

        if case .deny(let reason) = policy.current.check(request.peer, requires: route.permission) {
            audit.denied(request, route: route, reason: reason)
            return respond(.forbidden(uid: request.peer.isUnknown ? nil : request.peer.uid, permission: route.permission.description), request)
        }

        // Every body this API takes is JSON: one that does not parse is refused before any handler runs.
        if !request.body.isEmpty, (try? JSONSerialization.jsonObject(with: Data(request.body), options: [.fragmentsAllowed])) == nil {
            return respond(.malformedJSON("the request body is not valid JSON"), request)
        }

        var record = route.audit == .always ? audit.open(request, route: route) : nil
        defer { record?.finish() }
        var requestLogger = logger
        requestLogger[metadataKey: "request_id"] = "\(request.requestID)"
        let context = RequestContext(request: request, parameters: parameters, services: services, logger: requestLogger, route: route)
        do {
            let response = try await route.handler(context)
            record?.succeeded(status: response.status)
            return response
        } catch {
            let e = ErrorMapping.appError(for: error, route: route, requestID: request.requestID, logger: requestLogger)
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
