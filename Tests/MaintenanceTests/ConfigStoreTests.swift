import Foundation
import Maintenance
import StewardModel
import Store
import Testing

@Suite struct ConfigStoreTests {
    let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "steward-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    var migrator: ConfigMigrator { ConfigMigrator(configDirectory: dir, allowedDirectories: [dir],
                                                  protection: MigrateProtection(store: dir + "/steward.db", directories: [dir + "/steward-jobs"])) }

    /// A config that differs from the defaults in every section, with a rules file.
    func sample(_ n: Int = 1) -> ConfigSnapshot {
        var c = StewardConfig.development(dataDir: dir)
        c.serviceSettings.maximumURLLength = 3000 + n
        c.serviceSettings.listeners.append(ListenerSettings(name: "ops", path: "/run/steward/ops.sock", mode: "0660", group: "steward"))
        c.localAuthorizationSettings.rules.append(PolicyRule(users: ["alice"], roles: ["job_operator"]))
        c.localAuthorizationSettings.rulesFile = "rules.json"
        c.logSettings.level = "debug"
        c.integritySettings.maxRecordsPerRelation = 500
        return ConfigSnapshot(config: c, files: ["rules.json": Array(#"[{"Gids":[4242],"Roles":["observer"]}]"#.utf8)])
    }

    func bytes(_ path: String) -> [UInt8]? { (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init) }

    func activeRows(_ db: String) throws -> (active: Int, total: Int) {
        let conn = try Connection(path: db, readOnly: true, busyTimeoutMilliseconds: 1000)
        let s = try conn.cached("SELECT count(*) FILTER (WHERE Active = 1), count(*) FROM Configurations")
        _ = try s.step()
        return (Int(s.int64(0)), Int(s.int64(1)))
    }

    @Test func fileToDatabaseToFileIsByteForByteAfterNormalization() throws {
        let original = sample()
        try FileConfigStore(path: dir + "/a.json").write(original)
        // A hand-written variant of the same document: other key order and spacing.
        let handWritten = #"{"LogSettings":{"Level":"debug"},"# + String(decoding: ConfigCodec.encode(original.config), as: UTF8.self).dropFirst()
        try Data(handWritten.utf8).write(to: URL(fileURLWithPath: dir + "/a.json"))

        try migrator.migrate(from: "a.json", to: "sqlite://store.db")
        try migrator.migrate(from: "sqlite://store.db", to: dir + "/b.json")
        let normalized = ConfigCodec.encode(try ConfigCodec.decode(Array(handWritten.utf8)))
        #expect(bytes(dir + "/b.json") == normalized)
        #expect(String(decoding: normalized, as: UTF8.self).contains("\n    \"IntegritySettings\": {\n        \""))
        #expect(bytes(dir + "/rules.json") == original.files["rules.json"])
        var st = stat()
        #expect(stat(dir + "/b.json", &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test func referencedFilesTravelBothWays() throws {
        let snapshot = sample()
        try FileConfigStore(path: dir + "/src/c.json").writeCreatingDirectory(snapshot, dir + "/src")
        try migrator.migrate(from: "src/c.json", to: "sqlite://m.db")
        let inDB = try DatabaseConfigStore(path: dir + "/m.db").read()
        #expect(inDB == snapshot)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try migrator.migrate(from: "sqlite://m.db", to: "out/c.json")
        #expect(bytes(dir + "/out/rules.json") == snapshot.files["rules.json"])
        #expect(try FileConfigStore(path: dir + "/out/c.json").read() == snapshot)
    }

    @Test func shaDedupOneActiveRowAndPruning() throws {
        let db = DatabaseConfigStore(path: dir + "/s.db")
        try db.write(sample(1))
        try db.write(sample(1))
        #expect(try activeRows(dir + "/s.db") == (1, 1), "an unchanged SHA adds no row")
        for n in 2...9 { try db.write(sample(n)) }
        #expect(try activeRows(dir + "/s.db") == (1, 1 + DatabaseConfigStore.keepInactive))
        #expect(try db.read().config.serviceSettings.maximumURLLength == 3009)
        let conn = try Connection(path: dir + "/s.db", readOnly: true, busyTimeoutMilliseconds: 1000)
        let s = try conn.cached("SELECT Value, SHA FROM Configurations WHERE Active = 1")
        _ = try s.step()
        #expect(s.string(1) == SHA256.hex(Array((s.string(0) ?? "").utf8)))
    }

    @Test func sha256KnownAnswers() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array(String(repeating: "a", count: 1_000).utf8)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    /// Every refusal leaves the destination exactly as it was.
    @Test func badInputLeavesTheDestinationUnchanged() throws {
        try FileConfigStore(path: dir + "/good.json").write(sample())
        try FileConfigStore(path: dir + "/dest.json").write(sample(7))
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: dir + "/broken.json"))
        try Data(#"{"ServiceSettings":{"MaximumURLLength":-1}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/invalid.json"))
        try FileManager.default.createDirectory(atPath: dir + "/adir", withIntermediateDirectories: true)
        let before = bytes(dir + "/dest.json")

        func expectRefusal(_ from: String, _ to: String, _ matches: (ConfigStoreError) -> Bool) {
            do {
                try migrator.migrate(from: from, to: to)
                Issue.record("\(from) -> \(to) was accepted")
            } catch {
                #expect(matches(error), "\(from) -> \(to): \(error)")
            }
        }
        expectRefusal("missing.json", "dest.json") { if case .missing = $0 { true } else { false } }
        expectRefusal("broken.json", "dest.json") { if case .invalidJSON = $0 { true } else { false } }
        expectRefusal("invalid.json", "dest.json") {
            if case .invalidSetting(let e) = $0 { e.setting == "ServiceSettings.MaximumURLLength" } else { false }
        }
        expectRefusal("good.json", "good.json") { if case .sameStore = $0 { true } else { false } }
        expectRefusal("good.json", "./good.json") { if case .sameStore = $0 { true } else { false } }
        expectRefusal("good.json", "/etc/steward-should-not-exist.json") { if case .notAllowed = $0 { true } else { false } }
        expectRefusal("/etc/passwd", "dest.json") { if case .notAllowed = $0 { true } else { false } }
        expectRefusal("good.json", "adir") { if case .notAllowed = $0 { true } else { false } }
        expectRefusal("good.json", "sqlite://adir") { if case .notAllowed = $0 { true } else { false } }
        expectRefusal("sqlite://nothing-here.db", "dest.json") { if case .missing = $0 { true } else { false } }
        #expect(bytes(dir + "/dest.json") == before)
        #expect(!FileManager.default.fileExists(atPath: dir + "/nothing-here.db"), "reading a source never creates it")

        symlink(dir + "/dest.json", dir + "/link.json")
        expectRefusal("good.json", "link.json") { if case .notAllowed = $0 { true } else { false } }
        #expect(bytes(dir + "/dest.json") == before)
    }

    @Test func sourceIsNeverModified() throws {
        try FileConfigStore(path: dir + "/src.json").write(sample())
        let handWritten = Array(#"{"LogSettings":{"Level":"warning"}}"#.utf8)
        try Data(handWritten).write(to: URL(fileURLWithPath: dir + "/src.json"))
        try migrator.migrate(from: "src.json", to: "sqlite://x.db")
        #expect(bytes(dir + "/src.json") == handWritten, "Mattermost rewrites the source; Steward does not")
        let dbBefore = bytes(dir + "/x.db")
        try migrator.migrate(from: "sqlite://x.db", to: "y.json")
        #expect(bytes(dir + "/x.db") == dbBefore)
    }

    @Test func environmentOverridesApplyButNameTheirSetting() throws {
        let base = StewardConfig()
        let r = try EnvironmentOverrides.apply(
            ["STEWARD_SERVICESETTINGS_MAXIMUMURLLENGTH": "100", "STEWARD_LOGSETTINGS_LEVEL": "debug",
             "STEWARD_SOCKET": "/x", "STEWARD_NOSUCH_THING": "1", "PATH": "/bin"], to: base)
        #expect(r.config.serviceSettings.maximumURLLength == 100)
        #expect(r.config.logSettings.level == "debug")
        #expect(r.overridden == ["LogSettings.Level", "ServiceSettings.MaximumURLLength"])
        #expect(throws: ConfigStoreError.self) { try EnvironmentOverrides.apply(["STEWARD_SERVICESETTINGS_MAXIMUMURLLENGTH": "lots"], to: base) }
        #expect(throws: ConfigStoreError.self) { try EnvironmentOverrides.apply(["STEWARD_LOGSETTINGS_LEVEL": "loud"], to: base) }
    }

    @Test func locationsParse() throws {
        #expect(try ConfigLocation.parse("sqlite:///var/lib/steward/steward.db", relativeTo: "/etc") == .database("/var/lib/steward/steward.db"))
        #expect(try ConfigLocation.parse("sqlite://x.db", relativeTo: "/etc/steward") == .database("/etc/steward/x.db"))
        #expect(try ConfigLocation.parse("config.json", relativeTo: "/etc/steward/") == .file("/etc/steward/config.json"))
        #expect(ConfigLocation.database("/a/b").description == "sqlite:///a/b")
        let pg = try ConfigLocation.parse("postgres://mmuser:hunter22@db.example:5433/mattermost?sslmode=require", relativeTo: "/etc")
        #expect(pg.description == "postgres://mmuser:****@db.example:5433/mattermost?sslmode=require")
        #expect(try ConfigLocation.parse("POSTGRESQL://u@/db?host=/run/postgresql", relativeTo: "/etc").description.hasPrefix("POSTGRESQL://u@/db"))
        #expect(throws: ConfigStoreError.self) { try ConfigLocation.parse("postgres://u:hunter22@h:99999/db", relativeTo: "/etc") }
    }
}

extension FileConfigStore {
    func writeCreatingDirectory(_ snapshot: ConfigSnapshot, _ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try write(snapshot)
    }
}
