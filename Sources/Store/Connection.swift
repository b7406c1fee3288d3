import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// One SQLite connection with a cache of prepared statements.
///
/// Not thread-safe: the pool hands a connection to one caller at a time.
public final class Connection: @unchecked Sendable {
    let handle: OpaquePointer
    public let path: String
    public let isReadOnly: Bool
    /// The pool generation this connection was opened in; a recycle bumps the pool's generation.
    let generation: Int
    private var statementCache: [String: Statement] = [:]
    private var statementEpoch = 0
    /// The owner of this connection's WAL hook, kept as long as the hook may be called.
    var walCheckpoints: WALCheckpoints?

    /// - Parameter noFollow: refuse a path with a symbolic link in it (SQLITE_OPEN_NOFOLLOW).
    let busyTimeoutMilliseconds: Int

    /// Runs `body` with SQLite's busy timeout at zero: a lock held by another process fails at once
    /// (`SQLiteError.isBusy`) instead of waiting.
    func withoutWaiting<T>(_ body: () throws -> T) rethrows -> T {
        sqlite3_busy_timeout(handle, 0)
        defer { sqlite3_busy_timeout(handle, Int32(busyTimeoutMilliseconds)) }
        return try body()
    }

    public init(path: String, readOnly: Bool, busyTimeoutMilliseconds: Int, generation: Int = 0, noFollow: Bool = false) throws {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | (noFollow ? SQLITE_OPEN_NOFOLLOW : 0)
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        self.handle = db
        self.path = path
        self.isReadOnly = readOnly
        self.generation = generation
        sqlite3_busy_timeout(db, Int32(busyTimeoutMilliseconds))
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        if !readOnly {
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=NORMAL")
        }
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errmsg)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    /// A prepared statement, reused across calls on this connection.
    public func cached(_ sql: String) throws -> Statement {
        if let s = statementCache[sql] {
            s.reset()
            return s
        }
        let s = try Statement(connection: self, sql: sql)
        statementCache[sql] = s
        return s
    }

    /// Drops every cached prepared statement (they are re-prepared on next use).
    public func clearStatementCache() {
        statementCache.removeAll()
    }

    public var cachedStatementCount: Int { statementCache.count }

    /// Clears the statement cache when the pool asked for it after this connection last looked.
    func refreshStatementCache(epoch: Int) {
        if epoch != statementEpoch {
            statementCache.removeAll()
            statementEpoch = epoch
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// True while a transaction is open (explicit, or a statement that was stepped and not reset).
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    func error(_ rc: Int32, sql: String? = nil) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Copies this connection's main database into a new file at `path` with SQLite's online backup,
    /// `pagesPerStep` pages at a time. `step` gets (copied, total) pages and returns false to stop
    /// (the copy is then removed). Run inside a read transaction so concurrent writers do not force
    /// the copy to restart.
    public func backup(into path: String, pagesPerStep: Int32, step: (Int, Int) throws -> Bool) throws {
        var dest: OpaquePointer?
        guard sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let dest else {
            sqlite3_close_v2(dest)
            throw SQLiteError(code: SQLITE_CANTOPEN, message: "cannot create \(path)")
        }
        defer { sqlite3_close_v2(dest) }
        guard let backup = sqlite3_backup_init(dest, "main", handle, "main") else {
            throw SQLiteError(code: sqlite3_errcode(dest), message: String(cString: sqlite3_errmsg(dest)))
        }
        var rc: Int32 = SQLITE_OK
        var keepGoing = true
        do {
            while keepGoing {
                rc = sqlite3_backup_step(backup, pagesPerStep)
                let total = Int(sqlite3_backup_pagecount(backup))
                let copied = total - Int(sqlite3_backup_remaining(backup))
                if rc == SQLITE_DONE { _ = try step(copied, total); break }
                if rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED { break }
                keepGoing = try step(copied, total)
            }
        } catch {
            sqlite3_backup_finish(backup)
            unlink(path)
            throw error
        }
        sqlite3_backup_finish(backup)
        if rc != SQLITE_DONE {
            unlink(path)
            if keepGoing { throw SQLiteError(code: rc, message: "backup failed") }
        }
    }

    /// Names of the tables in the main schema.
    public func tableNames() throws -> [String] {
        let s = try cached("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        var names: [String] = []
        while try s.step() { names.append(s.string(0) ?? "") }
        return names
    }
}

/// A prepared statement. Bind by 1-based index, step, read columns by 0-based index.
public final class Statement {
    let handle: OpaquePointer
    unowned let connection: Connection
    let sql: String
    /// The first bind that failed since the last reset (an index out of range, no memory): `step`
    /// throws it rather than running the statement with a parameter missing. Binds chain, so the
    /// error waits here instead of making every call site `try`.
    private var bindFailure: Int32 = SQLITE_OK

    init(connection: Connection, sql: String) throws {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw connection.error(rc, sql: sql) }
        self.handle = stmt
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        bindFailure = SQLITE_OK
    }

    @discardableResult
    public func bind(_ index: Int32, _ value: Int64?) -> Statement {
        record(value.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index))
        return self
    }

    @discardableResult
    public func bind(_ index: Int32, _ value: String?) -> Statement {
        // The length is given: a NUL inside the text (rows of a foreign database can hold one) is kept.
        record(value.map { sqlite3_bind_text(handle, index, $0, Int32($0.utf8.count), steward_sqlite_transient()) } ?? sqlite3_bind_null(handle, index))
        return self
    }

    /// Binds `bytes` as text exactly (no UTF-8 repair): a key read from a row, to find that row's
    /// siblings. SQLite copies them.
    @discardableResult
    public func bindText(_ index: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> Statement {
        // A zero-length text needs a non-nil pointer, or SQLite binds NULL.
        let empty: UInt8 = 0
        return withUnsafePointer(to: empty) { fallback in
            let p = bytes.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(fallback)
            record(sqlite3_bind_text64(handle, index, p.assumingMemoryBound(to: CChar.self), sqlite3_uint64(bytes.count),
                                       steward_sqlite_transient(), UInt8(SQLITE_UTF8)))
            return self
        }
    }

    private func record(_ rc: Int32) {
        if rc != SQLITE_OK && bindFailure == SQLITE_OK { bindFailure = rc }
    }

    /// Advances to the next row; `false` when done. Throws a failed bind first.
    public func step() throws -> Bool {
        if bindFailure != SQLITE_OK {
            let e = SQLiteError(code: bindFailure, message: "binding a parameter failed (\(String(cString: sqlite3_errstr(bindFailure)))) in: \(sql)")
            reset()
            throw e
        }
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let e = connection.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw e
        }
    }

    /// Runs a statement that returns no rows.
    public func run() throws {
        while try step() {}
    }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// The column's text as bytes without copying, nil for NULL; valid only inside `body`.
    public func withText<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>?) -> T) -> T {
        guard let p = sqlite3_column_text(handle, column) else { return body(nil) }
        return body(UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, column))))
    }

    public func string(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: p)
    }
}
