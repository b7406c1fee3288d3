import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Config routes, stores and migrate against the built stewardd.
@Suite("Config end to end", .serialized)
struct ConfigEndToEndTests {
    let dir = Paths.makeTempDir("config")

    func migrate(_ socket: String, _ from: String, _ to: String) throws -> HTTPResult {
        try UnixHTTP.post(socket, "/api/v4/config/migrate", body: #"{"from":"\#(from)","to":"\#(to)"}"#)
    }

    func read(_ path: String) -> [UInt8]? { (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init) }

    func activeValues(_ db: String) throws -> [String] {
        let r = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3,sys,json
            c = sqlite3.connect(sys.argv[1])
            has = c.execute("SELECT count(*) FROM sqlite_master WHERE name = 'Configurations'").fetchone()[0]
            print(json.dumps([r[0] for r in c.execute("SELECT Value FROM Configurations WHERE Active = 1")] if has else []))
            """, db])
        guard r.status == 0 else { throw HTTPTestError(description: "reading \(db) failed: \(r.stderr)") }
        return try JSONDecoder().decode([String].self, from: Data(r.stdout.utf8))
    }

    @Test func getConfigShowsOverridesThatMigrateNeverPersists() throws {
        let daemon = try DaemonProcess(
            dataDir: dir, config: DaemonProcess.config(dataDir: dir), environment: ["STEWARD_SERVICESETTINGS_MAXIMUMURLLENGTH": "100"])
        let r = try UnixHTTP.get(daemon.socket, "/api/v4/config")
        #expect(r.status == 200)
        let config = try JSONDecoder().decode(StewardConfig.self, from: Data(r.body))
        #expect(config.serviceSettings.maximumURLLength == 100)
        #expect(config.sqlSettings.dataSource == dir + "/steward.db")
        #expect(r.headers["x-steward-overridden"] == "ServiceSettings.MaximumURLLength")
        #expect(r.text.contains("\n    \"LocalAuthorizationSettings\": {"))
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/config/environment").text == #"{"ServiceSettings":{"MaximumURLLength":true}}"#)
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping?pad=" + String(repeating: "x", count: 120)).status == 414)

        #expect(try migrate(daemon.socket, "config.json", "copy.json").status == 200)
        let copy = try JSONDecoder().decode(StewardConfig.self, from: Data(read(dir + "/copy.json") ?? []))
        #expect(copy.serviceSettings.maximumURLLength == 2048, "the override stays out of every store")
        let show = try Command.stewardctl(["config", "show"], socket: daemon.socket)
        #expect(show.status == 0 && show.stdout.contains("\"MaximumURLLength\": 100"))
        #expect(show.stderr.contains("Set by the environment: ServiceSettings.MaximumURLLength"))
    }

    @Test func reloadAppliesAndABrokenConfigIsRefused() throws {
        var config = DaemonProcess.config(dataDir: dir)
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        let longish = "/api/v4/system/ping?pad=" + String(repeating: "x", count: 150)
        #expect(try UnixHTTP.get(daemon.socket, longish).status == 200)
        config.serviceSettings.maximumURLLength = 100
        try DaemonProcess.writeConfig(config, dataDir: dir)
        let cli = try Command.stewardctl(["config", "reload"], socket: daemon.socket)
        #expect(cli.status == 0 && cli.stdout == "Configuration reloaded\n")
        #expect(try UnixHTTP.get(daemon.socket, longish).status == 414)

        try Data(#"{"LogSettings":{"Level":"shouting"}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let refused = try UnixHTTP.post(daemon.socket, "/api/v4/config/reload")
        #expect(refused.status == 500)
        #expect(refused.json()["id"] as? String == "api.config.reload_config.app_error")
        #expect((refused.json()["detailed_error"] as? String)?.contains("LogSettings.Level") == true)
        #expect(try UnixHTTP.get(daemon.socket, longish).status == 414, "the running config stays")
    }

    @Test func migrateRefusalsAreAppErrorsAndChangeNothing() throws {
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        #expect(try migrate(daemon.socket, "config.json", "dest.json").status == 200)
        let before = read(dir + "/dest.json")
        try Data("{ nope".utf8).write(to: URL(fileURLWithPath: dir + "/broken.json"))
        for (from, to, detail) in [
            ("missing.json", "dest.json", "no configuration at"),
            ("broken.json", "dest.json", "invalid JSON"),
            ("config.json", "config.json", "same store"),
            ("config.json", "/etc/steward-e2e.json", "outside the directories"),
            ("/etc/hostname", "dest.json", "outside the directories"),
        ] {
            let r = try migrate(daemon.socket, from, to)
            #expect(r.status == 400, "\(from) -> \(to)")
            #expect(r.json()["id"] as? String == "api.config.migrate_config.app_error")
            #expect(r.json()["message"] as? String == "Failed to migrate config store.")
            #expect((r.json()["detailed_error"] as? String)?.contains(detail) == true, "\(r.text)")
        }
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/config/migrate", body: #"{"to":"x.json"}"#).json()["id"] as? String
            == "api.context.invalid_body_param.app_error")
        #expect(read(dir + "/dest.json") == before)
        #expect(!FileManager.default.fileExists(atPath: "/etc/steward-e2e.json"))
        let cli = try Command.stewardctl(["config", "migrate", "missing.json", "dest.json"], socket: daemon.socket)
        #expect(cli.status == 1 && cli.stderr.contains("Failed to migrate config store."))
    }

    @Test func aDaemonRunsFromTheDatabaseStore() throws {
        let first = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        // A config for a second daemon, migrated into a database.
        let second = dir + "/second"
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        var config = DaemonProcess.config(dataDir: second)
        config.serviceSettings.maximumURLLength = 4000
        let encoder = JSONEncoder()
        try encoder.encode(config).write(to: URL(fileURLWithPath: dir + "/second.json"))
        #expect(try migrate(first.socket, "second.json", "sqlite://second/config.db").status == 200)
        #expect(try activeValues(second + "/config.db").count == 1)

        let daemon = try DaemonProcess(dataDir: second, configArgument: "sqlite://" + second + "/config.db")
        let answer = try UnixHTTP.get(daemon.socket, "/api/v4/config")
        #expect(answer.status == 200, "\(answer.status): \(answer.text)")
        let got = try JSONDecoder().decode(StewardConfig.self, from: Data(answer.body))
        #expect(got.serviceSettings.maximumURLLength == 4000)
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/server_busy?seconds=60").status == 200)
        // Reload re-reads the database store.
        config.serviceSettings.maximumURLLength = 50
        try encoder.encode(config).write(to: URL(fileURLWithPath: dir + "/second.json"))
        #expect(try migrate(first.socket, "second.json", "sqlite://second/config.db").status == 200)
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/config/reload").status == 200)
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping?x=" + String(repeating: "y", count: 60)).status == 414)
    }

    @Test(.enabled(if: Paths.isRoot, "needs root to create users"))
    func rulesFileGrantsWhatItSays() throws {
        TestUsers.ensure
        let uid = try #require(TestUsers.uid(of: TestUsers.nobody))
        try FileManager.default.createDirectory(atPath: dir + "/pub", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.listeners.append(ListenerSettings(name: "ops.sock", path: dir + "/pub/ops.sock", mode: "0666"))
        config.localAuthorizationSettings.rulesFile = "extra-rules.json"
        try Data(#"[{"Uids":[\#(uid)],"Roles":["observer"]}]"#.utf8).write(to: URL(fileURLWithPath: dir + "/extra-rules.json"))
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        let get = try Command.stewardctl(["system", "getbusy"], socket: dir + "/pub/ops.sock", as: TestUsers.nobody)
        #expect(get.status == 0, "the rules file made nobody an observer: \(get.stderr)")
        #expect(try Command.stewardctl(["system", "setbusy", "-s", "5"], socket: dir + "/pub/ops.sock", as: TestUsers.nobody).status == 77)
        // The rules file travels with a migrate into the database store.
        #expect(try migrate(daemon.socket, "config.json", "sqlite://moved.db").status == 200)
        let r = try Command.run("/usr/bin/env", ["python3", "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT Data FROM ConfigurationFiles WHERE Name = 'extra-rules.json'\").fetchone()[0])",
            dir + "/moved.db"])
        #expect(r.stdout.contains("\"Uids\":[\(uid)]"))
    }

    @Test func killDuringFiftyMigrationsNeverLeavesAPartialDestination() throws {
        // Two sources, each a config and the rules file it references, whose contents say which
        // source they came from: a destination must never pair one source's config with the
        // other's rules.
        for n in [1111, 2222] {
            var c = DaemonProcess.config(dataDir: dir)
            c.serviceSettings.maximumURLLength = n
            c.localAuthorizationSettings.rulesFile = "rules.json"
            try FileManager.default.createDirectory(atPath: dir + "/src\(n)", withIntermediateDirectories: true)
            try JSONEncoder().encode(c).write(to: URL(fileURLWithPath: dir + "/src\(n)/config.json"))
            try Data(#"[{"Uids":[\#(n)],"Roles":["observer"]}]"#.utf8).write(to: URL(fileURLWithPath: dir + "/src\(n)/rules.json"))
        }
        /// What the store reads from `destination`, copied out by a migrate that is not killed:
        /// the config's number and the number in its rules file.
        func readBack(_ socket: String, _ destination: String) throws -> (Int, Bool)? {
            let r = try migrate(socket, destination, "check/config.json")
            guard r.status == 200 else { return nil }
            let config = try JSONDecoder().decode(StewardConfig.self, from: Data(read(dir + "/check/config.json") ?? []))
            let n = config.serviceSettings.maximumURLLength
            let rules = String(decoding: read(dir + "/check/rules.json") ?? [], as: UTF8.self)
            return (n, rules.contains("[\(n)]"))
        }
        try FileManager.default.createDirectory(atPath: dir + "/check", withIntermediateDirectories: true)
        // Both destinations exist before the first kill, so every kill lands on an existing
        // destination and every one is read back afterwards — however fast the machine is (counting
        // "most" read-backs depended on how many early kills beat the first migration).
        do {
            let seed = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
            #expect(try migrate(seed.socket, "src1111/config.json", "dest.json").status == 200)
            #expect(try migrate(seed.socket, "src1111/config.json", "sqlite://dest.db").status == 200)
            seed.stop()
        }
        var rng = SystemRandomNumberGenerator()
        var killedMidway = 0, checked = 0
        for i in 0..<50 {
            let daemon = try DaemonProcess(dataDir: dir)
            // What the previous kill left, as the store reads it: one source's config with its own rules.
            for destination in ["dest.json", "sqlite://dest.db"] {
                let found = try readBack(daemon.socket, destination)
                #expect(found != nil, "\(destination) is readable after kill \(i - 1)")
                guard let (n, matching) = found else { continue }
                checked += 1
                #expect([1111, 2222].contains(n), "\(destination) after kill \(i - 1)")
                #expect(matching, "\(destination) after kill \(i - 1): the rules file belongs to the config")
            }
            if FileManager.default.fileExists(atPath: dir + "/dest.db") {
                #expect(try activeValues(dir + "/dest.db").count <= 1, "exactly one Active row after kill \(i - 1)")
            }
            let source = i % 2 == 0 ? "src1111/config.json" : "src2222/config.json"
            let destination = i % 4 < 2 ? "dest.json" : "sqlite://dest.db"
            let c = try UnixConnection(path: daemon.socket)
            let body = #"{"from":"\#(source)","to":"\#(destination)"}"#
            try c.send("POST /api/v4/config/migrate HTTP/1.1\r\nHost: _\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            usleep(UInt32.random(in: 0...4000, using: &rng))
            kill(daemon.process.processIdentifier, SIGKILL)
            daemon.process.waitUntilExit()
            if (try? c.readResponse()) == nil { killedMidway += 1 }
        }
        #expect(killedMidway > 0, "some kills must land before the answer, or the test proves nothing")
        #expect(checked == 100, "both destinations were read back after every kill")
        // Whatever the kills left, both destinations still take a clean migration.
        let daemon = try DaemonProcess(dataDir: dir)
        #expect(try migrate(daemon.socket, "src2222/config.json", "dest.json").status == 200)
        #expect(try migrate(daemon.socket, "src2222/config.json", "sqlite://dest.db").status == 200)
        #expect(try activeValues(dir + "/dest.db").count == 1)
        #expect(read(dir + "/dest.json").map { (try? JSONDecoder().decode(StewardConfig.self, from: Data($0)))?.serviceSettings.maximumURLLength } == 2222)
        #expect(read(dir + "/rules.json").map { String(decoding: $0, as: UTF8.self).contains("[2222]") } == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".staged") || $0.hasSuffix(".commit") } == [])
    }

}
