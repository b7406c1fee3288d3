import StewardModel

/// What a route requires of its caller.
public enum RequiredPermission: Sendable, Equatable, CustomStringConvertible {
    /// Anyone, including an unknown peer (only ping).
    case none
    /// A peer holding at least one of these permissions.
    case anyOf([Permission])
    /// Decided per job type (read, create, manage or download jobs of the request's type), once the
    /// dispatcher has found the type from the path, query, body or stored job. Checked first as
    /// "any permission this access needs for some type", before anything of the request is read.
    case job(JobTypes.Access)

    public static func permission(_ p: Permission) -> RequiredPermission { .anyOf([p]) }

    /// What is checked before anything of the request is read: for job routes, any permission
    /// this access needs for jobs of some type.
    public var beforeResolution: RequiredPermission {
        if case .job(let access) = self { return .anyOf(JobTypes.permissionsForAnyType(access)) }
        return self
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .anyOf(let ps): return ps.map(\.rawValue).joined(separator: "|")
        case .job(let access): return "\(access.rawValue) job of its type"
        }
    }
}

/// The outcome of an access check, with what the audit entry needs.
public enum AccessDecision: Sendable, Equatable {
    case allow
    case deny(reason: String)

    public var isAllowed: Bool { self == .allow }
}

/// A policy rule with its names already resolved to ids.
public struct ResolvedRule: Sendable, Equatable {
    public var uids: Set<UInt32>
    public var gids: Set<UInt32>
    public var permissions: Set<Permission>

    public init(uids: Set<UInt32>, gids: Set<UInt32>, permissions: Set<Permission>) {
        self.uids = uids
        self.gids = gids
        self.permissions = permissions
    }

    func matches(_ peer: PeerCredentials) -> Bool {
        uids.contains(peer.uid) || gids.contains(peer.gid) || peer.groups.contains(where: gids.contains)
    }
}

/// The authorization policy as a value: a pure function from peer and requirement to a decision.
/// Built from config by `PolicyProvider`; unit-tested with fake peers and no socket.
public struct AccessPolicy: Sendable, Equatable {
    public var rules: [ResolvedRule]

    public init(rules: [ResolvedRule]) { self.rules = rules }

    /// Everything the peer is granted. Unknown peers are granted nothing, whatever the rules say.
    public func permissions(of peer: PeerCredentials) -> Set<Permission> {
        guard !peer.isUnknown else { return [] }
        var granted = Set<Permission>()
        for rule in rules where rule.matches(peer) { granted.formUnion(rule.permissions) }
        return granted
    }

    public func check(_ peer: PeerCredentials, requires required: RequiredPermission) -> AccessDecision {
        switch required {
        case .none:
            return .allow
        case .job:
            // Could the peer hold what this access needs for jobs of any type? If not, nothing
            // about the request (job ids, body) matters. The type's own check follows once known.
            return check(peer, requires: required.beforeResolution)
        case .anyOf(let needed):
            if peer.isUnknown { return .deny(reason: "unknown peer identity") }
            // Asked on every request: rule by rule, stopping at the first grant, no set built.
            for rule in rules where rule.matches(peer) {
                if needed.contains(where: rule.permissions.contains) { return .allow }
            }
            return .deny(reason: "missing permission")
        }
    }
}
