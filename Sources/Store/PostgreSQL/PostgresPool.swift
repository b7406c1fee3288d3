import Dispatch
import Postgres
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// The store on PostgreSQL: one writer connection (writes are serialized in this process, as on
/// SQLite), a bounded set of reader connections, and up to `maxCombinedWriters` connections that
/// commit batches of independent inserts (group commit, `PostgresCombinedWrites.swift`), all from
/// one DSN.
///
/// Faults: a connection that fails or is lost is dropped and the call fails with
/// `StoreUnavailableError` (503); the next call connects again. After a failed connect, calls fail
/// at once for `retryAfterMilliseconds` instead of each waiting for a connect to time out, so a
/// stopped server costs a request nothing but its answer. Every statement is bounded by the
/// server-side statement timeout. Calls block: the async forms run them on the blocking pool,
/// never on a connection's loop (`answersOnTheLoop` is false).
public final class PostgresPool: SQLStore, @unchecked Sendable {
    public struct Options: Sendable {
        public var dsn: PostgresDSN
        /// Readers open at once; past it a read waits for one to come back.
        public var maxReaders: Int
        public var statementTimeoutMilliseconds: Int
        public var retryAfterMilliseconds: Int
        /// Batches of combined writes committing at once, each on a connection of its own: while
        /// one waits for its WAL flush the next is already sent, and the server flushes them
        /// together.
        public var maxCombinedWriters: Int

        public init(dsn: PostgresDSN, maxReaders: Int = 4, statementTimeoutMilliseconds: Int = 60_000, retryAfterMilliseconds: Int = 1000,
                    maxCombinedWriters: Int = 2) {
            self.dsn = dsn
            self.maxReaders = max(1, maxReaders)
            self.maxCombinedWriters = max(1, maxCombinedWriters)
            self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
            self.retryAfterMilliseconds = retryAfterMilliseconds
        }
    }

    public let options: Options
    private let writer = Locked<PGConnection?>(nil)
    private let idleReaders = Locked<[PGConnection]>([])
    private let readerPlaces: DispatchSemaphore
    private let idleCombinedWriters = Locked<[PGConnection]>([])
    private let combinedWriterPlaces: DispatchSemaphore
    /// Until when (ms since the epoch) calls fail at once after a failed connect, and why.
    private let down = Locked<(until: Int64, reason: String)?>(nil)
    private let recycles = Locked(0)
    /// Writes waiting for group commit, the drainers committing them (at most
    /// `maxCombinedWriters`), how many were ever queued (tests wait for theirs) and how many
    /// batches went in one pipeline.
    let combined = Locked<(waiting: [PostgresCombinedWrite], drainers: Int, queued: Int, pipelined: Int)>(([], 0, 0, 0))
    private let attempts = Locked(0)
    /// Connections attempted so far (tests: a server known to be down is not dialled again).
    public var connectAttempts: Int { attempts.withLock { $0 } }
    public var generation: Int { recycles.withLock { $0 } }

    public var dialect: SQLDialect { .postgres }
    public var answersOnTheLoop: Bool { false }

    /// Connects and applies `migrations`. Throws `StoreUnavailableError` when the server cannot be
    /// reached, `SchemaTooNewError` when the schema is newer than this binary.
    public init(options: Options, migrations: [Migration]) throws {
        self.options = options
        self.readerPlaces = DispatchSemaphore(value: options.maxReaders)
        self.combinedWriterPlaces = DispatchSemaphore(value: options.maxCombinedWriters)
        let conn = try connect()
        try Migrator.apply(migrations, on: conn, now: Int64(time(nil)))
        writer.withLock { $0 = conn }
    }

    // MARK: SQLStore

