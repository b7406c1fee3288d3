import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Gate 2 with real identities: users and groups created with useradd/groupadd, clients run with
/// runuser, a world-connectable extra listener so only the peer-credential policy decides.
@Suite("Authorization with real identities", .serialized, .enabled(if: Paths.isRoot, "needs root to create users and groups"))
struct AuthorizationEndToEndTests {
    let dir = Paths.makeTempDir("authz")
    let daemon: DaemonProcess
    var ops: String { dir + "/pub/ops.sock" }
    static let lateUser = "stw-late"

    init() throws {
        TestUsers.ensure
        try FileManager.default.createDirectory(atPath: dir + "/pub", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.listeners.append(ListenerSettings(name: "ops.sock", path: dir + "/pub/ops.sock", mode: "0666"))
        config.localAuthorizationSettings.rules += [
            PolicyRule(users: [TestUsers.operatorUser], roles: ["job_operator"]),
            PolicyRule(users: [Self.lateUser], roles: ["system_admin"]),
        ]
        daemon = try DaemonProcess(dataDir: dir, config: config)
    }

    /// curl as `user` (status code only), so the request carries nothing but the kernel's identity.
    func status(_ method: String, _ path: String, as user: String?, socket: String? = nil) throws -> Int {
        let args = ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", socket ?? ops, "-X", method, "http://_/api/v4" + path]
        let r = try user.map { try Command.runAs($0, "/usr/bin/curl", args) } ?? Command.run("/usr/bin/curl", args)
        guard let code = Int(r.stdout), code > 0 else {
            // Not an HTTP answer at all: say why (runuser or curl), so a failure is diagnosable.
            Issue.record("\(method) \(path) as \(user ?? "root"): exit \(r.status), \(r.stderr)")
            return -1
        }
        return code
    }

    @Test func extraListenerHasItsConfiguredMode() {
        var st = stat()
        #expect(lstat(ops, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o666)
    }

    @Test func rootIsAllowedEverything() throws {
        #expect(try status("POST", "/server_busy?seconds=60", as: nil) == 200)
        #expect(try status("GET", "/server_busy", as: nil) == 200)
        #expect(try status("DELETE", "/server_busy", as: nil) == 200)
        #expect(try status("POST", "/caches/invalidate", as: nil) == 200)
        #expect(try status("POST", "/database/recycle", as: nil) == 200)
    }

    @Test func adminGroupIsAllowedEverything() throws {
        let u = TestUsers.admin
        #expect(try status("POST", "/server_busy?seconds=60", as: u) == 200)
        #expect(try status("GET", "/server_busy", as: u) == 200)
        #expect(try status("DELETE", "/server_busy", as: u) == 200)
        #expect(try status("POST", "/caches/invalidate", as: u) == 200)
        #expect(try status("POST", "/database/recycle", as: u) == 200)
    }

    @Test func observerGroupIsReadOnly() throws {
        let u = TestUsers.observer
        #expect(try status("GET", "/system/ping", as: u) == 200)
        #expect(try status("GET", "/server_busy", as: u) == 200)
        #expect(try status("POST", "/server_busy?seconds=60", as: u) == 403)
        #expect(try status("DELETE", "/server_busy", as: u) == 403)
        #expect(try status("POST", "/caches/invalidate", as: u) == 403)
        #expect(try status("POST", "/database/recycle", as: u) == 403)
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").json()["busy"] as? Bool == false)
    }

    @Test func jobOperatorReadsBusyButCannotSetIt() throws {
        #expect(try status("GET", "/server_busy", as: TestUsers.operatorUser) == 200)
        #expect(try status("POST", "/server_busy", as: TestUsers.operatorUser) == 403)
    }

    @Test func nobodyGetsOnlyPing() throws {
        let u = TestUsers.nobody
        #expect(try status("GET", "/system/ping", as: u) == 200)
        for (method, path) in [("GET", "/server_busy"), ("POST", "/server_busy"), ("DELETE", "/server_busy"),
                               ("POST", "/caches/invalidate"), ("POST", "/database/recycle")] {
            #expect(try status(method, path, as: u) == 403, "\(method) \(path)")
        }
    }

    @Test func denialAnswersAnAppErrorAndIsAudited() throws {
        let uid = try #require(TestUsers.uid(of: TestUsers.nobody))
        let r = try Command.runAs(TestUsers.nobody, "/usr/bin/curl", ["-s", "--unix-socket", ops, "-X", "POST", "http://_/api/v4/server_busy?seconds=60"])
        let body = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(body["id"] as? String == "api.context.permissions.app_error")
        #expect(body["status_code"] as? Int == 403)
        #expect(body["detailed_error"] as? String == "uid=\(uid), permission=manage_system")
        let requestID = try #require(body["request_id"] as? String)
        let audit = daemon.logLines(containing: "access denied", "request_id=\"\(requestID)\"")
        #expect(audit.count == 1)
        let line = audit.first ?? ""
        for field in ["peer_uid=\"\(uid)\"", "decision=\"deny\"", "route=\"POST /api/v4/server_busy\"", "permission=\"manage_system\"",
                      "peer_exe=\"/usr/bin/curl\"", "message_id=\"\(JournalMessageIDs.accessDenied)\""] {
            #expect(line.contains(field), "\(field) in \(line)")
        }
    }

    @Test func privilegedActionsAreAuditedAsAllowed() throws {
        #expect(try status("POST", "/caches/invalidate", as: TestUsers.admin) == 200)
        let uid = try #require(TestUsers.uid(of: TestUsers.admin))
        let lines = daemon.logLines(containing: "privileged action", "peer_uid=\"\(uid)\"", "route=\"POST /api/v4/caches/invalidate\"")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("outcome=\"success\"") == true)
        #expect(lines.first?.contains("decision=\"allow\"") == true)
    }

