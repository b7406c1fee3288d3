import Foundation
import PostgresTestSupport
import StewardModel
import Testing

/// mmctl's headline flow against the built stewardd and a real PostgreSQL server: `config migrate`
/// of a file into `postgres://…` (the same HTTP call `mmctl --local config migrate` makes), a
/// daemon run from that database store, and back to a file; refusals that show no password.
@Suite("PostgreSQL config end to end", .serialized,
       .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct PostgresConfigEndToEndTests {
    let dir = Paths.makeTempDir("pgconfig")
    var cluster: PostgresTestCluster { PostgresTestCluster.shared! }

    func migrate(_ socket: String, _ from: String, _ to: String) throws -> HTTPResult {
        let body = try JSONSerialization.data(withJSONObject: ["from": from, "to": to], options: [.sortedKeys])
        return try UnixHTTP.post(socket, "/api/v4/config/migrate", body: String(decoding: body, as: UTF8.self))
    }

    @Test func fileToPostgresThenADaemonRunsFromItThenBackToAFile() throws {
        let first = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let db = try cluster.createDatabase()
        let dsn = cluster.dsn(database: db)

        // A config for a second daemon, migrated into PostgreSQL.
        let second = dir + "/second"
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        var config = DaemonProcess.config(dataDir: second)
        config.serviceSettings.maximumURLLength = 4000
        try JSONEncoder().encode(config).write(to: URL(fileURLWithPath: dir + "/second.json"))
        let migrated = try migrate(first.socket, "second.json", dsn)
        #expect(migrated.status == 200, "\(migrated.text)")
        #expect(try cluster.psql(db, "SELECT count(*) FROM Configurations WHERE Active") == "1")

        let daemon = try DaemonProcess(dataDir: second, configArgument: dsn)
        let answer = try UnixHTTP.get(daemon.socket, "/api/v4/config")
        #expect(answer.status == 200, "\(answer.status): \(answer.text)")
        #expect(try JSONDecoder().decode(StewardConfig.self, from: Data(answer.body)).serviceSettings.maximumURLLength == 4000)
        #expect(!daemon.log.contains(PostgresTestCluster.superuserPassword), "the password never reaches the log")
        #expect(daemon.log.contains("****"), "the config store is named with its password masked: \(daemon.log)")

        // A change migrated in again, then a reload re-reads the database store.
        config.serviceSettings.maximumURLLength = 50
        try JSONEncoder().encode(config).write(to: URL(fileURLWithPath: dir + "/second.json"))
        #expect(try migrate(first.socket, "second.json", dsn).status == 200)
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/config/reload").status == 200)
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping?x=" + String(repeating: "y", count: 60)).status == 414)

        // And back to a file, through stewardctl this time.
        let back = try Command.stewardctl(["config", "migrate", dsn, "back.json"], socket: first.socket)
        #expect(back.status == 0, "\(back.stderr)")
        let file = try JSONDecoder().decode(StewardConfig.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/back.json")))
        #expect(file.serviceSettings.maximumURLLength == 50)
        #expect(first.log.contains("config migrated") && !first.log.contains(PostgresTestCluster.superuserPassword), "\(first.log)")
    }

    @Test func refusalsAreAppErrorsWithoutThePassword() throws {
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let db = try cluster.createDatabase()
        let secret = "Wr0ng-secret-pw"
        for (to, detail) in [
            (cluster.dsn(database: db, password: secret), "password authentication failed"),
            ("postgres://mmuser:\(secret)@/mattermost?host=\(dir)/nowhere&connect_timeout=2", "cannot connect to PostgreSQL"),
            ("postgres://mmuser:\(secret)@host:99999/mattermost", "port"),
        ] {
            let r = try migrate(daemon.socket, "config.json", to)
            #expect(r.status == 400 || r.status == 500, "\(to): \(r.text)")
            #expect(r.json()["id"] as? String == "api.config.migrate_config.app_error")
            #expect(!r.text.contains(secret), "\(r.text)")
            #expect((r.json()["detailed_error"] as? String)?.contains(detail) == true, "\(r.text)")
        }
        #expect(!daemon.log.contains(secret))
        #expect(try cluster.psql(db, "SELECT to_regclass('configurations') IS NULL") == "t", "nothing was written")
    }

    @Test func anUnreachableConfigStoreAtStartIsAClearExit() throws {
        let secret = "Start-secret-pw"
        let daemon = try DaemonProcess(dataDir: dir, wait: false, configArgument: "postgres://mmuser:\(secret)@/mattermost?host=\(dir)/nowhere&connect_timeout=2")
        let code = daemon.waitForExit(timeout: 30)
        #expect(code == 73, "exit \(String(describing: code)): \(daemon.log)")
        #expect(daemon.log.contains("cannot connect to PostgreSQL"), "\(daemon.log)")
        #expect(!daemon.log.contains(secret), "\(daemon.log)")
    }
}
