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
        try withResult(PostgresSQL.numbered(sql), parameters.map(PostgresSQL.text)) { affected($0) }
    }

    public func query(_ sql: String, _ parameters: [SQLValue], _ row: (any SQLRow) throws -> Void) throws {
        try withResult(PostgresSQL.numbered(sql), parameters.map(PostgresSQL.text)) { result in
            for i in 0..<rowCount(result) { try row(PGRow(self.row(result, i))) }
        }
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

/// One row in PostgreSQL's text format (integers as digits, booleans `t`/`f`), read in place.
struct PGRow: SQLRow {
    let row: PGResultRow
    init(_ row: PGResultRow) { self.row = row }

    func string(_ column: Int32) -> String? { row.string(column) }
    func int64(_ column: Int32) -> Int64 {
        row.withText(column) { text in
            guard let text, !text.isEmpty else { return 0 }
            if text.count == 1, text[0] == UInt8(ascii: "t") { return 1 }
            var n: Int64 = 0
            var negative = false
            for (i, b) in text.enumerated() {
                if i == 0, b == UInt8(ascii: "-") { negative = true; continue }
                guard b >= 48, b <= 57 else { return 0 }
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(b - 48))
                if o1 || o2 { return 0 }
                n = a
            }
            return negative ? -n : n
        }
    }
    func isNull(_ column: Int32) -> Bool { row.isNull(column) }
    func withText<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T { row.withText(column, body) }
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