    @Test func rootInsideAUserNamespaceIsNotRoot() throws {
        // "root" in a user namespace made by an unprivileged user is that user to the kernel's SO_PEERCRED.
        let r = try Command.runAs(
            TestUsers.nobody, Paths.tool("unshare")!,
            ["--user", "--map-root-user", "/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", ops,
             "-X", "POST", "http://_/api/v4/server_busy"])
        #expect(r.stdout == "403")
        let uid = try #require(TestUsers.uid(of: TestUsers.nobody))
        #expect(!daemon.logLines(containing: "access denied", "peer_uid=\"\(uid)\"").isEmpty)
    }

    @Test func defaultListenerRefusesOtherUsersAtTheFileMode() throws {
        // Gate 1: the 0600 socket cannot even be connected to by a non-root user.
        let r = try Command.stewardctl(["system", "getbusy"], socket: daemon.socket, as: TestUsers.admin)
        #expect(r.status == 77)
        #expect(r.stderr.contains("Permission denied"))
    }

    @Test func cliReportsDenialWithItsExitCode() throws {
        let denied = try Command.stewardctl(["system", "setbusy", "-s", "60"], socket: ops, as: TestUsers.observer)
        #expect(denied.status == 77)
        #expect(denied.stderr.contains("You do not have the appropriate permissions."))
        let allowed = try Command.stewardctl(["system", "getbusy"], socket: ops, as: TestUsers.observer)
        #expect(allowed.status == 0)
        #expect(allowed.stdout == "busy: false\n")
    }

    @Test func aPeerWithManyGroupsIsStillRecognised() throws {
        // More groups than the first SO_PEERGROUPS buffer holds (32): the larger buffer is used.
        let user = "stw-manygroups"
        var groups: [String] = []
        for i in 0..<40 {
            let g = "stw-g\(i)"
            if !TestUsers.exists(group: g) { try Command.run(Paths.tool("groupadd")!, [g]) }
            groups.append(g)
        }
        groups.append(TestUsers.adminGroup)
        if !TestUsers.exists(user: user) {
            try Command.run(Paths.tool("useradd")!, ["--no-create-home", "--shell", "/usr/sbin/nologin", "--groups", groups.joined(separator: ","), user])
        }
        #expect(try status("POST", "/server_busy?seconds=5", as: user) == 200)
        #expect(try status("DELETE", "/server_busy", as: user) == 200)
    }

    @Test func cacheInvalidateMakesANewUserVisibleToThePolicy() throws {
        TestUsers.delete(user: Self.lateUser)
        defer { TestUsers.delete(user: Self.lateUser) }
        // The first request resolves the policy while the user does not exist yet.
        #expect(try status("GET", "/server_busy", as: nil) == 200)
        TestUsers.create(user: Self.lateUser)
        #expect(try status("GET", "/server_busy", as: Self.lateUser) == 403)
        #expect(try status("POST", "/caches/invalidate", as: nil) == 200)
        #expect(try status("GET", "/server_busy", as: Self.lateUser) == 200)
        #expect(try status("POST", "/server_busy?seconds=5", as: Self.lateUser) == 200)
    }
}

/// A daemon in its own user namespace sees peers it cannot map as the overflow uid: unknown, so
/// denied everything but ping — even though a rule could match nobody there.
@Suite("Unknown peers", .serialized, .enabled(if: Paths.isRoot, "needs root to create users"))
struct UnknownPeerEndToEndTests {
    @Test func unmappedPeerIsUnknownAndGetsOnlyPing() throws {
        TestUsers.ensure
        let dir = Paths.makeTempDir("userns")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/pub", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.listeners.append(ListenerSettings(name: "ops.sock", path: dir + "/pub/ops.sock", mode: "0666"))
        config.localAuthorizationSettings.rules = [PolicyRule(uids: [0], roles: ["system_admin"]),
                                                   PolicyRule(gids: [0], roles: ["observer"])]
        let daemon = try DaemonProcess(
            dataDir: dir, config: config, launcher: [Paths.tool("unshare")!, "--user", "--map-root-user"])
        let curl = ["-s", "-w", "\n%{http_code}", "--unix-socket", dir + "/pub/ops.sock"]
        let ping = try Command.runAs(TestUsers.nobody, "/usr/bin/curl", curl + ["http://_/api/v4/system/ping"])
        #expect(ping.stdout.hasSuffix("\n200"))
        let busy = try Command.runAs(TestUsers.nobody, "/usr/bin/curl", curl + ["http://_/api/v4/server_busy"])
        #expect(busy.stdout.hasSuffix("\n403"))
        #expect(busy.stdout.contains("uid=unknown"))
        #expect(!daemon.logLines(containing: "access denied", "peer_uid=\"65534\"", "reason=\"unknown peer identity\"").isEmpty)
        // Root outside maps to root inside: still the admin.
        #expect(try UnixHTTP.post(dir + "/pub/ops.sock", "/api/v4/server_busy?seconds=5").status == 200)
    }
}
