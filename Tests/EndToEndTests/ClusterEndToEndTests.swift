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

    /// A node on `database` of the shared test server (`on`: of a private one).
    func node(_ name: String, database: String, runJobs: Bool = true, on server: PostgresTestCluster? = nil) throws -> DaemonProcess {
        let home = dir + "/" + name
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        var c = DaemonProcess.config(dataDir: home)
        c.sqlSettings.driverName = "postgres"
        c.sqlSettings.dataSource = (server ?? cluster).dsn(database: database)
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
    @Test func eventsReachTheOtherNodes() throws {
        let db = try cluster.createDatabase()
        let a = try node("node-a", database: db, runJobs: false)
        let b = try node("node-b", database: db, runJobs: true)
        let c = try node("node-c", database: db, runJobs: false)

        #expect(try UnixHTTP.post(a.socket, "/api/v4/server_busy?seconds=600").status == 200)
        for other in [b, c] { #expect(eventually(timeout: 10) { busy(other) == true }, "busy set on node-a is seen on the others") }
        #expect(try UnixHTTP.delete(a.socket, "/api/v4/server_busy").status == 200)
        for other in [b, c] { #expect(eventually(timeout: 10) { busy(other) == false }, "and cleared") }

        let created = try UnixHTTP.post(a.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#)
        let id = try #require(created.json()["id"] as? String, "\(created.text)")
        let status = jobStatus(a.socket, id, becomes: "success", timeout: 10)
        #expect(status == "success", "node-b ran the job node-a created, woken by the event")
        #expect(try cluster.psql(db, "SELECT NodeName FROM StewardJobClaims WHERE JobId = '\(id)'") == "node-b")

        #expect(try UnixHTTP.post(a.socket, "/api/v4/caches/invalidate").status == 200)
        for other in [b, c] {
            #expect(eventually(timeout: 10) { other.log.split(separator: "\n").contains { $0.contains("cluster event") && $0.contains("inv_all_caches") } },
                    "\(other.log.suffix(1500))")
        }
    }

    /// A PostgreSQL restart cuts the listening connection: it is dialled again, and events sent
    /// after it reach the node.
    @Test func eventsFlowAgainAfterAServerRestart() throws {
        let own = try PostgresTestCluster.makePrivate()
        defer { own.stopAndRemove() }
        try own.psql("postgres", "CREATE DATABASE mm")
        let a = try node("node-a", database: "mm", on: own), b = try node("node-b", database: "mm", on: own)
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

    /// Three nodes running jobs on their own PostgreSQL server, 1000 jobs created on random nodes,
    /// the server restarted after the first 400: every job that was accepted ends, none is lost
    /// and none runs twice — one claim per job (the claims table counts them) and no worker log
    /// line written twice. A job whose worker the restart cut ends in `error`, once.
    @Test func eachOfAThousandJobsRunsOnceAcrossThreeNodesAndARestart() throws {
        let own = try PostgresTestCluster.makePrivate()
        defer { own.stopAndRemove() }
        try own.psql("postgres", "CREATE DATABASE mm")
        let nodes = try ["node-a", "node-b", "node-c"].map { try node($0, database: "mm", on: own) }
        var accepted: [String] = []
        var refused = 0
        for i in 0..<1000 {
            if i == 400 {
                own.stop()
                try own.start()
            }
            let socket = nodes.randomElement()!.socket
            // While the nodes dial the server again a creation is refused (503); the caller retries.
            var id: String?
            _ = eventually(timeout: 60) {
                guard let r = try? UnixHTTP.post(socket, "/api/v4/jobs", body: #"{"type":"integrity_check"}"#) else { return false }
                if r.status != 201 { refused += 1 }
                id = r.status == 201 ? (try? r.json())?["id"] as? String : nil
                return id != nil
            }
            accepted.append(try #require(id, "job \(i) was never accepted"))
        }
        var open = ""
        let done = eventually(timeout: 300) {
            open = (try? own.psql("mm", "SELECT count(*) FROM Jobs WHERE Status IN ('pending', 'in_progress')")) ?? "?"
            return open == "0"
        }
        #expect(done, "\(open) jobs not ended")
        #expect(try own.psql("mm", "SELECT count(*) FROM Jobs") == "1000", "every accepted job is there, and no other")
        #expect(try own.psql("mm", "SELECT count(*) FROM Jobs WHERE Status NOT IN ('success', 'error')") == "0")
        #expect(try own.psql("mm", "SELECT count(*) || ' ' || sum(Claims) FROM StewardJobClaims") == "1000 1000", "one claim per job")
        #expect(try own.psql("mm", "SELECT count(*) FROM (SELECT JobId, Msg FROM JobLogs GROUP BY JobId, Msg HAVING count(*) > 1) twice") == "0",
                "no worker wrote a log line twice")
        let perNode = try own.psql("mm", "SELECT string_agg(NodeName || '=' || n, ' ' ORDER BY NodeName) FROM (SELECT NodeName, count(*) n FROM StewardJobClaims GROUP BY NodeName) c")
        #expect(perNode.split(separator: " ").count == 3, "every node ran jobs: \(perNode)")
        print("1000 jobs over a restart: \(perNode); \(try own.psql("mm", "SELECT count(*) FROM Jobs WHERE Status = 'error'")) ended in error; \(refused) creations refused meanwhile")
        #expect(Set(accepted).count == 1000)
        for n in nodes {
            let resyncs = n.log.split(separator: "\n").filter { $0.contains("cluster event") && $0.contains("resync") }.count
            #expect(resyncs >= 2, "every node read everything again after reconnecting: \(n.log.suffix(1500))")
        }
    }

    /// The timers of three nodes fire at once: one job is created for the window, each caller is
    /// answered with it, and each `stewardctl --wait` reports its outcome.
    @Test func schedulesFireOncePerWindowAcrossThreeNodes() throws {
        let db = try cluster.createDatabase()
        let nodes = try [("node-a", true), ("node-b", false), ("node-c", false)].map { try node($0.0, database: db, runJobs: $0.1) }
        let results = Locked<[CommandResult]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            let r = (try? Command.stewardctl(["job", "create", "db_optimize", "--once-per", "24h", "--wait", "--json"], socket: nodes[i].socket))
                ?? CommandResult(status: -1, stdout: "", stderr: "did not run")
            results.withLock { $0.append(r) }
        }
        let all = results.withLock { $0 }
        #expect(all.allSatisfy { $0.status == 0 }, "\(all)")
        let ids = Set(all.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.stdout.utf8)) as? [String: Any])?["id"] as? String })
        #expect(ids.count == 1, "one job for all three: \(all.map(\.stdout))")
        #expect(all.filter { $0.stderr.contains("already created in this window") }.count == 2, "\(all.map(\.stderr))")
        #expect(try cluster.psql(db, "SELECT count(*) FROM Jobs WHERE Type = 'db_optimize'") == "1")
        #expect(try cluster.psql(db, "SELECT count(*) FROM Jobs WHERE Type = 'db_optimize' AND Status = 'success'") == "1")

        // Through the API: 200 and the window's job for a second call; without once_per, a new job.
        let again = try UnixHTTP.post(nodes[2].socket, "/api/v4/jobs?once_per=86400", body: #"{"type":"db_optimize"}"#)
        #expect(again.status == 200 && ids.contains(again.json()["id"] as? String ?? ""), "\(again.text)")
        #expect(try UnixHTTP.post(nodes[2].socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#).status == 201)
        for bad in ["0", "1w", "24H", "59s", "1h%00"] {
            let refused = try UnixHTTP.post(nodes[1].socket, "/api/v4/jobs?once_per=\(bad)", body: #"{"type":"db_optimize"}"#)
            #expect(refused.status == 400 && refused.text.contains("once_per"), "\(bad): \(refused.text)")
        }
        let typo = try Command.stewardctl(["job", "create", "db_optimize", "--once-per", "1 day"], socket: nodes[0].socket)
        #expect(typo.status == 64 && typo.stderr.contains("--once-per"), "\(typo)")
        #expect(try cluster.psql(db, "SELECT count(*) FROM Jobs WHERE Type = 'db_optimize'") == "2", "the refused calls created nothing")
    }

    /// Three nodes reading their config from the database store: a config migrated into it on
    /// one node is applied by all three — told by the event, not found by their slow poll.
    @Test func aConfigMigratedIntoTheDatabaseReachesEveryNode() throws {
        let db = try cluster.createDatabase()
        let dsn = cluster.dsn(database: db)
        let seed = try node("seed", database: db, runJobs: false)
        let shared = seed.dataDir
        var config = DaemonProcess.config(dataDir: shared)
        config.sqlSettings.driverName = "postgres"
        config.sqlSettings.dataSource = dsn
        config.jobSettings.runJobs = false
        // A node whose config is in the database takes a migrate's files from here only.
        config.serviceSettings.configMigrateDirectories = [shared]
        func write(_ c: StewardConfig) throws { try JSONEncoder().encode(c).write(to: URL(fileURLWithPath: shared + "/cluster.json")) }
        try write(config)
        let first = try Command.stewardctl(["config", "migrate", shared + "/cluster.json", dsn], socket: seed.socket)
        #expect(first.status == 0, "\(first.stderr)")
        // One config for all; each node's own socket and name come from its environment.
        let nodes = try ["node-a", "node-b", "node-c"].map { name -> DaemonProcess in
            let home = dir + "/" + name
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let listener = #"[{"Name":"steward.sock","Path":"\#(home)/steward.sock","Mode":"0600","Group":""}]"#
            return try DaemonProcess(dataDir: home, environment: ["STEWARD_SERVICESETTINGS_LISTENERS": listener, "STEWARD_CLUSTERSETTINGS_NODENAME": name],
                                     configArgument: dsn)
        }
        func urlLimit(_ d: DaemonProcess) -> Int? {
            (try? JSONDecoder().decode(StewardConfig.self, from: Data(UnixHTTP.get(d.socket, "/api/v4/config").body)))?.serviceSettings.maximumURLLength
        }
        #expect(nodes.allSatisfy { urlLimit($0) == config.serviceSettings.maximumURLLength })

        config.serviceSettings.maximumURLLength = 3000
        try write(config)
        let migrated = try Command.stewardctl(["config", "migrate", shared + "/cluster.json", dsn], socket: nodes[0].socket)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        for n in nodes {
            #expect(eventually(timeout: 20) { urlLimit(n) == 3000 }, "\(n.log.suffix(1500))")
        }
        func appliedOnEvent(_ d: DaemonProcess) -> Bool {
            d.log.split(separator: "\n").contains { $0.contains("the configuration in the database store changed") && $0.contains("config_changed") }
        }
        for n in nodes[1...] { #expect(appliedOnEvent(n), "\(n.log.suffix(1500))") }
        #expect(!appliedOnEvent(nodes[0]), "the migrating node applied it at once; its own event found nothing new")
    }

    /// A claim committed whose answer the node never got (its connection broke) is put back by
    /// that node once a lease has passed, and runs.
    @Test func aClaimWhoseAnswerWasLostRunsAfterAll() throws {
        let db = try cluster.createDatabase()
        let a = try node("node-a", database: db, runJobs: true)
        // What a lost answer leaves: the job in_progress, claimed by node-a, no worker on node-a.
        let id = "lostclaim" + String(repeating: "0", count: 17)
        try cluster.psql(db, """
            INSERT INTO Jobs (Id, Type, Priority, CreateAt, StartAt, LastActivityAt, Status, Progress, Data)
            VALUES ('\(id)', 'db_optimize', 0, 1, 1, 1, 'in_progress', 0, '{}');
            INSERT INTO StewardJobClaims (JobId, NodeName, ClaimedAt) VALUES ('\(id)', 'node-a', (extract(epoch FROM now()) * 1000)::bigint)
            """)
        let status = jobStatus(a.socket, id, becomes: "success", timeout: 60)
        #expect(status == "success", "\(a.log.suffix(1500))")
        #expect(a.log.contains("the claim's answer was lost"))
        #expect(try cluster.psql(db, "SELECT Claims FROM StewardJobClaims WHERE JobId = '\(id)'") == "2", "claimed once more, by node-a")
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

/// On SQLite there is one node: a `NodeName` only names it (the daemon says so), the nodes list is
/// that node, and a schedule window holds as on PostgreSQL.
@Suite("Single node (SQLite)") struct SingleNodeEndToEndTests {
    @Test func aNodeNameOnSQLiteOnlyNamesTheNode() throws {
        let dir = Paths.makeTempDir("single-node")
        var c = DaemonProcess.config(dataDir: dir)
        c.clusterSettings.nodeName = "solo"
        let daemon = try DaemonProcess(dataDir: dir, config: c)
        #expect(daemon.log.contains("the SQLite store serves one node"), "\(daemon.log)")
        let list = try JSONSerialization.jsonObject(with: Data(UnixHTTP.get(daemon.socket, "/api/v4/cluster/status").body)) as? [[String: Any]] ?? []
        #expect(list.map { $0["id"] as? String } == ["solo"])

        let first = try UnixHTTP.post(daemon.socket, "/api/v4/jobs?once_per=1h", body: #"{"type":"db_optimize"}"#)
        let second = try UnixHTTP.post(daemon.socket, "/api/v4/jobs?once_per=3600", body: #"{"type":"db_optimize"}"#)
        #expect(first.status == 201 && second.status == 200, "\(first.text) \(second.text)")
        #expect(try first.json()["id"] as? String == second.json()["id"] as? String)
    }
}
