import Postgres
import StewardModel
import Store

/// Mattermost's database config store, on SQLite (`sqlite:///path`) or PostgreSQL
/// (`postgres://…`): `Configurations` (Id, Value, CreateAt, Active, SHA) with exactly one Active
/// row, and `ConfigurationFiles` (Name, Data, CreateAt, UpdateAt). A write whose SHA-256 equals
/// the active row's adds nothing; otherwise the new row becomes the only Active one in the same
/// transaction, and inactive rows beyond the newest `keepInactive` are pruned. On PostgreSQL the
/// tables have Mattermost's types, so Mattermost reads what Steward wrote and the other way round,
/// and writes take an advisory lock, so two writers are serialized rather than one failing on the
/// Active row's unique index. The statements are the same on both; what differs is `Dialect` below.
public struct DatabaseConfigStore: ConfigStore {
    public enum Database: Sendable, Equatable {
        /// `noFollow`: refuse a path with a symbolic link in it (a migrate's destination).
        case sqlite(path: String, noFollow: Bool)
        case postgres(PostgresDSN)
    }

    public let database: Database
    /// Inactive rows kept besides the active one (Mattermost's cleanup keeps the 5 newest).
    public static let keepInactive = 5

    public init(path: String, noFollow: Bool = false) { database = .sqlite(path: path, noFollow: noFollow) }
    public init(dsn: PostgresDSN) { database = .postgres(dsn) }

    public var location: ConfigLocation {
        switch database {
        case .sqlite(let path, _): return .database(path)
        case .postgres(let dsn): return .postgres(dsn)
        }
    }

    /// What the two databases spell differently.
    struct Dialect {
        var active: String
        var schema: String
        var lock: String?

        static let sqlite = Dialect(
            active: "1",
            schema: """
                CREATE TABLE IF NOT EXISTS Configurations (
                    Id TEXT PRIMARY KEY NOT NULL,
                    Value TEXT NOT NULL,
                    CreateAt INTEGER NOT NULL,
                    Active INTEGER UNIQUE CHECK (Active IS NULL OR Active = 1),
                    SHA TEXT NOT NULL DEFAULT ''
                );
                CREATE TABLE IF NOT EXISTS ConfigurationFiles (
                    Name TEXT PRIMARY KEY NOT NULL CHECK (length(Name) <= 64),
                    Data TEXT NOT NULL,
                    CreateAt INTEGER NOT NULL,
                    UpdateAt INTEGER NOT NULL
                );
                """,
            lock: nil)
        /// Mattermost's DDL for the two tables (its config migrations, on PostgreSQL).
        static let postgres = Dialect(
            active: "TRUE",
            schema: """
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
                """,
            // `pg_advisory_xact_lock`'s key for config writes ("stcf" as a number).
            lock: "SELECT pg_advisory_xact_lock(1937007462)")
    }

    var dialect: Dialect {
        if case .postgres = database { return .postgres }
        return .sqlite
    }

    /// A connection for one operation. PostgreSQL statements are bounded by a timeout, so a locked
    /// table cannot hang a request.
    func open(readOnly: Bool) throws(ConfigStoreError) -> any SQLConnection {
        switch database {
        case .sqlite(let path, let noFollow):
            do {
                return try Connection(path: path, readOnly: readOnly, busyTimeoutMilliseconds: SqlSettings.defaultBusyTimeoutMilliseconds, noFollow: noFollow)
            } catch {
                if readOnly { throw .missing(location.description) }
                throw .unwritable("\(location.description): \(error)")
            }
        case .postgres(let dsn):
            do {
                return try PGConnection(dsn, statementTimeoutMilliseconds: 30_000, applicationName: "stewardd config")
            } catch {
                throw .unreadable("\(location.description): \(error)")
            }
        }
    }

    func hasTables(_ conn: any SQLConnection) throws -> (configurations: Bool, files: Bool) {
        let names = Set(try conn.tableNames().map { $0.lowercased() })
        return (names.contains("configurations"), names.contains("configurationfiles"))
    }

