import StewardModel

/// Which calls of a route produce an audit entry (denials always do).
public enum AuditPolicy: Sendable, Equatable {
    /// Privileged actions: every call, allowed or denied, is an audit entry.
    case always
    /// Plain reads: only denials are audited.
    case denialsOnly
}

/// One entry of the route table: method, path, permission, audit policy, handler.
/// A class so that a request carries a reference to its route, not a copy.
public final class Route: Sendable {
    public typealias Handler = @Sendable (RequestContext) async throws -> APIResponse
    /// A handler that can answer without suspending (on the connection's loop); nil means "use `handler`".
    public typealias ImmediateHandler = @Sendable (RequestContext) throws -> APIResponse?

    public let method: String
    /// Path under the server root, with `{name}` for a path parameter.
    public let path: String
    public let permission: RequiredPermission
    public let audit: AuditPolicy
    public let summary: String
    let handler: Handler
    let immediate: ImmediateHandler?
    let segments: [Segment]

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public init(
        _ method: String, _ path: String, permission: RequiredPermission, audit: AuditPolicy,
        summary: String, immediate: ImmediateHandler? = nil, handler: @escaping Handler
    ) {
        self.immediate = immediate
        self.method = method
        self.path = path
        self.permission = permission
        self.audit = audit
        self.summary = summary
        self.handler = handler
        self.segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { s in
            s.hasPrefix("{") && s.hasSuffix("}") ? .parameter(String(s.dropFirst().dropLast())) : .literal(String(s))
        }
    }

    /// The route name used in audit entries, e.g. `POST /api/v4/server_busy`.
    public var name: String { "\(method) \(path)" }

    var isParameterized: Bool { segments.contains { if case .parameter = $0 { return true } else { return false } } }
}
