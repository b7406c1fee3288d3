import Foundation
import PostgresTestSupport
import StewardModel
import Testing

/// A PostgreSQL server restarted in the middle of a job and in the middle of a config migrate,
/// each on a cluster of the test's own. The moment is made certain, not timed: another session
/// holds a lock the job's or the migrate's statement waits for, and the restart (a fast shutdown,
/// which ends every session) comes once PostgreSQL shows that statement waiting.
@Suite("PostgreSQL restarts end to end", .serialized,
       .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct PostgresRestartEndToEndTests {
    let dir = Paths.makeTempDir("pgrestart")

    func waitingOnALock(_ cluster: PostgresTestCluster, _ db: String, query prefix: String) -> Bool {
        eventually(timeout: 30) {
            (try? cluster.psql(db, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '\(prefix)%'")) == "1"
        }
    }

    /// Migrates a file config with `MaximumURLLength` set into `dsn`, as `mmctl --local config migrate` does.
    static func migrate(_ socket: String, _ dir: String, _ dsn: String, urlLength: Int) throws -> HTTPResult {
        var file = DaemonProcess.config(dataDir: dir + "/other")
        file.serviceSettings.maximumURLLength = urlLength
        try JSONEncoder().encode(file).write(to: URL(fileURLWithPath: dir + "/other.json"))
        let body = try JSONSerialization.data(withJSONObject: ["from": "other.json", "to": dsn])
        return try UnixHTTP.post(socket, "/api/v4/config/migrate", body: String(decoding: body, as: UTF8.self))
    }

    /// Holds `table` locked in `mode` (`ACCESS EXCLUSIVE`: nothing reads or writes it; `EXCLUSIVE`:
    /// reads go on, writes wait) until the returned process ends.
    func holdLock(_ cluster: PostgresTestCluster, _ db: String, table: String, mode: String = "ACCESS EXCLUSIVE") throws -> Process {
        let holder = try cluster.hold(db, "BEGIN; LOCK TABLE \(table) IN \(mode) MODE; SELECT pg_sleep(3600)")
        let lockName = mode.split(separator: " ").map { $0.prefix(1) + $0.dropFirst().lowercased() }.joined() + "Lock"
        let held = eventually(timeout: 30) {
            (try? cluster.psql(db, "SELECT count(*) FROM pg_locks WHERE relation = '\(table)'::regclass AND mode = '\(lockName)' AND granted")) == "1"
        }
        #expect(held, "the lock on \(table) is held")
        return holder
    }

    /// The worker's connection is ended under it, and the server is still down when the engine
    /// records the end: the job must still end (in `error`, once the server is back), not stay
    /// `in_progress` until the daemon restarts; and the engine runs the next job.
    @Test func aRestartMidJobEndsTheJobAndTheEngineGoesOn() throws {
        let cluster = try PostgresTestCluster.makePrivate()
        defer { cluster.stopAndRemove() }
        try cluster.psql("postgres", "CREATE DATABASE mm")
        try cluster.psql("mm", "CREATE TABLE zz_posts (id varchar(26) PRIMARY KEY); INSERT INTO zz_posts SELECT 'p' || g FROM generate_series(1, 100) g")
        var config = DaemonProcess.config(dataDir: dir)
        config.sqlSettings.driverName = "postgres"
        config.sqlSettings.dataSource = cluster.dsn(database: "mm")
        config.jobSettings.runJobs = true
        config.jobSettings.directory = dir + "/jobs"
        let daemon = try DaemonProcess(dataDir: dir, config: config)

        let holder = try holdLock(cluster, "mm", table: "zz_posts")
        defer { holder.terminate() }
        let created = try UnixHTTP.post(daemon.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#)
        let id = try #require(created.json()["id"] as? String, "\(created.text)")
        #expect(waitingOnALock(cluster, "mm", query: "VACUUM"), "db_optimize waits for the lock on zz_posts")
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/jobs/\(id)").json()["status"] as? String == "in_progress")
        // The job's end cannot be written before the server is down: writes to Jobs wait (on a
        // loaded machine the engine could otherwise record it between the worker's connection
        // ending and the server's).
        let jobsHolder = try holdLock(cluster, "mm", table: "Jobs", mode: "EXCLUSIVE")
        defer { jobsHolder.terminate() }

        cluster.stop()
        #expect(eventually(timeout: 90) { daemon.log.contains("could not record a job's end") }, "the end was first written while the server was down: \(daemon.log.suffix(2000))")
        try cluster.start()

        var job: [String: Any] = [:]
        let ended = eventually(timeout: 60) {
            job = (try? UnixHTTP.get(daemon.socket, "/api/v4/jobs/\(id)").json()) ?? [:]
            return job["status"] as? String == "error"
        }
        #expect(ended, "the job ends once the server is back, without a daemon restart: \(job)")
        let reason = (job["data"] as? [String: String])?["error"] ?? ""
        #expect(!reason.isEmpty && !reason.contains(PostgresTestCluster.superuserPassword), "\(job)")
        #expect(try cluster.psql("mm", "SELECT count(*) FROM JobLogs WHERE JobId = '\(id)' AND Level = 'error'") == "1", "the error is in the job's log once")

        let next = try UnixHTTP.post(daemon.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#)
        // Pooled connections the restart ended are dropped before use, not found dead by this request.
        #expect(next.status == 201, "\(next.text)")
        let nextID = try #require(next.json()["id"] as? String, "\(next.text)")
        let status = jobStatus(daemon.socket, nextID, becomes: "success", timeout: 60)
        #expect(status == "success", "the engine goes on after the restart")
        #expect(try cluster.psql("mm", "SELECT count(*) FROM Jobs WHERE Status = 'in_progress'") == "0")
    }

    /// A migrate into the database store whose write is cut by a restart: an error for the
    /// caller, and the database keeps the config it had (one active row, the old one) — then the
    /// same migrate succeeds.
    @Test func aRestartMidMigrateLeavesTheOldConfig() throws {
        let cluster = try PostgresTestCluster.makePrivate()
        defer { cluster.stopAndRemove() }
        try cluster.psql("postgres", "CREATE DATABASE mm")
        let dsn = cluster.dsn(database: "mm")
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let socket = daemon.socket
        func activeURLLength() throws -> String {
            try cluster.psql("mm", "SELECT string_agg(Value::json->'ServiceSettings'->>'MaximumURLLength', ',') FROM Configurations WHERE Active")
        }
        #expect(try Self.migrate(socket, dir, dsn, urlLength: 4000).status == 200)
        #expect(try activeURLLength() == "4000")

        let holder = try holdLock(cluster, "mm", table: "configurations")
        defer { holder.terminate() }
        let answer = Locked<HTTPResult?>(nil)
        let dir = self.dir
        let migrating = Thread {
            let result = try? Self.migrate(socket, dir, dsn, urlLength: 5000)
            answer.withLock { $0 = result }
        }
        migrating.start()
        #expect(waitingOnALock(cluster, "mm", query: ""), "the migrate waits for the lock on Configurations")
        cluster.stop()
        try cluster.start()

        #expect(eventually(timeout: 60) { answer.withLock { $0 } != nil }, "the migrate answers")
        let cut = try #require(answer.withLock { $0 })
        #expect(cut.status >= 500 && cut.json()["id"] as? String == "api.config.migrate_config.app_error", "\(cut.status) \(cut.text)")
        #expect(!cut.text.contains(PostgresTestCluster.superuserPassword), "\(cut.text)")
        #expect(try activeURLLength() == "4000", "the old config, and only it, is active")
        #expect(try cluster.psql("mm", "SELECT count(*) FROM Configurations") == "1", "no half-written row")

        let again = try Self.migrate(socket, dir, dsn, urlLength: 5000)
        #expect(again.status == 200, "\(again.text)")
        #expect(try activeURLLength() == "5000")
    }
}
