import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The jobs API and its workers against the built stewardd, on real SQLite stores.
@Suite("Jobs end to end", .serialized)
struct JobsEndToEndTests {
    let dir = Paths.makeTempDir("jobs")

    func start(runJobs: Bool = true, extra: (inout StewardConfig) -> Void = { _ in }) throws -> DaemonProcess {
        var config = DaemonProcess.config(dataDir: dir)
        config.jobSettings.runJobs = runJobs
        extra(&config)
        return try DaemonProcess(dataDir: dir, config: config)
    }

    func create(_ d: DaemonProcess, _ type: String, data: [String: String] = [:]) throws -> Job {
        let r = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"\#(type)","data":\#(Job.dataJSON(data))}"#)
        guard r.status == 201 else { throw HTTPTestError(description: "create \(type): \(r.status) \(r.text)") }
        return try JSONDecoder().decode(Job.self, from: Data(r.body))
    }

    func job(_ d: DaemonProcess, _ id: String) throws -> Job {
        try JSONDecoder().decode(Job.self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)").body))
    }

    func waitFinished(_ d: DaemonProcess, _ id: String, timeout: TimeInterval = 20) throws -> Job {
        var last: Job?
        _ = try eventually(timeout: timeout) {
            last = try job(d, id)
            return last!.status.isFinished
        }
        return try #require(last)
    }

