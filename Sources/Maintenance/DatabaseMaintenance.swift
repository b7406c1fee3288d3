import Logging
import Store
import StewardModel

/// Store-level maintenance: connection recycle, the schema cache, prepared statements.
public final class DatabaseMaintenance: Sendable {
    public let store: any SQLStore
    public let schema: SchemaCache
    private let logger: Logger

    public init(store: any SQLStore, logger: Logger) {
        self.store = store
        self.schema = SchemaCache(store: store)
        self.logger = logger
    }

    /// Closes and reopens the writer and readers (optionally on a new data source) without failing
    /// requests in flight. Returns the new pool generation.
    public func recycle(dataSource: String? = nil) async throws -> Int {
        let store = self.store
        try await BlockingPool.shared.run {
            if let pool = store as? DatabasePool { try pool.recycle(path: dataSource) } else { try store.recycle() }
        }
        _ = schema.purge()
        return store.generation
    }

    /// `SELECT 1` through a reader: the ping's `database_status`.
    public func healthy() async -> Bool {
        (try? await store.readSQL { conn -> Bool in try conn.first("SELECT 1", []) { _ in true } ?? false }) ?? false
    }
}

/// The store's table list, read once and kept until invalidated or recycled.
public final class SchemaCache: PurgeableCache {
    public let cacheName = "schema"
    private let store: any SQLStore
    private let tables = Locked<[String]?>(nil)

    init(store: any SQLStore) { self.store = store }

    public func tableNames() async throws -> [String] {
        if let t = tables.withLock({ $0 }) { return t }
        let fresh = try await store.readSQL { conn in try conn.tableNames() }
        tables.withLock { $0 = fresh }
        return fresh
    }

    public func purge() -> Int {
        tables.withLock { t in
            let n = t?.count ?? 0
            t = nil
            return n
        }
    }
}

/// Prepared statements of every store connection, exposed as a purgeable cache.
public struct PreparedStatementCache: PurgeableCache {
    public let cacheName = "prepared_statements"
    let store: any SQLStore
    public init(store: any SQLStore) { self.store = store }
    public func purge() -> Int {
        store.clearStatementCaches()
        return 0
    }
}
