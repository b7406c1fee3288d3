import StewardModel

/// A cache the daemon keeps that `POST /caches/invalidate` must purge.
public protocol PurgeableCache: Sendable {
    /// A short name for the journal, e.g. `policy_identities`.
    var cacheName: String { get }
    /// Drops every entry; returns how many were dropped.
    func purge() -> Int
}

/// Every cache of the daemon, so that invalidation cannot forget one.
public final class CacheRegistry: Sendable {
    private let caches = Locked<[any PurgeableCache]>([])

    public init() {}

    public func register(_ cache: any PurgeableCache) {
        caches.withLock { $0.append(cache) }
    }

    /// Purges every registered cache; returns entries dropped per cache name.
    public func purgeAll() -> [(name: String, purged: Int)] {
        caches.withLock { $0 }.map { ($0.cacheName, $0.purge()) }
    }

    public var names: [String] { caches.withLock { $0.map(\.cacheName) } }
}

/// A thread-safe memo of keyed lookups (e.g. names resolved through NSS).
public final class LookupCache<Key: Hashable & Sendable, Value: Sendable>: PurgeableCache {
    public let cacheName: String
    private let entries = Locked<[Key: Value]>([:])

    public init(name: String) { self.cacheName = name }

    public func value(for key: Key, compute: () -> Value) -> Value {
        if let v = entries.withLock({ $0[key] }) { return v }
        let v = compute()
        entries.withLock { $0[key] = v }
        return v
    }

    public func purge() -> Int {
        entries.withLock { e in
            let n = e.count
            e.removeAll()
            return n
        }
    }

    public var count: Int { entries.withLock { $0.count } }
}