    /// Fills the store with about `megabytes` MB so a throttled backup takes a while.
    func fill(megabytes: Int) throws {
        let r = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE IF NOT EXISTS Filler (Id INTEGER PRIMARY KEY, Blob TEXT)")
            c.executemany("INSERT INTO Filler (Blob) VALUES (?)", [("x" * 1000,)] * (int(sys.argv[2]) * 1000)); c.commit()
            """, dir + "/steward.db", "\(megabytes)"])
        guard r.status == 0 else { throw HTTPTestError(description: r.stderr) }
    }

    @Test func createGetListInMattermostsShape() throws {
        let d = try start(runJobs: false)
        let created = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#)
        #expect(created.status == 201)
        #expect(created.text.hasSuffix("}\n"), "json.Encoder's trailing newline")
        let job = try JSONDecoder().decode(Job.self, from: Data(created.body))
        #expect(NewID.isValid(job.id) && job.status == .pending && job.startAt == 0 && job.data.isEmpty)
        #expect(created.text.contains(#""data":{}"#))
        let got = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)")
        #expect(got.status == 200 && got.body == created.body)

        usleep(2000)
        let second = try create(d, "integrity_check", data: ["full": "true"])
        let list = try JSONDecoder().decode([Job].self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs").body))
        #expect(list.map(\.id) == [second.id, job.id], "newest first")
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs?per_page=0").text == "[]")
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs?per_page=1&page=1").json().isEmpty)
        let page1 = try JSONDecoder().decode([Job].self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs?per_page=1&page=1").body))
        #expect(page1.map(\.id) == [job.id])
        for junk in ["per_page=-3", "per_page=abc", "page=-1", "page=x&per_page=300"] {
            let all = try JSONDecoder().decode([Job].self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs?\(junk)").body))
            #expect(all.count == 2, "\(junk)")
        }
        let byType = try JSONDecoder().decode([Job].self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs/type/integrity_check").body))
        #expect(byType.map(\.id) == [second.id])
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs?job_type=db_backup").text == "[]")
        let pending = try JSONDecoder().decode([Job].self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs?status=pending").body))
        #expect(pending.count == 2, "RunJobs=false keeps new jobs pending")
    }

    @Test func invalidInputAnswersMattermostsErrors() throws {
        let d = try start(runJobs: false)
        func expectError(_ r: HTTPResult, _ status: Int, _ id: String, _ note: String) {
            #expect(r.status == status, "\(note): \(r.text)")
            #expect(r.json()["id"] as? String == id, "\(note)")
        }
        expectError(try UnixHTTP.get(d.socket, "/api/v4/jobs/1234"), 400, "api.context.invalid_url_param.app_error", "short id")
        expectError(try UnixHTTP.get(d.socket, "/api/v4/jobs/" + NewID.make()), 404, "app.job.get.app_error", "unknown id")
        expectError(try UnixHTTP.get(d.socket, "/api/v4/jobs?status=running"), 400, "api.job.status.invalid", "bad status")
        expectError(try UnixHTTP.get(d.socket, "/api/v4/jobs?job_type=nope"), 400, "api.context.invalid_url_param.app_error", "bad type")
        expectError(try UnixHTTP.get(d.socket, "/api/v4/jobs/type/" + String(repeating: "t", count: 33)), 400, "api.context.invalid_url_param.app_error", "long type")
        expectError(try UnixHTTP.get(d.socket, "/api/v4/jobs/type/last_accessible_post"), 400, "api.job.retrieve.nopermissions", "no read mapping")
        expectError(try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"ldap_sync"}"#), 400, "model.job.is_valid.type.app_error", "no worker")
        expectError(try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"bogus"}"#), 400, "api.job.unable_to_create_job.incorrect_job_type", "unknown type")
        expectError(try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"data":{}}"#), 400, "api.context.invalid_body_param.app_error", "no type")
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs/").status == 404, "trailing slash")
    }

    /// A creation is one journal entry: the audit record, naming the job it created (journald's
    /// work per request was as much as the daemon's own with two).
    @Test func aCreationIsOneAuditEntryNamingTheJob() throws {
        let d = try start(runJobs: false)
        let job = try create(d, "db_optimize")
        let named = d.logLines(containing: "job_id=\"\(job.id)\"")
        #expect(named.count == 1, "\(named)")
        #expect(named.first.map {
            $0.contains("privileged action") && $0.contains("route=\"POST /api/v4/jobs\"") && $0.contains("job_type=\"db_optimize\"")
                && $0.contains("status=\"pending\"") && $0.contains("http_status=\"201\"")
        } == true, "\(named)")
    }

    @Test func statusTransitionsAndCancel() throws {
        let d = try start(runJobs: false)
        let a = try create(d, "db_optimize")
        func patch(_ id: String, _ body: String) throws -> HTTPResult {
            try UnixHTTP.request(d.socket, "PATCH", "/api/v4/jobs/\(id)/status", body: Array(body.utf8))
        }
        #expect(try patch(a.id, #"{"status":"cancel_requested"}"#).status == 200)
        #expect(try job(d, a.id).status == .canceled, "pending → cancel_requested becomes canceled")
        let refused = try patch(a.id, #"{"status":"pending"}"#)
        #expect(refused.status == 400 && refused.json()["id"] as? String == "api.job.status.invalid")
        #expect(try patch(a.id, #"{"status":"pending","force":true}"#).status == 200)
        #expect(try job(d, a.id).status == .pending)
        #expect(try patch(a.id, #"{"status":"bogus","force":true}"#).json()["id"] as? String == "app.job.update_status.app_error")
        #expect(try patch(a.id, #"{"force":true}"#).json()["id"] as? String == "api.context.invalid_body_param.app_error")

        let b = try create(d, "db_optimize")
        #expect(try UnixHTTP.post(d.socket, "/api/v4/jobs/\(b.id)/cancel").status == 200)
        #expect(try job(d, b.id).status == .canceled)
        let again = try UnixHTTP.post(d.socket, "/api/v4/jobs/\(b.id)/cancel")
        #expect(again.status == 500 && again.json()["id"] as? String == "jobs.request_cancellation.status.error")
        #expect(!d.logLines(containing: "job status changed", "job_id=\"\(b.id)\"", "status=\"canceled\"").isEmpty)
    }

    @Test func workersDoRealWorkAndFilesDownload() throws {
        try fill(megabytes: 2)  // a backup of several 256 KiB download chunks
        let d = try start()
        let backup = try waitFinished(d, try create(d, "db_backup").id)
        #expect(backup.status == .success && backup.progress == 100)
        #expect(backup.data["quick_check"] == "ok")
        let file = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(backup.id)/download")
        #expect(file.status == 200)
        #expect(file.headers["content-disposition"]?.hasPrefix("attachment;filename=\"db_backup-\(backup.createAt)-\(backup.id).db\"") == true)
        let copy = dir + "/restored.db"
        try Data(file.body).write(to: URL(fileURLWithPath: copy))
        #expect(Int(file.headers["content-length"] ?? "") == file.body.count && file.body.count > 2_000_000)
        let rows = try Command.run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('PRAGMA quick_check').fetchone()[0], c.execute('SELECT count(*) FROM Jobs').fetchone()[0], c.execute('SELECT count(*) FROM Filler').fetchone()[0])", copy])
        #expect(rows.stdout == "ok 1 2000\n", "the backup is a valid database with the store's rows")

        // The connection is reusable after a streamed file, even with the next request pipelined.
        let c = try UnixConnection(path: d.socket)
        try c.send("GET /api/v4/jobs/\(backup.id)/download HTTP/1.1\r\nHost: _\r\n\r\nGET /api/v4/system/ping HTTP/1.1\r\nHost: _\r\n\r\n")
        #expect(try c.readResponse().body == file.body)
        #expect(try c.readResponse().json()["status"] as? String == "OK")

        let optimize = try waitFinished(d, try create(d, "db_optimize", data: ["vacuum": "true"]).id)
        #expect(optimize.status == .success && optimize.data["vacuumed"] == "true")
        #expect(optimize.data["wal_after_bytes"] == "0")

        let logs = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(backup.id)/logs")
        let entries = try JSONDecoder().decode([JobLogEntry].self, from: Data(logs.body))
        #expect(entries.first?.idx == 0 && entries.contains { $0.msg == "backup written and verified" })
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(backup.id)/logs?offset=1&limit=1").text.hasPrefix(#"[{"idx":1,"#))

        let path = dir + "/steward-jobs/" + backup.data["file"]!
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try UnixHTTP.delete(d.socket, "/api/v4/jobs/\(backup.id)").status == 200)
        #expect(!FileManager.default.fileExists(atPath: path), "delete removes the job's file")
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(backup.id)").status == 404)
    }

    /// A client that stops reading a download and hangs up costs the daemon nothing: the write fails
    /// without a signal, the connection's place is given back, and shutdown finds nothing open.
    @Test func aClientThatHangsUpMidDownloadLeavesTheDaemonServing() throws {
        try fill(megabytes: 4)
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.maxConnectionsPerUid = 2
        let d = try DaemonProcess(dataDir: dir, config: config)
        let backup = try waitFinished(d, try create(d, "db_backup").id)
        #expect(backup.status == .success)
        // Four downloads abandoned one after another under a cap of two: each can only start if the
        // places of the abandoned ones came back.
        for n in 0..<4 {
            let started = eventually {
                guard let c = try? UnixConnection(path: d.socket),
                      (try? c.send("GET /api/v4/jobs/\(backup.id)/download HTTP/1.1\r\nHost: _\r\n\r\n")) != nil else { return false }
                var first = [UInt8](repeating: 0, count: 1024)
                let got = first.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
                return got > 0 && String(decoding: first.prefix(got), as: UTF8.self).hasPrefix("HTTP/1.1 200")
            }  // the connection is closed here, with megabytes still unsent
            #expect(started, "download \(n) started")
        }
        // The last abandoned one may still be closing: its place comes back once the daemon sees it go.
        var whole: HTTPResult?
        #expect(eventually {
            whole = try? UnixHTTP.get(d.socket, "/api/v4/jobs/\(backup.id)/download")
            return whole?.status == 200
        })
        #expect(whole.map { $0.body.count == Int($0.headers["content-length"] ?? "") && $0.body.count > 4_000_000 } == true)
        d.signal(SIGTERM)
        #expect(d.waitForExit() == 0)
        #expect(!d.log.contains("connections still open"))
    }

    /// A client that asks for a download and reads none of it holds its connection only until
    /// `WriteTimeoutSeconds` pass with nothing taken; then it is hung up on and its place comes back.
    @Test func aDownloadNobodyReadsIsHungUpOn() throws {
        try fill(megabytes: 4)
        var config = DaemonProcess.config(dataDir: dir)
        // A connection's place is given back just after its last answer is written, so a client's
        // next one-request connection may briefly count twice: two places keep the setup clear.
        config.serviceSettings.maxConnectionsPerUid = 2
        config.serviceSettings.writeTimeoutSeconds = 3
        let d = try DaemonProcess(dataDir: dir, config: config)
        let backup = try waitFinished(d, try create(d, "db_backup").id)
        #expect(backup.status == .success)
        var stalled: UnixConnection?
        #expect(eventually {
            guard let c = try? UnixConnection(path: d.socket, timeoutSeconds: 20),
                  (try? c.send("GET /api/v4/jobs/\(backup.id)/download HTTP/1.1\r\nHost: _\r\n\r\n")) != nil else { return false }
            var status = [UInt8](repeating: 0, count: 12)
            let n = status.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_WAITALL)) }
            stalled = c
            return n == 12 && String(decoding: status, as: UTF8.self) == "HTTP/1.1 200"
        }, "the download started (and is read no further)")
        var held: UnixConnection?
        #expect(eventually {
            guard let c = try? UnixConnection(path: d.socket),
                  (try? c.send("GET /api/v4/system/ping HTTP/1.1\r\nHost: _\r\n\r\n")) != nil,
                  (try? c.readResponse())?.status == 200 else { return false }
            held = c
            return true
        })
        #expect(held != nil)
        // The stalled download and the held connection fill the uid's two places.
        #expect(eventually { (try? UnixHTTP.get(d.socket, "/api/v4/system/ping").status) == 503 }, "the stalled download holds its place")
        #expect(eventually(timeout: 15) { (try? UnixHTTP.get(d.socket, "/api/v4/system/ping").status) == 200 },
                "hung up on after WriteTimeoutSeconds, which gives the place back")
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while let fd = stalled?.fd {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            total += n
        }
        #expect(total > 0 && total < 4_000_000, "what was sent before the hang-up, then end of file")
    }

    @Test func integrityCheckJobReportsOrphans() throws {
        let tools = Paths.packageRoot.appendingPathComponent("tools/mmdb/generate.py").path
        _ = try Command.run("/usr/bin/env", ["python3", tools, dir + "/steward.db", "--posts", "2000"])
        let d = try start()
        let done = try waitFinished(d, try create(d, "integrity_check").id)
        #expect(done.status == .warning, "orphans end the job in warning")
        #expect(done.data["orphans"] == "119" && done.data["page_check"] == "ok")
        let report = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(done.id)/download")
        #expect(report.headers["content-type"] == "application/json")
        #expect(report.text.contains(#""orphan_counts":{"#) && report.text.contains(#""foreign_key_violations":0"#))
    }

    @Test func cancelARunningJob() throws {
        try fill(megabytes: 8)
        let d = try start()
        let job = try create(d, "db_backup", data: ["step_delay_ms": "300"])
        #expect(try eventually { try self.job(d, job.id).status == .inProgress })
        #expect(try UnixHTTP.post(d.socket, "/api/v4/jobs/\(job.id)/cancel").status == 200)
        let done = try waitFinished(d, job.id, timeout: 10)
        #expect(done.status == .canceled)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/steward-jobs/db_backup")) ?? []
        #expect(leftovers.isEmpty, "a canceled backup leaves no partial file: \(leftovers)")
    }

    /// A running job is not put back to pending without force (the engine would start a second
    /// worker for it); with force its worker is cancelled first and the job runs again, once.
    @Test func aRunningJobRunsOnceEvenWhenForcedBackToPending() throws {
        try fill(megabytes: 8)
        let d = try start()
        let job = try create(d, "db_backup", data: ["step_delay_ms": "300"])
        #expect(try eventually { try self.job(d, job.id).status == .inProgress })
        func patch(_ body: String) throws -> HTTPResult {
            try UnixHTTP.request(d.socket, "PATCH", "/api/v4/jobs/\(job.id)/status", body: Array(body.utf8))
        }
        let refused = try patch(#"{"status":"pending"}"#)
        #expect(refused.status == 400 && refused.json()["id"] as? String == "api.job.status.invalid", "\(refused.text)")
        #expect(try patch(#"{"status":"pending","force":true}"#).status == 200)
        let done = try waitFinished(d, job.id, timeout: 60)
        #expect(done.status == .success)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/steward-jobs/db_backup")) ?? []
        #expect(files.filter { $0.contains(job.id) && $0.hasSuffix(".db") }.count == 1, "one backup of the job, from one writer at a time: \(files)")
        let logs = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)/logs").text
        #expect(logs.components(separatedBy: "backing up the store").count - 1 == 2, "cancelled once, then run again: \(logs)")
    }

    @Test func crashRecoveryLeavesNoJobStuck() throws {
        try fill(megabytes: 8)
        var d: DaemonProcess? = try start()
        let job = try create(d!, "db_backup", data: ["step_delay_ms": "300"])
        #expect(try eventually { try self.job(d!, job.id).status == .inProgress })
        kill(d!.process.processIdentifier, SIGKILL)
        d!.process.waitUntilExit()
        d = nil
        let restarted = try DaemonProcess(dataDir: dir)
        let after = try self.job(restarted, job.id)
        #expect(after.status == .error)
        #expect(after.data["error"]?.contains("interrupted") == true)
        #expect(!restarted.logLines(containing: "job status changed", "job_id=\"\(job.id)\"", "status=\"error\"").isEmpty)
        let check = try Command.run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA quick_check').fetchone()[0])", dir + "/steward.db"])
        #expect(check.stdout == "ok\n")
        let next = try waitFinished(restarted, try create(restarted, "db_backup").id)
        #expect(next.status == .success)
    }

    @Test func backupRunsWhileWritersContinueAndKeepsTheNewestN() throws {
        try fill(megabytes: 4)
        let d = try start { $0.jobSettings.backupsToKeep = 2 }
        let slow = try create(d, "db_backup", data: ["step_delay_ms": "100"])
        #expect(try eventually { try self.job(d, slow.id).status == .inProgress })
        // Writers keep going during the copy: these jobs are rows in the same store.
        var created: [String] = []
        for _ in 0..<20 { created.append(try create(d, "db_optimize").id) }
        let done = try waitFinished(d, slow.id, timeout: 20)
        #expect(done.status == .success && done.data["quick_check"] == "ok")
        for _ in 0..<2 { #expect(try waitFinished(d, try create(d, "db_backup").id).status == .success) }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/steward-jobs/db_backup").filter { $0.hasSuffix(".db") }
        #expect(files.count == 2, "BackupsToKeep=2 keeps the newest two: \(files)")
        #expect(!files.contains { $0.contains(slow.id) }, "the oldest was removed")
        for id in created { #expect(try waitFinished(d, id).status == .success) }
    }

    @Test func busyPausesNonCriticalJobs() throws {
        let d = try start()
        #expect(try UnixHTTP.post(d.socket, "/api/v4/server_busy?seconds=60").status == 200)
        let optimize = try create(d, "db_optimize")
        let backup = try create(d, "db_backup")
        #expect(try waitFinished(d, backup.id).status == .success, "critical jobs run while busy")
        usleep(300_000)
        #expect(try job(d, optimize.id).status == .pending, "non-critical jobs wait")
        #expect(try UnixHTTP.delete(d.socket, "/api/v4/server_busy").status == 200)
        #expect(try waitFinished(d, optimize.id).status == .success, "and start when busy clears")
    }

    @Test func cliCreatesWaitsAndReportsByExitCode() throws {
        let d = try start()
        let ok = try Command.stewardctl(["job", "create", "db_backup", "--wait"], socket: d.socket)
        #expect(ok.status == 0 && ok.stdout.contains("Status: success"))
        let id = try #require(ok.stdout.split(separator: "\n").first { $0.hasPrefix("ID: ") }.map { String($0.dropFirst(4)) })
        #expect(try Command.stewardctl(["job", "show", id, "--json"], socket: d.socket).stdout.contains("\"status\" : \"success\""))
        let list = try Command.stewardctl(["job", "list", "--type", "db_backup"], socket: d.socket)
        #expect(list.stdout.contains("ID: \(id)"))
        let out = dir + "/cli-backup.db"
        #expect(try Command.stewardctl(["job", "download", id, "-o", out], socket: d.socket).status == 0)
        #expect(FileManager.default.fileExists(atPath: out))
        #expect(try Command.stewardctl(["job", "logs", id], socket: d.socket).stdout.contains("backup written and verified"))
        let bad = try Command.stewardctl(["job", "create", "ldap_sync"], socket: d.socket)
        #expect(bad.status == 1 && bad.stderr.contains("Invalid job type."))
        #expect(try Command.stewardctl(["job", "list", "--type", "db_optimize"], socket: d.socket).stdout == "No jobs found\n")
    }

    @Test(.enabled(if: Paths.isRoot, "needs root to create users"))
    func permissionsPerIdentity() throws {
        TestUsers.ensure
        try FileManager.default.createDirectory(atPath: dir + "/pub", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let d = try start(runJobs: false) { c in
            c.serviceSettings.listeners.append(ListenerSettings(name: "ops.sock", path: dir + "/pub/ops.sock", mode: "0666"))
            c.localAuthorizationSettings.rules.append(PolicyRule(users: [TestUsers.operatorUser], roles: ["job_operator"]))
        }
        let job = try create(d, "db_optimize")
        func status(_ user: String, _ method: String, _ path: String, _ body: String? = nil) throws -> String {
            var args = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", dir + "/pub/ops.sock", "-X", method]
            if let body { args += ["--data", body] }
            return try Command.runAs(user, "/usr/bin/curl", args + ["http://_/api/v4" + path]).stdout
        }
        #expect(try status(TestUsers.observer, "GET", "/jobs") == "200")
        #expect(try status(TestUsers.observer, "GET", "/jobs/\(job.id)") == "200")
        #expect(try status(TestUsers.observer, "GET", "/jobs/\(job.id)/logs") == "200")
        #expect(try status(TestUsers.observer, "POST", "/jobs", #"{"type":"db_optimize"}"#) == "403")
        #expect(try status(TestUsers.observer, "POST", "/jobs/\(job.id)/cancel") == "403")
        #expect(try status(TestUsers.nobody, "GET", "/jobs") == "403")
        #expect(try status(TestUsers.nobody, "GET", "/jobs/\(job.id)") == "403")
        #expect(try status(TestUsers.operatorUser, "POST", "/jobs", #"{"type":"db_optimize"}"#) == "201")
        #expect(try status(TestUsers.operatorUser, "POST", "/jobs/\(job.id)/cancel") == "200")
        let uid = try #require(TestUsers.uid(of: TestUsers.observer))
        #expect(!d.logLines(containing: "access denied", "peer_uid=\"\(uid)\"", "permission=\"create_compliance_export_job|create_data_retention_job|manage_jobs\"", "route=\"POST /api/v4/jobs\"").isEmpty)
    }
}