    public func read() throws(ConfigStoreError) -> ConfigSnapshot {
        let conn = try open(readOnly: true)
        do {
            let tables = try hasTables(conn)
            guard tables.configurations,
                  let value = try conn.first("SELECT Value FROM Configurations WHERE Active = \(dialect.active)", [], { $0.string(0) }) ?? nil
            else { throw ConfigStoreError.missing(location.description) }
            let config = try ConfigCodec.decode(Array(value.utf8))
            var files: [String: [UInt8]] = [:]
            for name in ConfigSnapshot.referencedFiles(of: config) {
                guard tables.files, let data = try conn.first("SELECT Data FROM ConfigurationFiles WHERE Name = ?", [.text(name)], { $0.string(0) }) ?? nil
                else { throw ConfigStoreError.missing("\(location.description) file \(name)") }
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
        let conn = try open(readOnly: false)
        let d = dialect
        do {
            try conn.transaction {
                if let lock = d.lock { try conn.execute(lock) }
                let tables = try hasTables(conn)
                if !tables.configurations || !tables.files { try conn.execute(d.schema) }
                let now = SQLValue.int(WallClock.system.nowMilliseconds())
                for (name, data) in snapshot.files.sorted(by: { $0.key < $1.key }) {
                    try conn.run(
                        "INSERT INTO ConfigurationFiles (Name, Data, CreateAt, UpdateAt) VALUES (?, ?, ?, ?) ON CONFLICT (Name) DO UPDATE SET Data = excluded.Data, UpdateAt = excluded.UpdateAt",
                        [.text(name), .text(String(decoding: data, as: UTF8.self)), now, now])
                }
                let current = try conn.first("SELECT SHA FROM Configurations WHERE Active = \(d.active)", [], { $0.string(0) }) ?? nil
                guard current != sha else { return }
                try conn.run("UPDATE Configurations SET Active = NULL WHERE Active = \(d.active)", [])
                try conn.run("INSERT INTO Configurations (Id, Value, CreateAt, Active, SHA) VALUES (?, ?, ?, \(d.active), ?)",
                             [.text(NewID.make()), .text(value), now, .text(sha)])
                try conn.run(
                    "DELETE FROM Configurations WHERE Active IS NULL AND Id NOT IN (SELECT Id FROM Configurations WHERE Active IS NULL ORDER BY CreateAt DESC, Id DESC LIMIT ?)",
                    [.int(Int64(Self.keepInactive))])
            }
        } catch {
            throw .unwritable("\(location.description): \(error)")
        }
    }

    /// The Id of the Active row, nil when there is none (or no table yet). On PostgreSQL this also
    /// proves the database reachable and the login accepted before a migrate writes anything.
    func activeRowID() throws(ConfigStoreError) -> String? {
        let conn: any SQLConnection
        do {
            conn = try open(readOnly: true)
        } catch .missing {
            return nil
        }
        do {
            guard try hasTables(conn).configurations else { return nil }
            return try conn.first("SELECT Id FROM Configurations WHERE Active = \(dialect.active)", [], { $0.string(0) }) ?? nil
        } catch {
            throw .unreadable("\(location.description): \(error)")
        }
    }

    /// Makes `rowID` the Active row again (nil: no row active), in one transaction.
    func activate(rowID: String?) throws(ConfigStoreError) {
        let conn = try open(readOnly: false)
        let d = dialect
        do {
            try conn.transaction {
                if let lock = d.lock { try conn.execute(lock) }
                guard try hasTables(conn).configurations else { return }
                try conn.run("UPDATE Configurations SET Active = NULL WHERE Active = \(d.active)", [])
                if let rowID { try conn.run("UPDATE Configurations SET Active = \(d.active) WHERE Id = ?", [.text(rowID)]) }
            }
        } catch {
            throw .unwritable("\(location.description): \(error)")
        }
    }
}
