import Foundation
import PostgresTestSupport
import StewardModel
import Testing

/// Several stewardd on one PostgreSQL database: each sees the others in `GET /cluster/status`; a
/// starting node leaves a live node's running job alone; a node killed while running a job has
/// it ended by a live one once its lease runs out, the message naming it.
@Suite("Cluster end to end", .serialized,
       .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct ClusterEndToEndTests {
    let dir = Paths.makeTempDir("cluster")
    var cluster: PostgresTestCluster { PostgresTestCluster.shared! }

    func node(_ name: String, database: String, runJobs: Bool) throws -> DaemonProcess {
        let home = dir + "/" + name
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        var c = DaemonProcess.config(dataDir: home)
        c.sqlSettings.driverName = "postgres"
        c.sqlSettings.dataSource = cluster.dsn(database: database)
        c.jobSettings.runJobs = runJobs
        c.jobSettings.directory = home + "/jobs"
        c.clusterSettings.nodeName = name
        return try DaemonProcess(dataDir: home, config: c)
    }

    func nodes(_ daemon: DaemonProcess) throws -> [(id: String, alive: Bool)] {
        let answer = try UnixHTTP.get(daemon.socket, "/api/v4/cluster/status")
        let list = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]] ?? []
        return list.map { ($0["id"] as? String ?? "", $0["alive"] as? Bool ?? false) }
    }

    @Test func nodesOnOneDatabaseSeeEachOther() throws {
        let db = try cluster.createDatabase()
        let a = try node("node-a", database: db, runJobs: false)
        var b: DaemonProcess? = try node("node-b", database: db, runJobs: false)
        for daemon in [a, b!] {
            let seen = try nodes(daemon)
            #expect(seen.map(\.id) == ["node-a", "node-b"] && seen.allSatisfy(\.alive), "\(seen)")
        }
        let raw = try UnixHTTP.get(a.socket, "/api/v4/cluster/status")
        let answer = try JSONSerialization.jsonObject(with: Data(raw.body)) as? [[String: Any]] ?? []
        #expect(answer.first?["version"] as? String == StewardVersion.version && answer.first?["hostname"] as? String != "")
        let cli = try Command.stewardctl(["cluster", "status"], socket: a.socket)
        #expect(cli.status == 0 && cli.stdout.contains("node-a  alive") && cli.stdout.contains("node-b  alive"), "\(cli.stdout) \(cli.stderr)")
        // A node that stops cleanly leaves the list.
        b!.signal(SIGTERM)
        #expect(b!.waitForExit() == 0)
        b = nil
        #expect(try nodes(a).map(\.id) == ["node-a"])
    }

    /// A table locked by another session (which sleeps, holding it), and `node` running a
    /// `db_optimize` whose VACUUM waits for it; the job's id. The lock goes with `unlock`.
    func jobWaitingOnALock(_ db: String, table: String, on node: DaemonProcess) throws -> (id: String, holder: Process) {
        try cluster.psql(db, "CREATE TABLE \(table) (id varchar(26) PRIMARY KEY)")
        let holder = try cluster.hold(db, "BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3600)")
        #expect(eventually(timeout: 30) {
            (try? cluster.psql(db, "SELECT count(*) FROM pg_locks WHERE relation = '\(table)'::regclass AND granted")) == "1"
        })
        let created = try UnixHTTP.post(node.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#)
        let id = try #require(created.json()["id"] as? String, "\(created.text)")
        #expect(eventually(timeout: 30) {
            (try? cluster.psql(db, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'VACUUM%'")) == "1"
        }, "the job's VACUUM waits for the lock on \(table)")
        return (id, holder)
    }

    /// Ends the locking session: it sleeps and would not notice its client go.
    func unlock(_ db: String, _ holder: Process) throws {
        holder.terminate()
        try cluster.psql(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()")
    }

    func busy(_ daemon: DaemonProcess) -> Bool? {
        (try? UnixHTTP.get(daemon.socket, "/api/v4/server_busy").json())?["busy"] as? Bool
    }

    /// Busy set and cleared, a job created and caches invalidated on one node reach the other
    /// through NOTIFY. The job shows it: nodes otherwise look for pending jobs every 30 s only.
    @Test func eventsReachTheOtherNode() throws {
        let db = try cluster.createDatabase()
        let a = try node("node-a", database: db, runJobs: false)
        let b = try node("node-b", database: db, runJobs: true)

        #expect(try UnixHTTP.post(a.socket, "/api/v4/server_busy?seconds=600").status == 200)
        #expect(eventually(timeout: 10) { busy(b) == true }, "busy set on node-a is seen on node-b")
        #expect(try UnixHTTP.delete(a.socket, "/api/v4/server_busy").status == 200)
        #expect(eventually(timeout: 10) { busy(b) == false }, "and cleared")

        let created = try UnixHTTP.post(a.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#)
        let id = try #require(created.json()["id"] as? String, "\(created.text)")
        let status = jobStatus(a.socket, id, becomes: "success", timeout: 10)
        #expect(status == "success", "node-b ran the job node-a created, woken by the event")
        #expect(try cluster.psql(db, "SELECT NodeName FROM StewardJobClaims WHERE JobId = '\(id)'") == "node-b")

        #expect(try UnixHTTP.post(a.socket, "/api/v4/caches/invalidate").status == 200)
        #expect(eventually(timeout: 10) { b.log.split(separator: "\n").contains { $0.contains("cluster event") && $0.contains("inv_all_caches") } }, "\(b.log.suffix(1500))")
    }

    /// A PostgreSQL restart cuts the listening connection: it is dialled again, and events sent
    /// after it reach the node.
    @Test func eventsFlowAgainAfterAServerRestart() throws {
        let own = try PostgresTestCluster.makePrivate()
        defer { own.stopAndRemove() }
        try own.psql("postgres", "CREATE DATABASE mm")
        func on(_ name: String) throws -> DaemonProcess {
            let home = dir + "/" + name
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            var c = DaemonProcess.config(dataDir: home)
            c.sqlSettings.driverName = "postgres"
            c.sqlSettings.dataSource = own.dsn(database: "mm")
            c.jobSettings.directory = home + "/jobs"
            c.clusterSettings.nodeName = name
            return try DaemonProcess(dataDir: home, config: c)
        }
        let a = try on("node-a"), b = try on("node-b")
        func resyncs() -> Int { b.log.split(separator: "\n").filter { $0.contains("cluster event") && $0.contains("resync") }.count }
        #expect(eventually(timeout: 30) { resyncs() == 1 }, "node-b read everything again once it listened")
        own.stop()
        try own.start()
        #expect(eventually(timeout: 30) { resyncs() == 2 }, "and again after reconnecting: \(b.log.suffix(1500))")
        var answered = 0
        _ = eventually(timeout: 30) {
            answered = (try? UnixHTTP.post(a.socket, "/api/v4/server_busy?seconds=600").status) ?? 0
            return answered == 200
        }
        #expect(answered == 200)
        #expect(eventually(timeout: 10) { busy(b) == true }, "an event after the restart reaches node-b")
    }

    /// Three nodes running jobs, 150 created on random nodes: each runs exactly once — one claim
    /// per job (the claims table counts them), no worker log line written twice, every job ended.
    @Test func eachJobRunsExactlyOnceAcrossThreeNodes() throws {
        let db = try cluster.createDatabase()
        let nodes = try ["node-a", "node-b", "node-c"].map { try node($0, database: db, runJobs: true) }
        var ids: [String] = []
        for i in 0..<150 {
            let created = try UnixHTTP.post(nodes[(i * 7 + i / 3) % 3].socket, "/api/v4/jobs", body: #"{"type":"integrity_check"}"#)
            ids.append(try #require(created.json()["id"] as? String, "\(created.text)"))
        }
        var open = ""
        let done = eventually(timeout: 180) {
            open = (try? cluster.psql(db, "SELECT count(*) FROM Jobs WHERE Status IN ('pending', 'in_progress')")) ?? "?"
            return open == "0"
        }
        #expect(done, "\(open) jobs not ended")
        #expect(try cluster.psql(db, "SELECT count(*) FROM Jobs WHERE Status = 'success'") == "150")
        #expect(try cluster.psql(db, "SELECT count(*) || ' ' || sum(Claims) FROM StewardJobClaims") == "150 150", "one claim per job")
        #expect(try cluster.psql(db, "SELECT count(*) FROM (SELECT JobId, Msg FROM JobLogs GROUP BY JobId, Msg HAVING count(*) > 1) twice") == "0",
                "no worker wrote a log line twice")
    }

    /// A cancel made on another node reaches the node running the job: its worker stops at the
    /// next table instead of vacuuming them all.
    @Test func aCancelOnAnotherNodeStopsTheWorker() throws {
        let db = try cluster.createDatabase()
        let a = try node("node-a", database: db, runJobs: true)
        let b = try node("node-b", database: db, runJobs: false)
        // Sorted first of the tables db_optimize vacuums, so the job waits on it at once.
        let (id, holder) = try jobWaitingOnALock(db, table: "aa_posts", on: a)
        defer { holder.terminate() }

        #expect(try UnixHTTP.post(b.socket, "/api/v4/jobs/\(id)/cancel").status == 200)
        #expect(eventually(timeout: 30) { a.log.contains("job changed on another node; stopping its worker") }, "\(a.log.suffix(1500))")
        try unlock(db, holder)
        let status = jobStatus(b.socket, id, becomes: "canceled", timeout: 30)
        #expect(status == "canceled")
        #expect(try cluster.psql(db, "SELECT count(*) FROM JobLogs WHERE JobId = '\(id)' AND Msg LIKE 'optimized:%'") == "0",
                "the worker stopped after the first table")
    }

    @Test func aKilledNodesRunningJobIsEndedByALiveNode() throws {
        let db = try cluster.createDatabase()
        let a = try node("node-a", database: db, runJobs: true)
        let (id, holder) = try jobWaitingOnALock(db, table: "zz_posts", on: a)
        defer { try? unlock(db, holder) }
        #expect(try cluster.psql(db, "SELECT NodeName FROM StewardJobClaims WHERE JobId = '\(id)'") == "node-a")

        // A node starting meanwhile recovers interrupted jobs, but not a live node's.
        let b = try node("node-b", database: db, runJobs: false)
        #expect(try UnixHTTP.get(b.socket, "/api/v4/jobs/\(id)").json()["status"] as? String == "in_progress")

        a.signal(SIGKILL)
        _ = a.waitForExit()
        var job: [String: Any] = [:]
        let ended = eventually(timeout: 60) {
            job = (try? UnixHTTP.get(b.socket, "/api/v4/jobs/\(id)").json()) ?? [:]
            return job["status"] as? String == "error"
        }
        #expect(ended, "node-b ends the dead node's job after its lease: \(job)")
        let reason = (job["data"] as? [String: String])?["error"] ?? ""
        #expect(reason.contains("node-a"), "\(job)")
        #expect(try nodes(b).first { $0.id == "node-a" }?.alive == false)
    }
}