    public func writeSQLSync<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try writer.withLock { slot -> T in
            if slot == nil || slot?.isUsable == false { slot = try connect() }
            let conn = slot!
            do {
                return try body(conn)
            } catch let e as PGError where e.kind != .statement || !conn.isConnected {
                slot = nil
                throw StoreUnavailableError(detail: e.description)
            }
        }
    }

    public func readSQLSync<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try withPooled(idleReaders, readerPlaces, keep: options.maxReaders, body)
    }

    public func writeSQL<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await BlockingPool.shared.run { try self.writeSQLSync(body) }
    }

    public func readSQL<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await BlockingPool.shared.run { try self.readSQLSync(body) }
    }

    /// Group commit (`PostgresCombinedWrites.swift`): `body` may run in one transaction with other
    /// waiting writes, so it must not begin or end one.
    public func writeSQLCombined<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await CombinedWrite.submit(body) { enqueueCombined($0) }
    }

    /// Never on the caller's thread: a network round trip must not run on a connection's loop.
    public func writeSQLIfFree<T>(_ body: (any SQLConnection) throws -> T) throws -> T? { nil }

    /// A new writer connection first (if it cannot be made, the current one stays and the error is
    /// thrown), then the readers are dropped: the next reads connect anew.
    public func recycle() throws {
        down.withLock { $0 = nil }
        let fresh = try connect()
        writer.withLock { $0 = fresh }
        idleReaders.withLock { $0.removeAll() }
        idleCombinedWriters.withLock { $0.removeAll() }
        recycles.withLock { $0 += 1 }
    }

    public func clearStatementCaches() {}

    /// A connection of the caller's own, outside the pool, for long maintenance (`VACUUM` of a big
    /// table must not hold the writer); `statementTimeoutMilliseconds` nil: no timeout.
    public func dedicatedConnection(statementTimeoutMilliseconds: Int? = nil) throws -> PGConnection {
        do {
            return try PGConnection(options.dsn, statementTimeoutMilliseconds: statementTimeoutMilliseconds, applicationName: "stewardd maintenance")
        } catch {
            throw StoreUnavailableError(detail: error.description)
        }
    }

    // MARK: connections

    /// `body` on a connection for combined writes (one of `maxCombinedWriters`; waits for a place).
    func combinedWriteSync<T>(_ body: (PGConnection) throws -> T) throws -> T {
        try withPooled(idleCombinedWriters, combinedWriterPlaces, keep: options.maxCombinedWriters, body)
    }

    /// `body` on an idle connection of `idle` (or a new one) once `places` has room; given back
    /// (at most `keep` stay idle) unless it was lost, which is `StoreUnavailableError`.
    private func withPooled<T>(_ idle: Locked<[PGConnection]>, _ places: DispatchSemaphore, keep: Int, _ body: (PGConnection) throws -> T) throws -> T {
        places.wait()
        defer { places.signal() }
        let conn = try Self.popUsable(idle) ?? connect()
        func giveBack() {
            guard conn.isConnected else { return }
            idle.withLock { if $0.count < keep { $0.append(conn) } }
        }
        do {
            let value = try body(conn)
            giveBack()
            return value
        } catch let e as PGError where e.kind != .statement || !conn.isConnected {
            throw StoreUnavailableError(detail: e.description)
        } catch {
            giveBack()
            throw error
        }
    }

    /// An idle connection the server has not ended meanwhile (the others are dropped).
    private static func popUsable(_ idle: Locked<[PGConnection]>) -> PGConnection? {
        while let conn = idle.withLock({ $0.popLast() }) {
            if conn.isUsable { return conn }
        }
        return nil
    }

    private func connect() throws -> PGConnection {
        let now = Self.nowMilliseconds()
        if let d = down.withLock({ $0 }), d.until > now { throw StoreUnavailableError(detail: d.reason) }
        attempts.withLock { $0 += 1 }
        do {
            let conn = try PGConnection(options.dsn, statementTimeoutMilliseconds: options.statementTimeoutMilliseconds)
            down.withLock { $0 = nil }
            return conn
        } catch {
            // A refused login is not "down": it would not get better by waiting.
            if !error.isAuthentication {
                down.withLock { $0 = (now + Int64(options.retryAfterMilliseconds), error.description) }
            }
            throw StoreUnavailableError(detail: error.description)
        }
    }

    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
