import Foundation
import Integrity
import Logging
import Maintenance
import StewardModel
import Store
import Testing

@testable import LocalAPI

/// The access check before anything of a request is read: a job route asks whether the peer could
/// hold what that access needs for jobs of some type, so a peer holding none is refused (403)
/// before its body is parsed or a job id is looked up. The check is total: every requirement gives
/// allow or deny, never an "unresolved" one.
@Suite struct AccessPrecheckTests {
    static let observerUID: UInt32 = 100
    static let operatorUID: UInt32 = 200
    static let accesses: [JobTypes.Access] = [.read, .create, .manage, .download]

    let policy = AccessPolicy(rules: [
        ResolvedRule(uids: [0], gids: [], permissions: BuiltinRole.systemAdmin.permissions),
        ResolvedRule(uids: [observerUID], gids: [], permissions: BuiltinRole.observer.permissions),
        ResolvedRule(uids: [operatorUID], gids: [], permissions: BuiltinRole.jobOperator.permissions),
    ])
    let root = PeerCredentials(uid: 0, gid: 0, pid: 10, groups: [])
    let observer = PeerCredentials(uid: observerUID, gid: 1000, pid: 11, groups: [])
    let jobOperator = PeerCredentials(uid: operatorUID, gid: 1000, pid: 12, groups: [])
    let stranger = PeerCredentials(uid: 4321, gid: 4321, pid: 13, groups: [])
    let unknown = PeerCredentials(uid: 0, gid: 0, pid: 0, groups: [])

    @Test(arguments: accesses)
    func peerWithoutPermissionsIsDeniedEveryJobAccess(access: JobTypes.Access) {
        #expect(policy.check(stranger, requires: .job(access)) == .deny(reason: "missing permission"))
    }

    @Test(arguments: accesses)
    func unknownPeerIsDeniedEveryJobAccess(access: JobTypes.Access) {
        #expect(policy.check(unknown, requires: .job(access)) == .deny(reason: "unknown peer identity"))
    }

    @Test func observerMayReadButNotCreateOrManage() {
        #expect(policy.check(observer, requires: .job(.read)) == .allow)
        #expect(policy.check(observer, requires: .job(.create)) == .deny(reason: "missing permission"))
        #expect(policy.check(observer, requires: .job(.manage)) == .deny(reason: "missing permission"))
    }

    @Test(arguments: accesses)
    func jobOperatorAndAdminMayDoEverything(access: JobTypes.Access) {
        #expect(policy.check(jobOperator, requires: .job(access)) == .allow)
        #expect(policy.check(root, requires: .job(access)) == .allow)
    }

    @Test func beforeResolutionIsAnyPermissionOfSomeType() {
        for access in Self.accesses {
            let any = JobTypes.permissionsForAnyType(access)
            #expect(!any.isEmpty, "\(access): nobody could ever pass")
            #expect(RequiredPermission.job(access).beforeResolution == .anyOf(any))
        }
        let read = Set(JobTypes.permissionsForAnyType(.read))
        #expect(read.isSuperset(of: [.readJobs, .manageJobs, .readDataRetentionJob, .readComplianceExportJob]))
        let create = Set(JobTypes.permissionsForAnyType(.create))
        #expect(create.isSuperset(of: [.manageJobs, .createDataRetentionJob, .createComplianceExportJob]))
        #expect(!create.contains(.readJobs) && !create.contains(.readDataRetentionJob))
        #expect(JobTypes.permissionsForAnyType(.download).contains(.downloadComplianceExportResult))
        // Non-job requirements pass through unchanged.
        #expect(RequiredPermission.none.beforeResolution == RequiredPermission.none)
        #expect(RequiredPermission.permission(.manageSystem).beforeResolution == .anyOf([.manageSystem]))
    }

