import CLibPQ
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// A failed libpq call. `message` is libpq's or the server's text with the DSN's secrets masked;
/// `sqlState` is the server's five-character code when there is one.
public struct PGError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case connect, connectionLost, statement }
    public var kind: Kind
    public var sqlState: String?
    public var message: String

    public var description: String {
        let what: String
        switch kind {
        case .connect: what = "cannot connect to PostgreSQL"
        case .connectionLost: what = "the connection to PostgreSQL was lost"
        case .statement: what = "PostgreSQL error" + (sqlState.map { " \($0)" } ?? "")
        }
        return message.isEmpty ? what : "\(what): \(message)"
    }

    /// The server refused the password or the role (28P01, 28000).
    public var isAuthentication: Bool { sqlState?.hasPrefix("28") == true }
    /// A unique or primary key was violated (23505).
    public var isUniqueViolation: Bool { sqlState == "23505" }
}

/// libpq, opened the first time a PostgreSQL store is used (`steward_pq_load`): a daemon on
/// SQLite never loads it or the libraries it brings.
enum LibPQ {
    static let api: Result<steward_pq_api, PGError> = {
        var api = steward_pq_api()
        if let failure = steward_pq_load(&api) {
            return .failure(PGError(kind: .connect, message: "libpq (libpq.so.5, Debian's libpq5) cannot be loaded: \(String(cString: failure))"))
        }
        return .success(api)
    }()
}

/// The rows of one statement, copied out of libpq's result (text format; NULL is nil).
public struct PGRows: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    /// Rows the statement changed (INSERT, UPDATE, DELETE), from `PQcmdTuples`.
    public var affected: Int

    public var first: [String?]? { rows.first }

    /// The first column of the first row.
    public var scalar: String? { rows.first?.first ?? nil }
}

/// One row of a live libpq result, its text values read in place (valid while the result is).
public struct PGResultRow {
    let pq: steward_pq_api
    let result: OpaquePointer
    let row: Int32

    public var columnCount: Int { Int(pq.nfields!(result)) }
    public func isNull(_ column: Int32) -> Bool { column >= pq.nfields!(result) || pq.getisnull!(result, row, column) == 1 }
    public func string(_ column: Int32) -> String? {
        isNull(column) ? nil : pq.getvalue!(result, row, column).map { String(cString: $0) }
    }
    public func withText<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
        guard !isNull(column), let p = pq.getvalue!(result, row, column) else { return body(nil) }
        return p.withMemoryRebound(to: UInt8.self, capacity: 1) { body(UnsafeBufferPointer(start: $0, count: Int(pq.getlength!(result, row, column)))) }
    }
}

/// One libpq connection, used by one thread at a time (the caller serializes).
///
/// Statements are sent with text parameters (`PQexecParams`, or `PQexecPrepared` for a statement
/// seen before), so values never become SQL text.
/// libpq's notices are dropped (its default prints them on stderr); the password is used only to
/// connect and never appears in an error.
public final class PGConnection: @unchecked Sendable {
    let handle: OpaquePointer
    let pq: steward_pq_api
    public let dsn: PostgresDSN

