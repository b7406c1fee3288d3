#if canImport(Glibc)
import Glibc
#endif
import Logging
import Postgres
import StewardModel
import Store

/// What one node tells the others through PostgreSQL's `NOTIFY` on `steward_events`. The payload
/// is the kind's name and nothing else: no ids, no settings, no secrets — a receiver re-reads the
/// state from the tables.
public enum ClusterEvent: String, Sendable, CaseIterable {
    /// A job was created: nodes running jobs look for pending ones now, not at their next poll.
    case jobCreated = "job_created"
    /// The busy state was set or cleared: re-read it.
    case busyChanged = "busy_state_change"
    /// Caches were invalidated: purge this node's too (Mattermost's `inv_all_caches`).
    case cachesInvalidated = "inv_all_caches"
    /// A job's status was changed from outside its worker (a cancel, a forced status): the node
    /// running it stops its worker if the store no longer says `in_progress`.
    case jobStatusChanged = "job_status_change"
    /// A config was written into a database config store: nodes whose config lives there re-read
    /// it and apply it if it differs from theirs (Mattermost's `config_changed`).
    case configChanged = "config_changed"
    /// Not sent: a listener that (re)started listening may have missed events and re-reads everything.
    case resync
}

/// Sending and receiving cluster events. Sent inside the writer's transaction where there is one,
/// so an event is delivered at commit and never for a rolled-back change; on SQLite (one node)
/// nothing is sent.
public enum ClusterEvents {
    public static let channel = "steward_events"

    /// Queues `event` on `conn`'s transaction (PostgreSQL only).
    public static func send(_ event: ClusterEvent, on conn: any SQLConnection) throws {
        guard conn.dialect == .postgres else { return }
        try conn.query("SELECT pg_notify(?, ?)", [.text(channel), .text(event.rawValue)]) { _ in }
    }

    /// Sends `event` on its own (a change that was not written through `store`'s writer).
    public static func send(_ event: ClusterEvent, via store: any SQLStore) async throws {
        guard store is PostgresPool else { return }
        try await store.writeSQL { conn in try send(event, on: conn) }
    }

    /// Listens on a connection of its own, on a thread of its own, until `stop()`: each event
    /// from any node (this one's own included: applying it again changes nothing) goes to
    /// `handle`. Each time it starts listening — first, and after a lost connection is dialled
    /// again (every second, logged) — `handle` gets a `.resync`: notifications sent before or
    /// meanwhile are lost.
    public final class Listener: Sendable {
        private let stopped = Locked(false)

        public init(store: PostgresPool, logger: Logger, handle: @escaping @Sendable (ClusterEvent) -> Void) {
            let stopped = self.stopped
            let rc = DedicatedThread.start(name: "steward-cluster") {
                while !stopped.withLock({ $0 }) {
                    do {
                        let conn = try store.dedicatedConnection()
                        try conn.listen(ClusterEvents.channel)
                        // Listening from now on; what changed before (since the daemon read its
                        // state at start, or while the connection was down) is read again.
                        handle(.resync)
                        while !stopped.withLock({ $0 }) {
                            for n in try conn.waitForNotifications(timeoutMilliseconds: 500) {
                                if let event = ClusterEvent(rawValue: n.payload), event != .resync { handle(event) }
                            }
                        }
                    } catch {
                        if stopped.withLock({ $0 }) { return }
                        logger.warning("cluster events: listening failed; trying again", metadata: ["error": "\(error)"])
                        sleep(1)
                    }
                }
            }
            if rc != 0 { logger.error("cluster events: no thread to listen on", metadata: ["errno": "\(rc)"]) }
        }

        /// Stops listening (the thread ends within half a second).
        public func stop() { stopped.withLock { $0 = true } }
    }
}
