import Postgres
import StewardModel

/// Mattermost's database config store on PostgreSQL: the same tables and semantics as Mattermost's
/// (`Configurations` with exactly one Active row, its SHA-256 so an unchanged config adds no row;
/// `ConfigurationFiles` by name), so `mmctl --local config migrate` to and from `postgres://…` works
/// as against Mattermost, and Mattermost itself reads what Steward wrote.
///
/// Writes take a transaction-scoped advisory lock: two writers (two daemons, a migrate and a
/// reload) are serialized instead of one failing on the Active row's unique index.
public struct PostgresConfigStore: ConfigStore {
    public let dsn: PostgresDSN
    public var location: ConfigLocation { .postgres(dsn) }
    /// Inactive rows kept besides the active one (Mattermost's cleanup keeps the 5 newest).
    public static let keepInactive = DatabaseConfigStore.keepInactive
    /// Bounds every statement, so a locked table cannot hang a request.
    static let statementTimeoutMilliseconds = 30_000

    public init(dsn: PostgresDSN) { self.dsn = dsn }

    /// Mattermost's DDL for the two tables (its config migrations 000001–000003, on PostgreSQL).
    static let schema = """
        CREATE TABLE IF NOT EXISTS Configurations (
            Id VARCHAR(26) PRIMARY KEY,
            Value TEXT NOT NULL,
            CreateAt BIGINT NOT NULL,
            Active BOOLEAN NULL UNIQUE,
            SHA CHAR(64) DEFAULT ''
        );
        CREATE TABLE IF NOT EXISTS ConfigurationFiles (
            Name VARCHAR(64) PRIMARY KEY,
            Data TEXT NOT NULL,
            CreateAt BIGINT NOT NULL,
            UpdateAt BIGINT NOT NULL
        );
        """
    /// `pg_advisory_xact_lock`'s key for config writes ("stcf" as a number).
    static let writeLockKey = "1937007462"

    func connect() throws(ConfigStoreError) -> PGConnection {
        do {
            return try PGConnection(dsn, statementTimeoutMilliseconds: Self.statementTimeoutMilliseconds, applicationName: "stewardd config")
        } catch {
            throw .unreadable("\(location.description): \(error)")
        }
    }

    public func read() throws(ConfigStoreError) -> ConfigSnapshot {
        let conn = try connect()
        do {
            guard try conn.query("SELECT to_regclass('configurations') IS NOT NULL").scalar == "t",
                  let value = try conn.query("SELECT Value FROM Configurations WHERE Active").scalar
            else { throw ConfigStoreError.missing(location.description) }
            let config = try ConfigCodec.decode(Array(value.utf8))
            var files: [String: [UInt8]] = [:]
            for name in ConfigSnapshot.referencedFiles(of: config) {
                guard let data = try conn.query("SELECT Data FROM ConfigurationFiles WHERE Name = $1", [name]).scalar else {
                    throw ConfigStoreError.missing("\(location.description) file \(name)")
                }
                files[name] = Array(data.utf8)
            }
            return ConfigSnapshot(config: config, files: files)
        } catch let e as ConfigStoreError {
            throw e
        } catch {
            throw .unreadable("\(location.description): \(error)")
        }
    }

    /// One transaction: the files, then a new Active row unless the SHA is unchanged, then pruning.
    public func write(_ snapshot: ConfigSnapshot) throws(ConfigStoreError) {
        let value = String(decoding: ConfigCodec.encode(snapshot.config), as: UTF8.self)
        let sha = SHA256.hex(Array(value.utf8))
        let conn = try connect()
        do {
            try conn.transaction {
                try conn.query("SELECT pg_advisory_xact_lock(\(Self.writeLockKey))")
                if try conn.query("SELECT to_regclass('configurations') IS NOT NULL AND to_regclass('configurationfiles') IS NOT NULL").scalar != "t" {
                    try conn.execute(Self.schema)
                }
                let now = String(WallClock.system.nowMilliseconds())
                for (name, data) in snapshot.files.sorted(by: { $0.key < $1.key }) {
                    try conn.query(
                        "INSERT INTO ConfigurationFiles (Name, Data, CreateAt, UpdateAt) VALUES ($1, $2, $3, $3) ON CONFLICT (Name) DO UPDATE SET Data = EXCLUDED.Data, UpdateAt = EXCLUDED.UpdateAt",
                        [name, String(decoding: data, as: UTF8.self), now])
                }
                let current = try conn.query("SELECT SHA FROM Configurations WHERE Active").scalar
                guard current != sha else { return }
                try conn.query("UPDATE Configurations SET Active = NULL WHERE Active")
                try conn.query("INSERT INTO Configurations (Id, Value, CreateAt, Active, SHA) VALUES ($1, $2, $3, TRUE, $4)", [NewID.make(), value, now, sha])
                try conn.query(
                    "DELETE FROM Configurations WHERE Active IS NULL AND Id NOT IN (SELECT Id FROM Configurations WHERE Active IS NULL ORDER BY CreateAt DESC, Id DESC LIMIT $1)",
                    [String(Self.keepInactive)])
            }
        } catch {
            throw .unwritable("\(location.description): \(error)")
        }
    }

    /// The Id of the Active row, nil when there is none (or no table yet).
    func activeRowID() throws(ConfigStoreError) -> String? {
        let conn = try connect()
        do {
            guard try conn.query("SELECT to_regclass('configurations') IS NOT NULL").scalar == "t" else { return nil }
            return try conn.query("SELECT Id FROM Configurations WHERE Active").scalar
        } catch {
            throw .unreadable("\(location.description): \(error)")
        }
    }

    /// Makes `rowID` the Active row again (nil: no row active), in one transaction.
    func activate(rowID: String?) throws(ConfigStoreError) {
        let conn = try connect()
        do {
            try conn.transaction {
                try conn.query("SELECT pg_advisory_xact_lock(\(Self.writeLockKey))")
                guard try conn.query("SELECT to_regclass('configurations') IS NOT NULL").scalar == "t" else { return }
                try conn.query("UPDATE Configurations SET Active = NULL WHERE Active")
                if let rowID { try conn.query("UPDATE Configurations SET Active = TRUE WHERE Id = $1", [rowID]) }
            }
        } catch {
            throw .unwritable("\(location.description): \(error)")
        }
    }
}
