import CSQLite
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import StewardModel

/// The store's connections: one writer (writes are serialized) and a small pool of readers, all on
/// one SQLite file in WAL mode.
///
/// `recycle()` closes and reopens every connection without failing work in flight: the pool moves to
/// a new generation, in-flight readers finish on their old connection and it is closed when they give
/// it back; the writer is swapped between two writes.
public final class DatabasePool: @unchecked Sendable {
    public struct Options: Sendable {
        public var path: String
        public var maxIdleReaders: Int
        public var busyTimeoutMilliseconds: Int
        /// Readers open at once, idle or busy: past it a read waits for one to come back.
        public var maxOpenReaders: Int
        public init(path: String, maxIdleReaders: Int = 4, busyTimeoutMilliseconds: Int = SqlSettings.defaultBusyTimeoutMilliseconds, maxOpenReaders: Int = 32) {
            self.path = path
            self.maxIdleReaders = maxIdleReaders
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
            self.maxOpenReaders = max(1, maxOpenReaders)
        }
    }

    private struct ReaderState {
        var options: Options
        var generation = 0
        var statementEpoch = 0
        var idle: [Connection] = []
    }

    let writer: Locked<Connection>
    private let readers: Locked<ReaderState>
    /// Combined writes waiting for the writer (`writeCombined`); every holder commits them when it
    /// lets the writer go.
    let waiting = Locked<[CombinedWrite<Connection>]>([])
    private let migrations: [Migration]
    /// The writer's checkpoints, asked for by its commits and run off the request path.
    let checkpoints: WALCheckpoints
    /// Places for open readers (`Options.maxOpenReaders`): a burst of reads waits instead of opening
    /// a connection each.
    private let readerPlaces: DispatchSemaphore

    /// Opens the store at `options.path`, creating it if needed, and applies `migrations`.
    public convenience init(options: Options, migrations: [Migration]) throws {
        try self.init(options: options, migrations: migrations, checkpoints: WALCheckpoints())
    }

