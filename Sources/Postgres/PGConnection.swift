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

/// One libpq connection, used by one thread at a time (the caller serializes).
///
/// Statements are sent with `PQexecParams` and text parameters, so values never become SQL text.
/// libpq's notices are dropped (its default prints them on stderr); the password is used only to
/// connect and never appears in an error.
public final class PGConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private let pq: steward_pq_api
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
        let copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let result = copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { p in
            pq.execParams!(handle, sql, Int32(p.count), nil, p.baseAddress, nil, nil, 0)
        }
        defer { pq.clear!(result) }
        try check(result)
        return rows(result!)
    }

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

    private func check(_ result: OpaquePointer?) throws(PGError) {
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
        let affected = pq.cmdTuples!(result).flatMap { Int(String(cString: $0)) } ?? 0
        return PGRows(columns: columns, rows: rows, affected: affected)
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
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
