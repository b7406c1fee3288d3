import Foundation
import StewardModel
import Testing

/// Every route against identities that hold nothing or little, with the requests an attacker
/// would send (job ids that do not exist, malformed bodies): the answer is the 403 the policy
/// implies, so a peer learns nothing — not which job ids exist, not whether its body parses —
/// before it is authorized.
@Suite("Authorization matrix", .serialized, .enabled(if: Paths.isRoot, "needs root to create users"))
struct AuthorizationMatrixEndToEndTests {
    let dir = Paths.makeTempDir("matrix")
    static let missingJob = "abcdefghijklmnopqrstuvwxyz"

    /// (method, path, body) of every route, aimed at what does not exist or does not parse.
    static let requests: [(String, String, String?)] = [
        ("GET", "/server_busy", nil), ("POST", "/server_busy?seconds=60", nil), ("DELETE", "/server_busy", nil),
        ("GET", "/config", nil), ("GET", "/config/environment", nil), ("POST", "/config/reload", nil),
        ("POST", "/config/migrate", "{not json"), ("POST", "/integrity", nil),
        ("GET", "/jobs", nil), ("POST", "/jobs", "{not json"), ("GET", "/jobs/\(missingJob)", nil),
        ("DELETE", "/jobs/\(missingJob)", nil), ("POST", "/jobs/\(missingJob)/cancel", nil),
        ("PATCH", "/jobs/\(missingJob)/status", "{not json"), ("GET", "/jobs/\(missingJob)/download", nil),
        ("GET", "/jobs/\(missingJob)/logs", nil), ("GET", "/jobs/type/db_backup", nil), ("GET", "/jobs/types", nil),
        ("POST", "/caches/invalidate", nil), ("POST", "/database/recycle", nil),
    ]

    /// What an observer (the `steward` group's role) may do: read the busy state and jobs.
    static func observerAllowed(_ method: String, _ path: String) -> Bool {
        (method == "GET" && path == "/server_busy") || (method == "GET" && path.hasPrefix("/jobs"))
    }

    func status(_ method: String, _ path: String, _ body: String?, as user: String, viaUserNamespace: Bool = false) throws -> String {
        var args = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", dir + "/pub/ops.sock", "-X", method]
        if let body { args += ["--data", body] }
        args.append("http://_/api/v4" + path)
        if viaUserNamespace {
            return try Command.runAs(user, Paths.tool("unshare")!, ["--user", "--map-root-user", "/usr/bin/curl"] + args).stdout
        }
        return try Command.runAs(user, "/usr/bin/curl", args).stdout
    }

    @Test func everyRouteAnswersWhatThePolicyImplies() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        TestUsers.ensure
        let (config, _) = try DaemonProcess.configWithOpenListener(dataDir: dir)
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        // A denial on a job route is an entry like any other (before, one whose lookup failed was
        // not). Checked first: past a few entries per interval, a peer's denials are summarised.
        #expect(try status("GET", "/jobs/\(Self.missingJob)", nil, as: TestUsers.nobody) == "403")
        let uid = try #require(TestUsers.uid(of: TestUsers.nobody))
        #expect(!daemon.logLines(containing: "access denied", "peer_uid=\"\(uid)\"", "route=\"GET /api/v4/jobs/{job_id}\"").isEmpty)

        var wrong: [String] = []
        for (method, path, body) in Self.requests {
            // Holding nothing: a plain user, and root of a user namespace that user made.
            for (label, userNS) in [("nobody", false), ("userns root", true)] {
                let got = try status(method, path, body, as: TestUsers.nobody, viaUserNamespace: userNS)
                if got != "403" { wrong.append("\(label) \(method) \(path): \(got), expected 403") }
            }
            let got = try status(method, path, body, as: TestUsers.observer)
            if Self.observerAllowed(method, path) {
                if got == "403" { wrong.append("observer \(method) \(path): 403, expected to be allowed") }
            } else if got != "403" {
                wrong.append("observer \(method) \(path): \(got), expected 403")
            }
        }
        #expect(wrong == [], "\(wrong.count) of \(Self.requests.count * 3) decisions differ from the policy")
    }
}
