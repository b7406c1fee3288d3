import LocalAPI
import Logging
import StewardModel
import Testing

/// The policy as a pure value, checked with fake peers and no socket.
@Suite struct AccessPolicyTests {
    static let adminGID: UInt32 = 5001
    static let observerGID: UInt32 = 5002

    let policy = AccessPolicy(rules: [
        ResolvedRule(uids: [0], gids: [], permissions: BuiltinRole.systemAdmin.permissions),
        ResolvedRule(uids: [], gids: [adminGID], permissions: BuiltinRole.systemAdmin.permissions),
        ResolvedRule(uids: [], gids: [observerGID], permissions: BuiltinRole.observer.permissions),
    ])

    func peer(uid: UInt32, gid: UInt32 = 1000, pid: Int32 = 42, groups: [UInt32] = []) -> PeerCredentials {
        PeerCredentials(uid: uid, gid: gid, pid: pid, groups: groups)
    }

    @Test func rootIsAdmin() {
        #expect(policy.check(peer(uid: 0, gid: 0), requires: .permission(.manageSystem)) == .allow)
    }

    @Test func supplementaryGroupGrantsItsRole() {
        #expect(policy.check(peer(uid: 1000, groups: [Self.adminGID]), requires: .permission(.recycleDatabaseConnections)) == .allow)
        #expect(policy.check(peer(uid: 1000, groups: [Self.observerGID]), requires: .anyOf([.manageSystem, .readServerBusy])) == .allow)
        #expect(policy.check(peer(uid: 1000, groups: [Self.observerGID]), requires: .permission(.manageSystem)) == .deny(reason: "missing permission"))
    }

    @Test func primaryGroupCountsToo() {
        #expect(policy.check(peer(uid: 1000, gid: Self.adminGID), requires: .permission(.invalidateCaches)) == .allow)
    }

    @Test func strangerGetsOnlyOpenRoutes() {
        let p = peer(uid: 1234)
        #expect(policy.check(p, requires: .none) == .allow)
        #expect(!policy.check(p, requires: .anyOf([.manageSystem, .readServerBusy])).isAllowed)
        #expect(policy.permissions(of: p).isEmpty)
    }

    @Test(arguments: [
        PeerCredentials(uid: 0, gid: 0, pid: 0, groups: []),
        PeerCredentials(uid: 65534, gid: 0, pid: 7, groups: []),
        PeerCredentials(uid: 0, gid: 65534, pid: 7, groups: []),
        PeerCredentials(uid: 0, gid: 0, pid: 7, groups: [], lookupSucceeded: false),
        PeerCredentials.unavailable,
    ])
    func unknownPeersAreDeniedEverythingButPing(p: PeerCredentials) {
        #expect(p.isUnknown)
        #expect(policy.check(p, requires: .none) == .allow)
        #expect(policy.check(p, requires: .permission(.manageSystem)) == .deny(reason: "unknown peer identity"))
        #expect(policy.permissions(of: p).isEmpty)
    }

    @Test func providerResolvesDaemonUserAndIgnoresMissingGroups() {
        let provider = PolicyProvider(
            rules: [PolicyRule(daemonUser: true, roles: ["system_admin"]),
                    PolicyRule(groups: ["no-such-group-steward-test"], roles: ["observer"]),
                    PolicyRule(users: ["root"], permissions: ["invalidate_caches"])],
            resolver: IdentityResolver(), daemonUID: 777, logger: Logger(label: "test"))
        let p = provider.current
        #expect(p.check(PeerCredentials(uid: 777, gid: 777, pid: 1, groups: []), requires: .permission(.manageSystem)) == .allow)
        #expect(p.rules[1].gids.isEmpty)
        #expect(p.rules[2].uids == [0])
        #expect(provider.purge() == 1)
        #expect(provider.purge() == 0)
    }
}