    /// Connects; `statementTimeoutMilliseconds` bounds every statement on this connection (the
    /// server cancels one that runs longer, SQLSTATE 57014), `applicationName` shows in
    /// `pg_stat_activity`.
    public init(_ dsn: PostgresDSN, statementTimeoutMilliseconds: Int? = nil, applicationName: String = "stewardd") throws(PGError) {
        var d = dsn
        if d.value("application_name") == nil { d = d.setting("application_name", applicationName) }
        if d.value("connect_timeout") == nil { d = d.setting("connect_timeout", "10") }
        if let ms = statementTimeoutMilliseconds {
            let given = d.value("options").map { $0 + " " } ?? ""
            d = d.setting("options", given + "-c statement_timeout=\(ms)")
        }
        self.dsn = d
        let pq = try LibPQ.api.get()
        self.pq = pq
        let names = d.keywords.map { strdup($0.name) } + [nil]
        let values = d.keywords.map { strdup($0.value) } + [nil]
        defer {
            names.forEach { free($0) }
            values.forEach { free($0) }
        }
        let conn = names.map { UnsafePointer($0) }.withUnsafeBufferPointer { n in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                pq.connectdbParams!(n.baseAddress, v.baseAddress, 0)
            }
        }
        guard let conn else { throw PGError(kind: .connect, message: "out of memory") }
        guard pq.status!(conn) == CONNECTION_OK else {
            let message = d.masking(Self.trimmed(pq.errorMessage!(conn)))
            pq.finish!(conn)
            throw PGError(kind: .connect, sqlState: Self.authenticationState(message), message: message)
        }
        withUnsafePointer(to: pq) { steward_pq_quiet($0, conn) }
        self.handle = conn
    }

    deinit { pq.finish!(handle) }

    /// True while the connection is up (false after the server went away).
    public var isConnected: Bool { pq.status!(handle) == CONNECTION_OK }

    /// False for a connection that was idle while the server ended it (a restart, a terminated
    /// backend): libpq only notices on the next statement, which would then fail. A pooled idle
    /// connection (no LISTEN) has nothing to read, so a readable socket is the server's goodbye
    /// (its FATAL message, then the end of the stream) — or, rarely, a notice, and then the cost
    /// of the doubt is one new connection.
    public var isUsable: Bool {
        guard isConnected else { return false }
        var p = pollfd(fd: pq.socket!(handle), events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
    }

    /// The server's version number (150018 for 15.18).
    public var serverVersion: Int { Int(pq.serverVersion!(handle)) }

    /// The server process serving this connection.
    public var backendPID: Int32 { pq.backendPID!(handle) }

    /// Runs one or more statements without parameters (the simple protocol).
    public func execute(_ sql: String) throws(PGError) {
        let result = pq.exec!(handle, sql)
        defer { pq.clear!(result) }
        try check(result)
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …; nil is NULL) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PGError) -> PGRows {
        do {
            return try withResult(sql, parameters) { rows($0) }
        } catch let e as PGError {
            throw e
        } catch {
            // `rows` does not throw: only libpq's errors get here.
            throw PGError(kind: .statement, message: "\(error)")
        }
    }

    /// Runs one statement and hands `body` its result while it lives (values are read in place by
    /// `PGResultRow`, not copied). A statement seen before runs prepared: parsed and planned once
    /// per connection, as Mattermost's driver does with `db.Prepare`; a statement seen once (a
    /// per-table integrity query) is not worth the extra round trip of preparing it.
    public func withResult<T>(_ sql: String, _ parameters: [String?], _ body: (OpaquePointer) throws -> T) throws -> T {
        let result = try withCStrings(parameters) { values throws(PGError) in
            try send(sql, count: Int32(parameters.count), values: values)
        }
        defer { pq.clear!(result) }
        try check(result)
        return try body(result!)
    }

    /// `values` as C strings (nil stays NULL) for a libpq call, freed after `body`.
    func withCStrings<T, E: Error>(_ values: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) throws(E) -> T) throws(E) -> T {
        let copies = values.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        return try copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { p throws(E) in try body(p.baseAddress) }
    }

    /// Statement names by SQL text on this connection, and statements seen once (to be prepared
    /// when seen again). Both bounded: past `preparedLimit` they are dropped with DEALLOCATE ALL.
    var prepared: [String: String] = [:]
    private var seenOnce: Set<String> = []
    private var preparedNames = 0
    static let preparedLimit = 256

    /// Prepared statements on this connection (tests).
    public var preparedCount: Int { prepared.count }

    private func send(_ sql: String, count: Int32, values: UnsafePointer<UnsafePointer<CChar>?>?) throws(PGError) -> OpaquePointer? {
        if let name = prepared[sql] {
            let result = pq.execPrepared!(handle, name, count, values, nil, nil, 0)
            // Gone from the server (DISCARD ALL, a pooler) or its result type changed under it
            // (a column added): forget it and run the text once more.
            guard let result, let state = pq.resultErrorField!(result, Int32(UInt8(ascii: "C"))).map({ String(cString: $0) }),
                  state == "26000" || state == "0A000" else { return result }
            pq.clear!(result)
            prepared[sql] = nil
            return pq.execParams!(handle, sql, count, nil, values, nil, nil, 0)
        }
        guard Self.preparable(sql), seenOnce.remove(sql) != nil else {
            if Self.preparable(sql) {
                if seenOnce.count >= Self.preparedLimit { seenOnce.removeAll() }
                seenOnce.insert(sql)
            }
            return pq.execParams!(handle, sql, count, nil, values, nil, nil, 0)
        }
        if prepared.count >= Self.preparedLimit {
            try execute("DEALLOCATE ALL")
            prepared.removeAll()
        }
        preparedNames += 1
        let name = "steward_\(preparedNames)"
        let preparing = pq.prepare!(handle, name, sql, count, nil)
        defer { pq.clear!(preparing) }
        try check(preparing)
        prepared[sql] = name
        return pq.execPrepared!(handle, name, count, values, nil, nil, 0)
    }

    /// Plain DML only (what `PREPARE` takes): cursor commands and other utility statements run
    /// as text.
    static func preparable(_ sql: String) -> Bool {
        let head = sql.utf8.prefix(7).map { $0 | 0x20 }
        for keyword in ["select", "insert", "update", "delete", "with "] where head.starts(with: keyword.utf8) { return true }
        return false
    }

    /// The row count of a result and one row of it, read in place.
    public func rowCount(_ result: OpaquePointer) -> Int { Int(pq.ntuples!(result)) }
    public func row(_ result: OpaquePointer, _ index: Int) -> PGResultRow { PGResultRow(pq: pq, result: result, row: Int32(index)) }
    /// Rows a statement changed (INSERT, UPDATE, DELETE), from `PQcmdTuples`.
    public func affected(_ result: OpaquePointer) -> Int { pq.cmdTuples!(result).flatMap { Int(String(cString: $0)) } ?? 0 }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ isolation: String = "READ COMMITTED", _ body: () throws -> T) throws -> T {
        try execute("BEGIN ISOLATION LEVEL \(isolation)")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isConnected { try? execute("ROLLBACK") }
            throw error
        }
    }

    func check(_ result: OpaquePointer?) throws(PGError) {
        guard let result else {
            throw PGError(kind: isConnected ? .statement : .connectionLost, message: dsn.masking(Self.trimmed(pq.errorMessage!(handle))))
        }
        switch pq.resultStatus!(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            let state = pq.resultErrorField!(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let primary = pq.resultErrorField!(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            let message = dsn.masking(primary ?? Self.trimmed(pq.resultErrorMessage!(result)))
            throw PGError(kind: isConnected ? .statement : .connectionLost, sqlState: state, message: message)
        }
    }

    private func rows(_ result: OpaquePointer) -> PGRows {
        let n = Int(pq.ntuples!(result)), m = Int(pq.nfields!(result))
        let columns = (0..<m).map { c in pq.fname!(result, Int32(c)).map { String(cString: $0) } ?? "" }
        var rows: [[String?]] = []
        rows.reserveCapacity(n)
        for r in 0..<n {
            rows.append((0..<m).map { c in
                pq.getisnull!(result, Int32(r), Int32(c)) == 1 ? nil : pq.getvalue!(result, Int32(r), Int32(c)).map { String(cString: $0) }
            })
        }
        return PGRows(columns: columns, rows: rows, affected: affected(result))
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        var s = String(cString: message)
        while s.last?.isWhitespace == true { s.removeLast() }
        return s
    }

    /// libpq reports a refused login only as text; the server's code is 28P01 or 28000.
    private static func authenticationState(_ message: String) -> String? {
        if message.contains("password authentication failed") || message.contains("no password supplied") { return "28P01" }
        if message.contains("role \"") && message.contains("does not exist") { return "28000" }
        return nil
    }
}
