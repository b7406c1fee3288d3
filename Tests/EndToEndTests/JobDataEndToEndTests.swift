import Foundation
import StewardModel
import Testing

/// Job data is untrusted: whoever may create a job of a type sends it. Every key is checked against
/// the type's declared parameters before the job exists, so a value a worker could trap on (the
/// daemon ran as root and died of SIGILL on `step_delay_ms: -1`) or a key it never asked for (a
/// forged `file` naming another job's artifact) is a 400, and the daemon goes on.
@Suite("Job data", .serialized)
struct JobDataEndToEndTests {
    let dir = Paths.makeTempDir("jobdata")

    func post(_ d: DaemonProcess, _ body: String) throws -> HTTPResult {
        try UnixHTTP.post(d.socket, "/api/v4/jobs", body: body)
    }

    @Test func valuesOutOfRangeAndUnknownKeysAreRefusedAndNothingTraps() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let refused: [(String, String)] = [
            (#"{"type":"db_backup","data":{"step_delay_ms":"-1"}}"#, "step_delay_ms"),
            (#"{"type":"db_backup","data":{"step_delay_ms":"99999999999"}}"#, "step_delay_ms"),
            (#"{"type":"db_backup","data":{"step_delay_ms":"1e3"}}"#, "step_delay_ms"),
            (#"{"type":"data_retention","data":{"retention_days":"999999999999999"}}"#, "retention_days"),
            (#"{"type":"data_retention","data":{"retention_days":"0"}}"#, "retention_days"),
            (#"{"type":"db_optimize","data":{"vacuum":"yes"}}"#, "vacuum"),
            (#"{"type":"message_export","data":{"start_time":"-5","end_time":"10"}}"#, "start_time"),
            (#"{"type":"db_optimize","data":{"file":"db_backup/steward-1-x.db","is_downloadable":"true"}}"#, "file"),
        ]
        for (body, key) in refused {
            let r = try post(d, body)
            #expect(r.status == 400, "\(body): \(r.status) \(r.text)")
            #expect(r.json()["id"] as? String == "api.job.create.invalid_data.app_error", "\(body)")
            #expect((r.json()["message"] as? String)?.contains(key) == true, "the message names the key: \(r.text)")
        }
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs").text == "[]", "no job was created")
        // Values in range still make jobs, and the workers run them (the daemon is alive).
        let ok = try post(d, #"{"type":"db_backup","data":{"step_delay_ms":"0"}}"#)
        #expect(ok.status == 201, "\(ok.text)")
        let id = try #require(ok.json()["id"] as? String)
        #expect(eventually(timeout: 30) {
            (try? UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)"))?.json()["status"] as? String == "success"
        })
        #expect(try post(d, #"{"type":"data_retention","data":{"retention_days":"30"}}"#).status == 201)
        #expect(d.process.isRunning)
    }

    /// The range is in the message, so an operator knows what to send instead.
    @Test func theMessageSaysWhatIsAllowed() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let r = try post(d, #"{"type":"data_retention","data":{"retention_days":"0"}}"#)
        #expect(r.json()["message"] as? String == "The job's data is not valid: data.retention_days of a data_retention job must be an integer from 1 to 36500.")
        let unknown = try post(d, #"{"type":"db_backup","data":{"nope":"1"}}"#)
        #expect((unknown.json()["message"] as? String)?.contains("(accepted: step_delay_ms)") == true, "\(unknown.text)")
    }
}

/// A backup is the whole database: downloading one needs `download_backup`, which only
/// system_admin holds by default — observers and job operators read the job, not its file.
@Suite("Backup downloads", .serialized, .enabled(if: Paths.isRoot, "needs root to create users"))
struct BackupDownloadEndToEndTests {
    let dir = Paths.makeTempDir("backupdl")

    @Test func onlyAdministratorsDownloadBackups() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        TestUsers.ensure
        let (base, ops) = try DaemonProcess.configWithOpenListener(dataDir: dir)
        var config = base
        config.localAuthorizationSettings.rules.append(PolicyRule(users: [TestUsers.operatorUser], roles: ["job_operator"]))
        let d = try DaemonProcess(dataDir: dir, config: config)
        let created = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"db_backup"}"#)
        let id = try #require(created.json()["id"] as? String, "\(created.text)")
        #expect(eventually(timeout: 30) {
            (try? UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)"))?.json()["status"] as? String == "success"
        })
        func status(_ user: String, _ path: String) throws -> String {
            try Command.runAs(user, "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", ops, "http://_/api/v4" + path]).stdout
        }
        for user in [TestUsers.observer, TestUsers.operatorUser] {
            #expect(try status(user, "/jobs/\(id)") == "200", "\(user) reads the job")
            #expect(try status(user, "/jobs/\(id)/download") == "403", "\(user) does not get the database")
        }
        let mine = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)/download")
        #expect(mine.status == 200 && mine.body.starts(with: Array("SQLite format 3".utf8)), "root downloads it")
        let uid = try #require(TestUsers.uid(of: TestUsers.observer))
        #expect(!d.logLines(containing: "access denied", "peer_uid=\"\(uid)\"", "permission=\"download_backup\"").isEmpty)
    }
}
