import Foundation
import PostgresTestSupport
import StewardModel
import Testing

/// stewardd with `SqlSettings.DriverName` `postgres`, against a real PostgreSQL server: the busy
/// state and jobs live in the database (the same HTTP calls mmctl makes), and a server stopped
/// meanwhile makes store requests answer 503 at once while the rest keeps working.
@Suite("PostgreSQL store end to end", .serialized,
       .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct PostgresStoreEndToEndTests {
    let dir = Paths.makeTempDir("pgstore")

    func config(_ dsn: String, runJobs: Bool = false) -> StewardConfig {
        var c = DaemonProcess.config(dataDir: dir)
        c.sqlSettings.driverName = "postgres"
        c.sqlSettings.dataSource = dsn
        c.jobSettings.runJobs = runJobs
        // No store directory on PostgreSQL: job files go where the config says.
        c.jobSettings.directory = dir + "/jobs"
        return c
    }

    @Test func busyAndJobsLiveInPostgreSQL() throws {
        let cluster = PostgresTestCluster.shared!
        let db = try cluster.createDatabase()
        var daemon: DaemonProcess? = try DaemonProcess(dataDir: dir, config: config(cluster.dsn(database: db)))
        let socket = daemon!.socket
        #expect(try UnixHTTP.post(socket, "/api/v4/server_busy?seconds=600").status == 200)
        let created = try UnixHTTP.post(socket, "/api/v4/jobs", body: #"{"type":"db_optimize","data":{"vacuum":"true"}}"#)
        #expect(created.status == 201, "\(created.text)")
        let job = try JSONDecoder().decode(Job.self, from: Data(created.body))
        #expect(try cluster.psql(db, "SELECT Status || ' ' || (Data->>'vacuum') FROM Jobs WHERE Id = '\(job.id)'") == "pending true")
        #expect(try cluster.psql(db, "SELECT count(*) FROM ServerBusy") == "1")
        #expect(try cluster.psql(db, "SELECT count(*) FROM StewardMigrations") == "5")

        let got = try UnixHTTP.get(socket, "/api/v4/jobs/\(job.id)")
        #expect(got.status == 200 && got.body == created.body, "\(got.text)")
        let list = try UnixHTTP.get(socket, "/api/v4/jobs?per_page=10")
        #expect(list.status == 200 && list.text.contains(job.id))
        #expect(try UnixHTTP.get(socket, "/api/v4/jobs/\(NewID.make())").status == 404)
        #expect(try UnixHTTP.post(socket, "/api/v4/jobs/\(job.id)/cancel").status == 200)
        #expect(try cluster.psql(db, "SELECT Status FROM Jobs WHERE Id = '\(job.id)'") == "canceled")
        #expect(!daemon!.log.contains(PostgresTestCluster.superuserPassword), "the DSN's password never reaches the log")
        // Recycle reconnects; the ping's database status reads through the store.
        #expect(try UnixHTTP.post(socket, "/api/v4/database/recycle").status == 200)
        #expect(try UnixHTTP.get(socket, "/api/v4/jobs/\(job.id)").status == 200)
        #expect(try UnixHTTP.get(socket, "/api/v4/system/ping?get_server_status=true").json()["database_status"] as? String == "OK")

        // A restart keeps the busy state: it is read back from the database.
        daemon!.signal(SIGTERM)
        #expect(daemon!.waitForExit() == 0)
        daemon = nil
        let again = try DaemonProcess(dataDir: dir, config: config(cluster.dsn(database: db)))
        let busy = try UnixHTTP.get(again.socket, "/api/v4/server_busy")
        #expect(busy.json()["busy"] as? Bool == true, "\(busy.text)")
        // Integrity on PostgreSQL: Mattermost's 41 results (its tables are absent here: no records),
        // then Steward's own JobLogs → Jobs, whose tables are there.
        let integrity = try UnixHTTP.post(again.socket, "/api/v4/integrity")
        #expect(integrity.status == 200, "\(integrity.text)")
        let results = try JSONSerialization.jsonObject(with: Data(integrity.body)) as? [[String: Any]] ?? []
        #expect(results.count == 42 && results.allSatisfy { $0["err"] == nil || $0["err"] is NSNull }, "\(integrity.text.prefix(500))")
    }

    /// The job engine on PostgreSQL: `db_optimize` vacuums and analyzes every table; a worker
    /// that needs SQLite itself ends in `error`, saying so.
    @Test func workersRunOnPostgreSQL() throws {
        let cluster = PostgresTestCluster.shared!
        let db = try cluster.createDatabase()
        let daemon = try DaemonProcess(dataDir: dir, config: config(cluster.dsn(database: db), runJobs: true))
        func run(_ type: String, data: String = "{}") throws -> [String: Any] {
            let created = try UnixHTTP.post(daemon.socket, "/api/v4/jobs", body: #"{"type":"\#(type)","data":\#(data)}"#)
            let id = try #require(created.json()["id"] as? String, "\(created.text)")
            var last: [String: Any] = [:]
            _ = try eventually(timeout: 60) {
                last = try UnixHTTP.get(daemon.socket, "/api/v4/jobs/\(id)").json()
                return ["success", "error", "warning", "canceled"].contains(last["status"] as? String ?? "")
            }
            return last
        }
        let optimized = try run("db_optimize")
        #expect(optimized["status"] as? String == "success", "\(optimized)")
        let data = optimized["data"] as? [String: String] ?? [:]
        #expect(Int(data["tables"] ?? "") ?? 0 >= 4, "\(data)")
        #expect(try cluster.psql(db, "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL") != "0")
        let integrity = try run("integrity_check")
        #expect(integrity["status"] as? String == "success", "\(integrity)")
        #expect((integrity["data"] as? [String: String])?["page_check"] == "not applicable (PostgreSQL)", "\(integrity)")
        // db_backup: pg_dump's custom format, checked with pg_restore --list, downloadable.
        let backup = try run("db_backup")
        #expect(backup["status"] as? String == "success", "\(backup)")
        let backupData = backup["data"] as? [String: String] ?? [:]
        #expect(backupData["format"] == "pg_dump custom" && Int(backupData["archive_entries"] ?? "") ?? 0 > 4, "\(backupData)")
        let file = try UnixHTTP.get(daemon.socket, "/api/v4/jobs/\(backup["id"] as? String ?? "")/download")
        #expect(file.status == 200 && Array(file.body.prefix(5)) == Array("PGDMP".utf8), "\(file.status)")
        // data_retention on Mattermost's tables: old posts and their reactions go, new ones stay.
        let old = Int64(Date().timeIntervalSince1970 * 1000) - 400 * 86_400_000
        try cluster.psql(db, """
            CREATE TABLE posts (id varchar(26) PRIMARY KEY, createat bigint, message text);
            CREATE TABLE reactions (userid varchar(26), postid varchar(26), emojiname varchar(64), createat bigint);
            INSERT INTO posts SELECT 'old' || g, \(old) + g, 'x' FROM generate_series(1, 7) g;
            INSERT INTO posts VALUES ('new1', \(old + 399 * 86_400_000), 'y');
            INSERT INTO reactions VALUES ('u', 'old1', 'a', 0), ('u', 'new1', 'b', 0);
            """)
        let retention = try run("data_retention")
        #expect(retention["status"] as? String == "success", "\(retention)")
        #expect((retention["data"] as? [String: String])?["posts_deleted"] == "7", "\(retention)")
        #expect(try cluster.psql(db, "SELECT string_agg(id, ',') FROM posts") == "new1")
        #expect(try cluster.psql(db, "SELECT string_agg(postid, ',') FROM reactions") == "new1")
        // message_export: more posts than one cursor fetch, in CreateAt order, into the zip.
        try cluster.psql(db, """
            CREATE TABLE channels (id varchar(26) PRIMARY KEY, name varchar(64));
            CREATE TABLE users (id varchar(26) PRIMARY KEY, username varchar(64));
            INSERT INTO channels VALUES ('c1', 'town-square'); INSERT INTO users VALUES ('u1', 'alice');
            ALTER TABLE posts ADD COLUMN channelid varchar(26), ADD COLUMN userid varchar(26);
            INSERT INTO posts SELECT 'e' || lpad(g::text, 6, '0'), 1000 + g, 'line "' || g || '", with a comma', 'c1', 'u1' FROM generate_series(1, 12000) g;
            """)
        let export = try run("message_export", data: #"{"start_time":"1000","end_time":"20000"}"#)
        #expect(export["status"] as? String == "success", "\(export)")
        #expect((export["data"] as? [String: String])?["messages_exported"] == "12000", "\(export)")
        let zip = try UnixHTTP.get(daemon.socket, "/api/v4/jobs/\(export["id"] as? String ?? "")/download")
        #expect(zip.status == 200 && Array(zip.body.prefix(2)) == Array("PK".utf8))
        let zipPath = dir + "/export.zip"
        try Data(zip.body).write(to: URL(fileURLWithPath: zipPath))
        let csv = try Command.run("/usr/bin/env", ["python3", "-c", "import zipfile,sys; d=zipfile.ZipFile(sys.argv[1]).read('messages.csv').decode(); l=d.split('\\r\\n'); print(len(l)-2); print(l[1]); print(l[-2])", zipPath])
        #expect(csv.stdout == "12000\ne000001,1001,c1,town-square,u1,alice,\"line \"\"1\"\", with a comma\"\ne012000,13000,c1,town-square,u1,alice,\"line \"\"12000\"\", with a comma\"\n", "\(csv.stdout) \(csv.stderr)")
        let everything = try UnixHTTP.get(daemon.socket, "/api/v4/jobs?per_page=200").text + daemon.log
        #expect(!everything.contains(PostgresTestCluster.superuserPassword) && !everything.contains("s3cret%2Dadmin"), "no job's data or log line names the DSN")
    }

    @Test func aStoppedServerIsA503AtOnceAndTheDaemonRecovers() throws {
        let cluster = try PostgresTestCluster.makePrivate()
        defer { cluster.stopAndRemove() }
        try cluster.psql("postgres", "CREATE DATABASE mm")
        let daemon = try DaemonProcess(dataDir: dir, config: config(cluster.dsn(database: "mm")))
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#).status == 201)

        cluster.stop()
        // An answer (a hang would end in the client's timeout), and the right one.
        let refused = try UnixHTTP.post(daemon.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#)
        #expect(refused.status == 503 && refused.json()["id"] as? String == "api.store.unavailable.app_error", "\(refused.text)")
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/jobs?per_page=5").status == 503)
        // What needs no store keeps working.
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status == 200)
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").status == 200)

        try cluster.start()
        var answered = 0
        _ = eventually(timeout: 20) {
            answered = (try? UnixHTTP.post(daemon.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#).status) ?? 0
            return answered == 201
        }
        #expect(answered == 201, "the pool reconnected")
        #expect(try cluster.psql("mm", "SELECT count(*) FROM Jobs") == "2", "the job made before the stop and the one after")
    }

    @Test func anUnreachableStoreAtStartIsExit73() throws {
        let secret = "Unreach-pw-77"
        let daemon = try DaemonProcess(dataDir: dir, config: config("postgres://mm:\(secret)@/mm?host=\(dir)/nowhere&connect_timeout=2"), wait: false)
        #expect(daemon.waitForExit(timeout: 30) == 73, "\(daemon.log)")
        #expect(daemon.log.contains("cannot open the store") && !daemon.log.contains(secret), "\(daemon.log)")
    }
}

/// libpq is opened only when a PostgreSQL store is used: a daemon on SQLite never maps it (nor the
/// TLS, Kerberos and LDAP libraries it brings, about 5 MB of idle RSS).
@Suite("libpq loaded on demand")
struct LibPQOnDemandEndToEndTests {
    let dir = Paths.makeTempDir("nopq")

    /// /proc files report no size: read to the end.
    func maps(_ pid: Int32) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/maps"))
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }

    @Test func aDaemonOnSQLiteDoesNotLoadLibPQ() throws {
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#).status == 201)
        let mapped = try maps(daemon.process.processIdentifier)
        #expect(!mapped.contains("libpq.so"), "libpq is mapped into a daemon on SQLite")
        #expect(mapped.contains("libsqlite3"), "the check reads the right map")
    }

    @Test(.enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
    func aDaemonOnPostgreSQLLoadsIt() throws {
        let cluster = PostgresTestCluster.shared!
        var c = DaemonProcess.config(dataDir: dir)
        c.sqlSettings.driverName = "postgres"
        c.sqlSettings.dataSource = cluster.dsn(database: try cluster.createDatabase())
        let daemon = try DaemonProcess(dataDir: dir, config: c)
        #expect(try maps(daemon.process.processIdentifier).contains("libpq.so"))
    }
}
