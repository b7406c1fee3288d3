#if canImport(Glibc)
import Glibc
#endif
import Logging
import Maintenance
import StewardModel

/// Resolves user and group names through NSS (getpwnam_r/getgrnam_r), memoized until caches are
/// invalidated, so a user or group created after start is seen after `POST /caches/invalidate`.
public final class IdentityResolver: Sendable {
    public let users = LookupCache<String, UInt32?>(name: "policy_user_names")
    public let groups = LookupCache<String, UInt32?>(name: "policy_group_names")

    public init() {}

    public func uid(ofUser name: String) -> UInt32? {
        users.value(for: name) {
            var pwd = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 16384)
            guard getpwnam_r(name, &pwd, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
            return pwd.pw_uid
        }
    }

    public func gid(ofGroup name: String) -> UInt32? {
        groups.value(for: name) { Self.lookupGID(ofGroup: name) }
    }

    /// An uncached NSS lookup (listener groups are resolved once, at start).
    public static func lookupGID(ofGroup name: String) -> UInt32? {
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65536)
        guard getgrnam_r(name, &grp, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return grp.gr_gid
    }
}

/// Holds the configured rules and the resolved `AccessPolicy` built from them. The resolved policy is
/// a cache: `purge()` (cache invalidate) and `update(rules:)` (reload) drop it; the next request
/// resolves names again.
public final class PolicyProvider: PurgeableCache {
    public let cacheName = "resolved_policy"
    private let resolver: IdentityResolver
    private let daemonUID: UInt32
    private let logger: Logger
    private let state: Locked<(rules: [PolicyRule], resolved: AccessPolicy?)>

    public init(rules: [PolicyRule], resolver: IdentityResolver, daemonUID: UInt32 = getuid(), logger: Logger) {
        self.resolver = resolver
        self.daemonUID = daemonUID
        self.logger = logger
        self.state = Locked((rules, nil))
    }

    public var current: AccessPolicy {
        let (rules, resolved) = state.withLock { ($0.rules, $0.resolved) }
        if let resolved { return resolved }
        let fresh = resolve(rules)
        state.withLock { s in if s.rules == rules { s.resolved = fresh } }
        return fresh
    }

    public func update(rules: [PolicyRule]) {
        state.withLock { $0 = (rules, nil) }
    }

    public func purge() -> Int {
        state.withLock { s in
            let had = s.resolved == nil ? 0 : 1
            s.resolved = nil
            return had
        }
    }

    private func resolve(_ rules: [PolicyRule]) -> AccessPolicy {
        AccessPolicy(rules: rules.map { rule in
            var uids = Set(rule.uids)
            if rule.daemonUser { uids.insert(daemonUID) }
            for name in rule.users {
                if let uid = resolver.uid(ofUser: name) { uids.insert(uid) } else {
                    logger.warning("policy names a user that does not exist; ignored", metadata: ["user_name": "\(name)"])
                }
            }
            var gids = Set(rule.gids)
            for name in rule.groups {
                if let gid = resolver.gid(ofGroup: name) { gids.insert(gid) } else {
                    logger.warning("policy names a group that does not exist; ignored", metadata: ["group_name": "\(name)"])
                }
            }
            var permissions = Set(rule.permissions.map(Permission.init(rawValue:)))
            for role in rule.roles { permissions.formUnion(BuiltinRole(rawValue: role)?.permissions ?? []) }
            // The overflow ids are never an identity, even if NSS maps a name to them.
            uids.remove(PeerCredentials.overflowID)
            gids.remove(PeerCredentials.overflowID)
            return ResolvedRule(uids: uids, gids: gids, permissions: permissions)
        })
    }
}
