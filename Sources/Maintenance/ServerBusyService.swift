import Logging
import StewardModel
import Store

/// The server-busy flag with Mattermost's semantics, persisted in the store's single-row
/// `ServerBusy` table so a restart keeps it until it expires.
///
/// The row is the durable copy; the daemon answers from the copy in memory, which every change
/// writes through the store first (set, clear, expiry, and `resume` at start and after a recycle
/// re-read it). Reads compare the expiry with the clock, so an expired state never reports busy
/// even before the timer that deletes the row has fired. `state()` takes no store read and no
/// suspension, so `GET /server_busy` is answered on the connection's loop.
public final class ServerBusyService: Sendable {
    public static let defaultSeconds: Int64 = 3600
    public static let maxSeconds: Int64 = 86_400

    private let store: any SQLStore
    private let clock: WallClock
    private let logger: Logger
    private let expiryTimer = Locked<Task<Void, Never>?>(nil)
    private let changeHandlers = Locked<[@Sendable (Bool) -> Void]>([])
    /// The expiry in milliseconds of the state in force, nil when not busy (as last written).
    private let expiry = Locked<Int64?>(nil)
    private let encoded = Locked<(state: ServerBusyState, json: String)?>(nil)

    public init(store: any SQLStore, clock: WallClock = .system, logger: Logger) {
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// Parses the `seconds` query value as Mattermost does: absent or empty → 3600; otherwise a
    /// base-10 integer in 1...86400.
    public static func parseSeconds(_ raw: String?) throws(MaintenanceError) -> Int64 {
        guard let raw, !raw.isEmpty else { return defaultSeconds }
        guard let n = Int64(raw), (1...maxSeconds).contains(n) else {
            throw .invalidBusySeconds(raw)
        }
        return n
    }

    /// Marks the server busy for `seconds`, replacing any earlier expiry. Returns the new state.
    @discardableResult
    public func set(seconds: Int64) async throws -> ServerBusyState {
        let now = clock.nowMilliseconds()
        let expiresAt = now + seconds * 1000
        try await store.writeSQL { conn in
            try conn.run(
                "INSERT INTO ServerBusy (Id, ExpiresAt, SetAt) VALUES (1, ?, ?) ON CONFLICT (Id) DO UPDATE SET ExpiresAt = excluded.ExpiresAt, SetAt = excluded.SetAt",
                [.int(expiresAt), .int(now)])
            try ClusterEvents.send(.busyChanged, on: conn)
        }
        expiry.withLock { $0 = expiresAt }
        scheduleExpiry(atMilliseconds: expiresAt)
        notify(busy: true)
        return ServerBusyState(expiresAt: expiresAt / 1000)
    }

    /// Clears the busy flag (no-op when not busy).
    public func clear() async throws {
        try await store.writeSQL { conn in
            try conn.run("DELETE FROM ServerBusy", [])
            try ClusterEvents.send(.busyChanged, on: conn)
        }
        expiry.withLock { $0 = nil }
        expiryTimer.withLock { $0?.cancel(); $0 = nil }
        notify(busy: false)
    }

    /// The current state, from memory.
    public func state() -> ServerBusyState {
        let now = clock.nowMilliseconds()
        let active = expiry.withLock { $0 }.flatMap { $0 > now ? $0 : nil }
        return ServerBusyState(expiresAt: active.map { $0 / 1000 })
    }

    public func isBusy() -> Bool { state().busy }

    /// `state().json`, encoded once per state rather than per request (the answer of
    /// `GET /server_busy`, which polling scripts call often).
    public func stateJSON() -> String {
        let current = state()
        return encoded.withLock { cache in
            if let cache, cache.state == current { return cache.json }
            let json = current.json
            cache = (current, json)
            return json
        }
    }

    /// Re-arms the expiry timer from the store: at startup and after a database recycle.
    public func resume() async throws {
        let now = clock.nowMilliseconds()
        let expiresAt = try await store.readSQL { conn in try Self.activeExpiry(conn, now: now) }
        expiry.withLock { $0 = expiresAt }
        if let expiresAt {
            logger.info("server busy state restored", metadata: ["busy_expires_at_ms": "\(expiresAt)"])
            scheduleExpiry(atMilliseconds: expiresAt)
        } else {
            expiryTimer.withLock { $0?.cancel(); $0 = nil }
            try await deleteExpired()
        }
    }

    /// Called with the new busy value whenever it changes (jobs wait on it).
    public func onChange(_ handler: @escaping @Sendable (Bool) -> Void) {
        changeHandlers.withLock { $0.append(handler) }
    }

    public func shutdown() {
        expiryTimer.withLock { $0?.cancel(); $0 = nil }
    }

    private static func activeExpiry(_ conn: any SQLConnection, now: Int64) throws -> Int64? {
        guard let expiresAt = try conn.first("SELECT ExpiresAt FROM ServerBusy WHERE Id = 1", [], { $0.int64(0) }) else { return nil }
        return expiresAt > now ? expiresAt : nil
    }

    private func deleteExpired() async throws {
        let now = clock.nowMilliseconds()
        try await store.writeSQL { conn in try conn.run("DELETE FROM ServerBusy WHERE ExpiresAt <= ?", [.int(now)]) }
    }

    private func scheduleExpiry(atMilliseconds expiresAt: Int64) {
        let delay = max(0, expiresAt - clock.nowMilliseconds())
        let task = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(delay))
            guard !Task.isCancelled, let self else { return }
            do {
                try await self.deleteExpired()
                self.expiry.withLock { if let e = $0, e <= self.clock.nowMilliseconds() { $0 = nil } }
                self.logger.notice("server busy state expired", metadata: ["event": "busy_expired"])
                self.notify(busy: false)
            } catch {
                self.logger.error("could not clear expired busy state", metadata: ["error": "\(error)"])
            }
        }
        expiryTimer.withLock { old in
            old?.cancel()
            old = task
        }
    }

    private func notify(busy: Bool) {
        for h in changeHandlers.withLock({ $0 }) { h(busy) }
    }
}
