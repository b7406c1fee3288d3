import Foundation
import Maintenance
import PostgresTestSupport
import StewardModel
import Store
import Testing

/// Mattermost's database config store on both stores: SQLite (the embedded default) and a real
/// PostgreSQL server (the tests' own cluster).
@Suite(.serialized) struct DatabaseConfigStoreTests {
    let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "steward-pgconfig-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    static var postgresReason: String? { PostgresTestCluster.unavailableReason }
    var cluster: PostgresTestCluster { PostgresTestCluster.shared! }

    var migrator: ConfigMigrator {
        ConfigMigrator(configDirectory: dir, allowedDirectories: [dir],
                       protection: MigrateProtection(store: dir + "/steward.db", directories: [dir + "/steward-jobs"]))
    }

    func sample(_ n: Int = 1) -> ConfigSnapshot {
        var c = StewardConfig.development(dataDir: dir)
        c.serviceSettings.maximumURLLength = 3000 + n
        c.localAuthorizationSettings.rules.append(PolicyRule(users: ["alice"], roles: ["job_operator"]))
        c.localAuthorizationSettings.rulesFile = "rules.json"
        return ConfigSnapshot(config: c, files: ["rules.json": Array(#"[{"Gids":[4242],"Roles":["observer"]}]"#.utf8)])
    }

    enum Kind: String, CaseIterable, Sendable { case sqlite, postgres }

    /// A fresh, empty database config store of `kind`, its location text, and how to count its
    /// (active, all) rows.
    func fresh(_ kind: Kind) throws -> (location: String, rows: () throws -> (Int, Int)) {
        switch kind {
        case .sqlite:
            let path = dir + "/\(UUID().uuidString.prefix(6)).db"
            return ("sqlite://" + path, {
                let conn = try Connection(path: path, readOnly: true, busyTimeoutMilliseconds: 1000)
                let s = try conn.cached("SELECT count(*) FILTER (WHERE Active = 1), count(*) FROM Configurations")
                _ = try s.step()
                return (Int(s.int64(0)), Int(s.int64(1)))
            })
        case .postgres:
            let db = try cluster.createDatabase()
            return (cluster.dsn(database: db), { [cluster] in
                let out = try cluster.psql(db, "SELECT count(*) FILTER (WHERE Active), count(*) FROM Configurations").split(separator: "|")
                return (Int(out[0]) ?? -1, Int(out[1]) ?? -1)
            })
        }
    }

    func store(_ location: String) throws -> any ConfigStore {
        ConfigStores.open(try ConfigLocation.parse(location, relativeTo: dir))
    }

    @Test(.enabled(if: postgresReason == nil, "\(postgresReason ?? "")"), arguments: Kind.allCases)
    func shaDedupOneActiveRowAndPruning(_ kind: Kind) throws {
        let (location, rows) = try fresh(kind)
        let db = try store(location)
        try db.write(sample(1))
        try db.write(sample(1))
        #expect(try rows() == (1, 1), "an unchanged SHA adds no row")
        for n in 2...9 { try db.write(sample(n)) }
        #expect(try rows() == (1, 1 + DatabaseConfigStore.keepInactive))
        #expect(try db.read() == sample(9))
    }

    @Test(.enabled(if: postgresReason == nil, "\(postgresReason ?? "")"), arguments: Kind.allCases)
    func fileToDatabaseToFileKeepsEveryByte(_ kind: Kind) throws {
        let (location, _) = try fresh(kind)
        let snapshot = sample()
        try FileConfigStore(path: dir + "/a.json").write(snapshot)
        try migrator.migrate(from: "a.json", to: location)
        #expect(try store(location).read() == snapshot)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try migrator.migrate(from: location, to: "out/b.json")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out/b.json")) == Data(ConfigCodec.encode(snapshot.config)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out/rules.json")) == Data(snapshot.files["rules.json"]!))
    }

    /// The tables are Mattermost's: a config Mattermost wrote is read, and what Steward writes has
    /// Mattermost's column types.
    @Test(.enabled(if: postgresReason == nil, "\(postgresReason ?? "")"))
    func mattermostsTablesAreReadAndWritten() throws {
        let db = try cluster.createDatabase()
        try cluster.psql(db, """
            CREATE TABLE Configurations (Id VARCHAR(26) PRIMARY KEY, Value TEXT NOT NULL, CreateAt BIGINT NOT NULL, Active BOOLEAN NULL UNIQUE);
            ALTER TABLE Configurations ADD COLUMN IF NOT EXISTS SHA CHAR(64) DEFAULT '';
            CREATE TABLE ConfigurationFiles (Name VARCHAR(64) PRIMARY KEY, Data TEXT NOT NULL, CreateAt BIGINT NOT NULL, UpdateAt BIGINT NOT NULL);
            INSERT INTO Configurations VALUES ('oldinactive000000000000000', '{}', 1, NULL, '');
            INSERT INTO Configurations VALUES ('mattermostwrotethis0000000', '{"ServiceSettings":{"MaximumURLLength":4321}}', 2, TRUE, '');
            """)
        let s = try store(cluster.dsn(database: db))
        #expect(try s.read().config.serviceSettings.maximumURLLength == 4321)
        try s.write(sample(3))
        #expect(try cluster.psql(db, "SELECT Id FROM Configurations WHERE Active IS NOT TRUE ORDER BY CreateAt LIMIT 1") == "oldinactive000000000000000")
        #expect(try cluster.psql(db, "SELECT count(*) FROM Configurations WHERE Active") == "1")
        let fresh = try cluster.createDatabase()
        try store(cluster.dsn(database: fresh)).write(sample(4))
        let types = try cluster.psql(fresh, """
            SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, ordinal_position)
            FROM information_schema.columns WHERE table_name IN ('configurations', 'configurationfiles')
            """)
        #expect(types == "configurationfiles.name:character varying,configurationfiles.data:text,configurationfiles.createat:bigint,configurationfiles.updateat:bigint,"
                + "configurations.id:character varying,configurations.value:text,configurations.createat:bigint,configurations.active:boolean,configurations.sha:character")
    }

    @Test(.enabled(if: postgresReason == nil, "\(postgresReason ?? "")"))
    func concurrentWritersAreSerialized() async throws {
        let db = try cluster.createDatabase()
        let location = cluster.dsn(database: db)
        let s = try store(location)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<4 {
                group.addTask { for n in 0..<5 { try s.write(sample(100 + w * 10 + n)) } }
            }
            try await group.waitForAll()
        }
        #expect(try cluster.psql(db, "SELECT count(*) FROM Configurations WHERE Active") == "1")
    }

    /// A destination that cannot be reached or refuses the login is refused before anything is
    /// written, and the message never shows the password.
    @Test(.enabled(if: postgresReason == nil, "\(postgresReason ?? "")"))
    func anUnreachableOrUnauthorizedDestinationWritesNothing() throws {
        try FileConfigStore(path: dir + "/a.json").write(sample())
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.json"))
        let db = try cluster.createDatabase()
        let secret = "not-the-Passw0rd"
        for to in [cluster.dsn(database: db, password: secret), "postgres://mmuser:\(secret)@/mattermost?host=/nonexistent&connect_timeout=2"] {
            do {
                try migrator.migrate(from: "a.json", to: to)
                Issue.record("migrate to \(to) was accepted")
            } catch {
                #expect(!"\(error)".contains(secret), "\(error)")
                #expect("\(error)".contains("cannot connect to PostgreSQL"), "\(error)")
            }
        }
        #expect(try cluster.psql(db, "SELECT to_regclass('configurations') IS NULL") == "t", "nothing was created")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.json")) == before)
    }

    @Test(.enabled(if: postgresReason == nil, "\(postgresReason ?? "")"))
    func theSameDatabaseTwiceIsRefused() throws {
        let db = try cluster.createDatabase()
        try store(cluster.dsn(database: db)).write(sample())
        let other = try cluster.createDatabase()
        try cluster.psql(db, "SET password_encryption = 'md5'; CREATE ROLE \(other) LOGIN SUPERUSER PASSWORD 'other-pw-1'")
        // Another user and other parameters, the same database: still one store.
        do {
            try migrator.migrate(from: cluster.dsn(database: db), to: cluster.dsn(database: db, user: other, password: "other-pw-1", extra: "&application_name=x"))
            Issue.record("accepted")
        } catch {
            #expect(error == .sameStore(try PostgresDSN(cluster.dsn(database: db, user: other, password: "other-pw-1", extra: "&application_name=x")).description))
        }
        try migrator.migrate(from: cluster.dsn(database: db), to: cluster.dsn(database: other))
        #expect(try store(cluster.dsn(database: other)).read() == sample())
    }
}
