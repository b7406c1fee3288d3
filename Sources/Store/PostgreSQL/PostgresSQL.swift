import Postgres
import StewardModel

/// The store's database cannot be reached now (stopped, restarting, unreachable): requests that
/// need it answer 503 at once; the pool reconnects when it is back. `detail` has no secret.
public struct StoreUnavailableError: Error, Sendable, CustomStringConvertible {
    public var detail: String
    public var description: String { "the database is unavailable: \(detail)" }
}

/// PostgreSQL's side of the store interface: `PGConnection` is an `SQLConnection` (the domain's
/// `?` placeholders numbered `$1`, `$2`, …; values sent as text parameters).
extension PGConnection: SQLConnection {
    public var dialect: SQLDialect { .postgres }

    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        try query(PostgresSQL.numbered(sql), parameters.map(PostgresSQL.text)).affected
    }

    public func query(_ sql: String, _ parameters: [SQLValue], _ row: (any SQLRow) throws -> Void) throws {
        let rows = try query(PostgresSQL.numbered(sql), parameters.map(PostgresSQL.text))
        for values in rows.rows { try row(PGRow(values: values)) }
    }

    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try transaction("READ COMMITTED", body)
    }

    public func tableNames() throws -> [String] {
        try all("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name") {
            $0.string(0) ?? ""
        }
    }
}

/// One row of text values (PostgreSQL's text format: integers as digits, booleans `t`/`f`).
struct PGRow: SQLRow {
    let values: [String?]

    func string(_ column: Int32) -> String? { Int(column) < values.count ? values[Int(column)] : nil }
    func int64(_ column: Int32) -> Int64 {
        guard let s = string(column) else { return 0 }
        return Int64(s) ?? (s == "t" ? 1 : 0)
    }
    func isNull(_ column: Int32) -> Bool { string(column) == nil }
    func withText<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
        guard var s = string(column) else { return body(nil) }
        return s.withUTF8 { body($0) }
    }
}

enum PostgresSQL {
    static func text(_ value: SQLValue) -> String? {
        switch value {
        case .text(let s): return s
        case .int(let n): return String(n)
        case .null: return nil
        }
    }

    /// Numbered statements by their `?` text (the domain's statements are a fixed set; lists with
    /// a variable number of types add a few).
    private static let cache = Locked<[String: String]>([:])

    /// `sql` with each `?` outside quotes, identifiers and comments numbered `$1`, `$2`, ….
    static func numbered(_ sql: String) -> String {
        if let hit = cache.withLock({ $0[sql] }) { return hit }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var n = 0
        var quote: Character?
        var previous: Character?
        var lineComment = false
        for c in sql {
            if lineComment {
                out.append(c)
                if c == "\n" { lineComment = false }
            } else if let q = quote {
                out.append(c)
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "-" && previous == "-" {
                lineComment = true
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
            previous = c
        }
        cache.withLock { c in
            if c.count > 1024 { c.removeAll() }
            c[sql] = out
        }
        return out
    }
}
