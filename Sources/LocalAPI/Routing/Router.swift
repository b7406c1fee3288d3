/// Matches a method and path against the route table.
///
/// Static paths resolve with one dictionary lookup (ping is the hot path); parameterized paths are
/// matched segment by segment. A known path with another method is a 405 with the allowed methods.
public struct Router: Sendable {
    public enum Match: Sendable {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private let staticRoutes: [String: [String: Route]]
    private let parameterized: [Route]

    public init(routes: [Route]) {
        var s: [String: [String: Route]] = [:]
        var p: [Route] = []
        for r in routes {
            if r.isParameterized { p.append(r) } else { s[r.path, default: [:]][r.method] = r }
        }
        staticRoutes = s
        parameterized = p
    }

    public func match(method: String, path: String) -> Match {
        if let byMethod = staticRoutes[path] {
            if let r = byMethod[method] { return .found(r, parameters: [:]) }
            return .methodNotAllowed(allowed: byMethod.keys.sorted())
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var allowed: [String] = []
        for r in parameterized {
            guard let params = Self.bind(r.segments, parts) else { continue }
            if r.method == method { return .found(r, parameters: params) }
            allowed.append(r.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed.sorted())
    }

    private static func bind(_ segments: [Route.Segment], _ parts: ArraySlice<Substring>) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        var params: [String: String] = [:]
        for (seg, part) in zip(segments, parts) {
            switch seg {
            case .literal(let l): if l != part { return nil }
            case .parameter(let name):
                if part.isEmpty { return nil }
                params[name] = String(part)
            }
        }
        return params
    }
}