    @Test func checkIsTotalOverEveryRoute() {
        let known = ["missing permission", "unknown peer identity"]
        for route in RouteTable.all {
            for peer in [root, observer, jobOperator, stranger, unknown] {
                switch policy.check(peer, requires: route.permission) {
                case .allow: break
                case .deny(let reason):
                    #expect(known.contains(reason), "\(route.name) for \(peer): '\(reason)'")
                }
            }
            #expect(policy.check(root, requires: route.permission) == .allow, "\(route.name) refused to root")
            if route.permission != RequiredPermission.none {
                #expect(!policy.check(stranger, requires: route.permission).isAllowed, "\(route.name) open to a stranger")
                #expect(!policy.check(unknown, requires: route.permission).isAllowed, "\(route.name) open to an unknown peer")
            }
        }
    }

    // MARK: in process, through the dispatcher

    static func makeDispatcher() throws -> Dispatcher {
        try makeTestDispatcher(
            rules: [PolicyRule(uids: [0], roles: ["system_admin"]), PolicyRule(uids: [observerUID], roles: ["observer"])],
            label: "precheck")
    }

    @Test func admitRefusesBeforeTheBody() throws {
        let d = try Self.makeDispatcher()
        let missing = "/api/v4/jobs/" + NewID.make()
        #expect(d.admit(method: "POST", uri: "/api/v4/jobs", peer: stranger)?.response.status == 403)
        #expect(d.admit(method: "GET", uri: missing, peer: stranger)?.response.status == 403)
        #expect(d.admit(method: "POST", uri: "/api/v4/jobs", peer: observer)?.response.status == 403)
        #expect(d.admit(method: "GET", uri: "/api/v4/no/such/route", peer: stranger)?.response.status == 404)
        #expect(d.admit(method: "POST", uri: "/api/v4/jobs", peer: root) == nil)
        #expect(d.admit(method: "GET", uri: missing, peer: observer) == nil)
    }

    @Test func admitRefusalCarriesItsRequestID() throws {
        let d = try Self.makeDispatcher()
        let refusal = try #require(d.admit(method: "POST", uri: "/api/v4/jobs", peer: stranger))
        #expect(NewID.isValid(refusal.requestID))
        let json = try JSONSerialization.jsonObject(with: Data(refusal.response.body)) as? [String: Any]
        #expect(json?["request_id"] as? String == refusal.requestID)
    }

    @Test func malformedBodyFromAnObserverIs403Not400() async throws {
        let d = try Self.makeDispatcher()
        let denied = await d.dispatch(APIRequest(method: "POST", uri: "/api/v4/jobs", body: Array("{nope".utf8), peer: observer))
        #expect(denied.status == 403)
        // The same body from a peer allowed to create is what would be a 400.
        let allowed = await d.dispatch(APIRequest(method: "POST", uri: "/api/v4/jobs", body: Array("{nope".utf8), peer: root))
        #expect(allowed.status == 400)
    }

    /// A body naming a type the peer may not create, with malformed `data`: the permission is
    /// checked first (403); only an allowed peer learns the data is refused (400).
    @Test func malformedDataForATypeThePeerMayNotCreateIs403Not400() async throws {
        let d = try makeTestDispatcher(
            rules: [PolicyRule(uids: [0], roles: ["system_admin"]),
                    PolicyRule(uids: [Self.operatorUID], permissions: ["create_data_retention_job", "read_jobs"])],
            label: "precheck-data")
        let body = Array(#"{"type":"db_backup","data":{"n":1}}"#.utf8)
        let denied = await d.dispatch(APIRequest(method: "POST", uri: "/api/v4/jobs", body: body, peer: jobOperator))
        #expect(denied.status == 403, "data retention only: db_backup needs manage_jobs")
        let allowed = await d.dispatch(APIRequest(method: "POST", uri: "/api/v4/jobs", body: body, peer: root))
        #expect(allowed.status == 400)
    }

    @Test func unknownJobForAPeerWithoutPermissionIs403Not404() async throws {
        let d = try Self.makeDispatcher()
        let uri = "/api/v4/jobs/" + NewID.make()
        let denied = await d.dispatch(APIRequest(method: "GET", uri: uri, peer: stranger))
        #expect(denied.status == 403)
        let observed = await d.dispatch(APIRequest(method: "GET", uri: uri, peer: observer))
        #expect(observed.status == 404)
    }
}