    init(options: Options, migrations: [Migration], checkpoints: WALCheckpoints) throws {
        let w = try Connection(path: options.path, readOnly: false, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
        try Migrator.apply(migrations, on: w, now: Int64(time(nil)))
        checkpoints.install(on: w)
        self.writer = Locked(w)
        self.readers = Locked(ReaderState(options: options))
        self.readerPlaces = DispatchSemaphore(value: options.maxOpenReaders)
        self.migrations = migrations
        self.checkpoints = checkpoints
        checkpoints.run.withLock { $0 = { [weak self] in self?.checkpointRequested() } }
    }

    /// A checkpoint asked for by a commit (`WALCheckpoints`): on the writer, holding it, so the
    /// whole WAL is copied; then the writes that queued meanwhile are committed.
    private func checkpointRequested() {
        writer.withLock { conn in
            _ = sqlite3_wal_checkpoint_v2(conn.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        }
        afterWriterReleased()
    }

    public var path: String { readers.withLock { $0.options.path } }
    public var generation: Int { readers.withLock { $0.generation } }
    var statementEpoch: Int { readers.withLock { $0.statementEpoch } }

    // MARK: synchronous access (callers on their own threads: workers, tests)

    /// Runs `body` on the writer connection; writes are serialized.
    public func writeSync<T>(_ body: (Connection) throws -> T) throws -> T {
        let epoch = statementEpoch
        defer { afterWriterReleased() }
        return try writer.withLock { conn -> T in try Self.onWriter(conn, epoch: epoch, body) }
    }

    /// A body's run on the writer, whoever holds its lock: current statements, and never left
    /// inside a transaction (a failed body must not keep the one writer in one).
    static func onWriter<T>(_ conn: Connection, epoch: Int, _ body: (Connection) throws -> T) rethrows -> T {
        conn.refreshStatementCache(epoch: epoch)
        defer { if conn.isInTransaction { try? conn.execute("ROLLBACK") } }
        return try body(conn)
    }

    /// `writeSync` for a caller that must not wait (a connection's loop): nil when the writer is
    /// in use by another thread or the file is locked by another process — then the caller takes
    /// the async path. A short write (one row) is then done without any thread hop, and the
    /// combined writes waiting then are committed in the same transaction (`writeCombined`).
    public func writeIfFree<T>(_ body: (Connection) throws -> T) throws -> T? {
        let epoch = statementEpoch
        var own: Result<T, any Error>?
        let done = withoutActuallyEscaping(body) { body in
            writer.withLockIfAvailable { conn -> (batch: [CombinedWrite<Connection>], outcomes: ArraySlice<CombinedOutcome>) in
                let batch = takeWaiting()
                var value: T?
                let runs: [(Connection) throws -> Void] = [{ value = try body($0) }] + batch.map(\.run)
                let outcomes = conn.withoutWaiting { Self.commitTogether(runs, on: conn, epoch: epoch) }
                switch outcomes[0] {
                case .committed: own = .success(value!)
                case .failed(let error): own = .failure(error)
                case .busy: own = nil
                }
                return (batch, outcomes.dropFirst())
            }
        }
        if let done { finish(done.batch, Array(done.outcomes)) }
        afterWriterReleased()
        return try own?.get()
    }

    /// Runs `body` on a reader connection.
    public func readSync<T>(_ body: (Connection) throws -> T) throws -> T {
        let conn = try checkoutReader()
        defer { checkin(conn) }
        return try body(conn)
    }

    /// Runs `body` with up to `count` reader connections (at least one; more only as places are
    /// free, so concurrent callers cannot deadlock on the reader cap), each inside a read
    /// transaction on the same snapshot: while they start, the writer holds SQLite's write lock
    /// (`BEGIN IMMEDIATE`), so no process can commit between them. For a scan split over threads.
    /// When the writer is busy this instant (a VACUUM, another process's write), `body` gets one
    /// connection instead of waiting: a scan never queues behind a long write.
    public func readSnapshot<T>(upTo count: Int, _ body: ([Connection]) throws -> T) throws -> T {
        readerPlaces.wait()
        var extra = 0
        while extra < count - 1 && readerPlaces.wait(timeout: .now()) == .success { extra += 1 }
        var conns: [Connection] = []
        var opened = 0
        defer {
            for c in conns {
                if c.isInTransaction { try? c.execute("COMMIT") }
                checkin(c)
            }
            // Places taken but never turned into a connection (one failed to open).
            for _ in opened..<(extra + 1) { readerPlaces.signal() }
        }
        for _ in 0...extra {
            conns.append(try takeReader())
            opened += 1
        }
        let start = { (c: Connection) throws in
            try c.execute("BEGIN")
            // The snapshot is taken at the first read.
            try c.execute("SELECT 1 FROM sqlite_schema LIMIT 1")
        }
        // A recycle between two checkouts could give connections of two generations (two files).
        if conns.count > 1 && Set(conns.map(\.generation)).count == 1 && conns[0].generation == generation {
            let epoch = statementEpoch
            defer { afterWriterReleased() }
            let started = try writer.withLockIfAvailable { w -> Bool in
                do {
                    return try w.withoutWaiting {
                        try Self.onWriter(w, epoch: epoch) { w in
                            try w.execute("BEGIN IMMEDIATE")
                            defer { try? w.execute("ROLLBACK") }
                            for c in conns { try start(c) }
                            return true
                        }
                    }
                } catch let e as SQLiteError where e.isBusy {
                    return false
                }
            } ?? false
            if started { return try body(conns) }
            for c in conns where c.isInTransaction { try? c.execute("COMMIT") }
        }
        // One connection: the others (and their reader places) go back now, not after the scan.
        while conns.count > 1 { checkin(conns.removeLast()) }
        try start(conns[0])
        return try body([conns[0]])
    }

    // MARK: async access: SQLite calls block, so they run off the cooperative pool

    public func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await BlockingPool.shared.run { try self.writeSync(body) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await BlockingPool.shared.run { try self.readSync(body) }
    }

    // MARK: recycle and caches

    /// Closes and reopens every connection, optionally on a new path. If the new writer cannot be
    /// opened (or migrated), the pool keeps its current connections and the error is thrown.
    public func recycle(path newPath: String? = nil) throws {
        let options = readers.withLock { state -> Options in
            var o = state.options
            if let newPath { o.path = newPath }
            return o
        }
        let fresh = try Connection(
            path: options.path, readOnly: false, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds,
            generation: generation + 1)
        try Migrator.apply(migrations, on: fresh, now: Int64(time(nil)))
        checkpoints.install(on: fresh)
        writer.withLock { conn in conn = fresh }
        afterWriterReleased()
        readers.withLock { state in
            state.options = options
            state.generation += 1
            state.idle.removeAll()
        }
    }

    /// Moves everything in the WAL into the database file and truncates the WAL: at clean shutdown,
    /// so the database file alone is complete (copyable, backup-able) once the daemon has stopped.
    public func checkpoint() throws {
        try writeSync { conn in try conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Drops every prepared statement; connections re-prepare on next use.
    public func clearStatementCaches() {
        readers.withLock { $0.statementEpoch += 1 }
    }

    private func checkoutReader() throws -> Connection {
        readerPlaces.wait()
        do {
            return try takeReader()
        } catch {
            readerPlaces.signal()
            throw error
        }
    }

    private func takeReader() throws -> Connection {
        let (reused, options, generation, epoch) = readers.withLock { state in
            (state.idle.popLast(), state.options, state.generation, state.statementEpoch)
        }
        if let reused {
            reused.refreshStatementCache(epoch: epoch)
            return reused
        }
        return try Connection(
            path: options.path, readOnly: true, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds,
            generation: generation)
    }

    private func checkin(_ conn: Connection) {
        defer { readerPlaces.signal() }
        // A reader left inside a transaction would serve an old snapshot forever: never reuse it.
        if conn.isInTransaction { return }
        // A reader from an older generation is dropped here, which closes it.
        readers.withLock { state in
            if conn.generation == state.generation && state.idle.count < state.options.maxIdleReaders {
                state.idle.append(conn)
            }
        }
    }
}
