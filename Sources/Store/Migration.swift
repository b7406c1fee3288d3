/// A named schema change, in each dialect's SQL. Once shipped, a migration is never edited: add a
/// new one. `postgres` nil: the change has no PostgreSQL counterpart (SQLite-only indexes tuned
/// for its planner); it is recorded as applied there all the same, so both stores know the same
/// names.
public struct Migration: Sendable {
    public var name: String
    public var sqlite: String
    public var postgres: String?

    public init(name: String, sqlite: String, postgres: String?) {
        self.name = name
        self.sqlite = sqlite
        self.postgres = postgres
    }

    /// The same SQL on both dialects (portable DDL).
    public init(name: String, sql: String) {
        self.init(name: name, sqlite: sql, postgres: sql)
    }

    func sql(for dialect: SQLDialect) -> String? {
        switch dialect {
        case .sqlite: return sqlite
        case .postgres: return postgres
        }
    }
}

/// The store's schema is newer than this binary: it was migrated by a later version, whose
/// migrations this one does not know. Running on it could corrupt it, so the daemon refuses.
public struct SchemaTooNewError: Error, Sendable, CustomStringConvertible {
    public var unknown: [String]
    public var description: String {
        "the store's schema is newer than this stewardd: it has migrations this version does not know (\(unknown.joined(separator: ", "))); run the newer stewardd, or restore a backup made for this version"
    }
}

/// Applies migrations, on either dialect. The schema's version is the set of names recorded in
/// `StewardMigrations` (Name, AppliedAt): a store with a name the binary does not know is refused
/// (`SchemaTooNewError`) before anything is applied. On PostgreSQL a session advisory lock keeps two
/// daemons starting at once from applying the same migration twice.
public enum Migrator {
    static let postgresLockKey = "1937007469"

    /// Applies, in order and each in its own transaction, the migrations not yet recorded.
    public static func apply(_ migrations: [Migration], on conn: any SQLConnection, now: Int64) throws {
        switch conn.dialect {
        case .sqlite:
            try conn.execute("CREATE TABLE IF NOT EXISTS StewardMigrations (Name TEXT PRIMARY KEY NOT NULL, AppliedAt INTEGER NOT NULL)")
        case .postgres:
            try conn.execute("SELECT pg_advisory_lock(\(postgresLockKey))")
            try conn.execute("CREATE TABLE IF NOT EXISTS StewardMigrations (Name VARCHAR(128) PRIMARY KEY, AppliedAt BIGINT NOT NULL)")
        }
        defer { if conn.dialect == .postgres { try? conn.execute("SELECT pg_advisory_unlock(\(postgresLockKey))") } }
        let applied = Set(try conn.all("SELECT Name FROM StewardMigrations") { $0.string(0) ?? "" })
        let known = Set(migrations.map(\.name))
        let unknown = applied.subtracting(known)
        if !unknown.isEmpty { throw SchemaTooNewError(unknown: unknown.sorted()) }
        for m in migrations where !applied.contains(m.name) {
            try conn.transaction {
                if let sql = m.sql(for: conn.dialect) { try conn.execute(sql) }
                try conn.run("INSERT INTO StewardMigrations (Name, AppliedAt) VALUES (?, ?)", [.text(m.name), .int(now)])
            }
        }
    }
}
