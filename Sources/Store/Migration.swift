/// A named schema change in plain SQL. Once shipped, a migration is never edited: add a new one.
public struct Migration: Sendable {
    public var name: String
    public var sql: String
    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}

enum Migrator {
    /// Applies, in order and each in its own transaction, the migrations not yet recorded.
    static func apply(_ migrations: [Migration], on conn: Connection) throws {
        try conn.execute(
            "CREATE TABLE IF NOT EXISTS StewardMigrations (Name TEXT PRIMARY KEY NOT NULL, AppliedAt INTEGER NOT NULL)")
        for m in migrations {
            let check = try conn.cached("SELECT 1 FROM StewardMigrations WHERE Name = ?")
            check.bind(1, m.name)
            let applied = try check.step()
            check.reset()
            if applied { continue }
            try conn.transaction {
                try conn.execute(m.sql)
                let record = try conn.cached("INSERT INTO StewardMigrations (Name, AppliedAt) VALUES (?, strftime('%s','now'))")
                record.bind(1, m.name)
                try record.run()
            }
        }
    }
}
