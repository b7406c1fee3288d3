/// The store as the domain sees it, whichever database is behind it: SQLite (the embedded default,
/// `DatabasePool`) or PostgreSQL (`PostgresPool`). Statements are written once with `?`
/// placeholders; the PostgreSQL side numbers them (`$1`, …). SQL that must differ between the two
/// (DDL types, a few functions) is chosen by `dialect` where it is written — migrations give both.
public enum SQLDialect: String, Sendable, Equatable {
    case sqlite
    case postgres
}

/// An identifier (table, column) as SQL text in double quotes, quotes inside doubled: the same on
/// SQLite and PostgreSQL, so a name read from a catalogue or a config cannot become SQL.
public func quotedIdentifier(_ name: String) -> String {
    "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
}

/// A statement parameter.
public enum SQLValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case text(String)
    case int(Int64)
    case null

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }

    public static func of(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    public static func of(_ value: Int64?) -> SQLValue { value.map { .int($0) } ?? .null }
}

/// One result row, read by column index (0-based).
public protocol SQLRow {
    func string(_ column: Int32) -> String?
    func int64(_ column: Int32) -> Int64
    func isNull(_ column: Int32) -> Bool
    /// The column's UTF-8 bytes without a copy where the database allows it (nil for NULL).
    func withText<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T
}

/// A connection as the domain uses it: one caller at a time (the store serializes).
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs statements without parameters (DDL, `BEGIN`).
    func execute(_ sql: String) throws
    /// Runs one statement; returns the rows it changed.
    @discardableResult
    func run(_ sql: String, _ parameters: [SQLValue]) throws -> Int
    /// Runs one query and hands each row to `row` (valid only during the call).
    func query(_ sql: String, _ parameters: [SQLValue], _ row: (any SQLRow) throws -> Void) throws
    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T
    /// The tables of the store (its main schema), sorted.
    func tableNames() throws -> [String]
}

extension SQLConnection {
    /// The first row mapped by `map`, nil when there is none.
    public func first<T>(_ sql: String, _ parameters: [SQLValue] = [], _ map: (any SQLRow) throws -> T) throws -> T? {
        var out: T?
        try query(sql, parameters) { row in
            if out == nil { out = try map(row) }
        }
        return out
    }

    /// Every row of a long query, without holding them all: on PostgreSQL (whose client library
    /// would copy the whole result at once) through a server-side cursor fetched `batch` rows at a
    /// time, which must run inside the caller's transaction; on SQLite the rows are stepped anyway.
    public func streamRows(_ sql: String, _ parameters: [SQLValue], batch: Int = 10_000, _ row: (any SQLRow) throws -> Void) throws {
        guard dialect == .postgres else { return try query(sql, parameters, row) }
        try run("DECLARE steward_rows NO SCROLL CURSOR FOR " + sql, parameters)
        defer { try? execute("CLOSE steward_rows") }
        while true {
            var n = 0
            try query("FETCH \(batch) FROM steward_rows", []) { r in
                n += 1
                try row(r)
            }
            if n < batch { return }
        }
    }

    /// Every row mapped by `map`.
    public func all<T>(_ sql: String, _ parameters: [SQLValue] = [], _ map: (any SQLRow) throws -> T) throws -> [T] {
        var out: [T] = []
        try query(sql, parameters) { out.append(try map($0)) }
        return out
    }
}

/// The store: one writer at a time, concurrent readers.
public protocol SQLStore: Sendable {
    var dialect: SQLDialect { get }
    /// Whether a read or a one-row write may run on a connection's event loop: true for SQLite
    /// (a local file, bounded work), false for PostgreSQL (a network round trip, and a server that
    /// may be down): there the caller takes the async path.
    var answersOnTheLoop: Bool { get }

    // The domain's access (named apart from `DatabasePool`'s own `write`/`read`, which hand out
    // SQLite's `Connection` to the few callers that need SQLite itself: backup, integrity).
    func writeSQLSync<T>(_ body: (any SQLConnection) throws -> T) throws -> T
    func readSQLSync<T>(_ body: (any SQLConnection) throws -> T) throws -> T
    @discardableResult
    func writeSQL<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T
    func readSQL<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T
    /// A short write committed with others waiting for the writer (group commit where supported).
    func writeSQLCombined<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T
    /// `writeSQLSync` only if it can run at once without waiting; nil otherwise (nothing was run).
    func writeSQLIfFree<T>(_ body: (any SQLConnection) throws -> T) throws -> T?

    /// Closes and reopens every connection without failing work in flight.
    func recycle() throws
    /// How many times the connections were recycled.
    var generation: Int { get }
    /// Drops every cached prepared statement.
    func clearStatementCaches()
}
