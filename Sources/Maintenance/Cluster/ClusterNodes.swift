import Logging
import StewardModel
import Store

/// The nodes sharing one store: each heartbeats into `StewardNodes` with a lease; a node whose
/// last heartbeat is older than the lease is dead. On SQLite there is one node, this one.
///
/// Jobs are tied to the node that claimed them (`StewardJobClaims`, with how many times the job
/// was claimed: once, unless a forced status change made it pending again; a table of Steward's own so
/// that Mattermost's `Jobs` keeps its columns): a node ends the running jobs of a dead node, and
/// at start only its own and unclaimed ones — never a live node's.
public final class ClusterNodes: Sendable {
    /// How long a heartbeat holds: a node silent for longer is dead.
    public static let leaseMilliseconds: Int64 = 10_000
    /// How often a node heartbeats (and looks for dead nodes' jobs).
    public static let heartbeatInterval = Duration.seconds(2)

    public static let migrations: [Migration] = [
        Migration(
            name: "0004_cluster_nodes",
            sqlite: """
                CREATE TABLE StewardNodes (
                    Name TEXT PRIMARY KEY NOT NULL, Version TEXT NOT NULL, SchemaVersion TEXT NOT NULL,
                    Hostname TEXT NOT NULL, StartedAt INTEGER NOT NULL, LastHeartbeatAt INTEGER NOT NULL
                );
                CREATE TABLE StewardJobClaims (
                    JobId TEXT PRIMARY KEY NOT NULL, NodeName TEXT NOT NULL, ClaimedAt INTEGER NOT NULL, Claims INTEGER NOT NULL DEFAULT 1
                );
                """,
            postgres: """
                CREATE TABLE IF NOT EXISTS StewardNodes (
                    Name VARCHAR(64) PRIMARY KEY, Version VARCHAR(32) NOT NULL, SchemaVersion VARCHAR(64) NOT NULL,
                    Hostname VARCHAR(255) NOT NULL, StartedAt BIGINT NOT NULL, LastHeartbeatAt BIGINT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS StewardJobClaims (
                    JobId VARCHAR(26) PRIMARY KEY, NodeName VARCHAR(64) NOT NULL, ClaimedAt BIGINT NOT NULL, Claims BIGINT NOT NULL DEFAULT 1
                );
                """),
    ]

    public let name: String
    let hostname: String
    let db: any SQLStore
    let clock: WallClock
    let startedAt: Int64
    private let logger: Logger
    private let beating = Locked<Task<Void, Never>?>(nil)

    /// Whether other nodes are alive, refreshed by every heartbeat.
    public let peers: ClusterPeers

    public init(db: any SQLStore, name: String, hostname: String = ClusterSettings.hostName, clock: WallClock = .system,
                peers: ClusterPeers = ClusterPeers(), logger: Logger) {
        self.db = db
        self.peers = peers
        self.name = name
        self.hostname = hostname
        self.clock = clock
        self.startedAt = clock.nowMilliseconds()
        self.logger = logger
    }

    static var schemaVersion: String { StewardSchema.migrations.last?.name ?? "" }

    /// Records this node as alive now (inserted on the first beat), and whether any other is
    /// (`peers`).
    public func heartbeat() async throws {
        let now = clock.nowMilliseconds()
        let others = try await db.writeSQL { [name, hostname, startedAt] conn -> Int in
            try conn.run("""
                INSERT INTO StewardNodes (Name, Version, SchemaVersion, Hostname, StartedAt, LastHeartbeatAt) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (Name) DO UPDATE SET Version = excluded.Version, SchemaVersion = excluded.SchemaVersion,
                    Hostname = excluded.Hostname, StartedAt = excluded.StartedAt, LastHeartbeatAt = excluded.LastHeartbeatAt
                """, [.text(name), .text(StewardVersion.version), .text(Self.schemaVersion), .text(hostname), .int(startedAt), .int(now)])
            // Only PostgreSQL has other nodes to tell (`ClusterEvents`); SQLite's one node skips the read.
            guard conn.dialect == .postgres else { return 0 }
            return try conn.first("SELECT count(*) FROM StewardNodes WHERE Name <> ? AND LastHeartbeatAt >= ?",
                                  [.text(name), .int(now - Self.leaseMilliseconds)]) { Int($0.int64(0)) } ?? 0
        }
        peers.record(otherNodesAlive: others)
    }

    /// Every node that has heartbeated, by name, with whether its lease holds.
    public func status() async throws -> [ClusterInfo] {
        let now = clock.nowMilliseconds()
        return try await db.readSQL { conn in
            try conn.all("SELECT Name, Version, SchemaVersion, Hostname, LastHeartbeatAt FROM StewardNodes ORDER BY Name") { r in
                let last = r.int64(4)
                return ClusterInfo(id: r.string(0) ?? "", version: r.string(1) ?? "", schemaVersion: r.string(2) ?? "",
                                   hostname: r.string(3) ?? "", lastHeartbeatAt: last, alive: now - last <= Self.leaseMilliseconds)
            }
        }
    }

    /// Heartbeats every `heartbeatInterval` until `stop`; after each beat, `afterBeat` (the job
    /// engine ends dead nodes' jobs there). A failed beat (the store down) is logged and retried
    /// at the next tick: the lease outlasts a few.
    public func start(afterBeat: @escaping @Sendable () async -> Void) {
        let task = Task { [self] in
            while !Task.isCancelled {
                do {
                    try await heartbeat()
                    await afterBeat()
                } catch {
                    logger.warning("cluster heartbeat failed", metadata: ["node": "\(name)", "error": "\(error)"])
                }
                try? await Task.sleep(for: Self.heartbeatInterval)
            }
        }
        beating.withLock { $0 = task }
    }

    /// Tells every node (this one too) of `event` (PostgreSQL; nothing on SQLite).
    public func broadcast(_ event: ClusterEvent) async throws {
        try await db.writeSQL { conn in try ClusterEvents.send(event, on: conn) }
    }

    /// Stops heartbeating and removes this node's row: a node that stopped cleanly is not dead.
    public func stop() async {
        beating.withLock { $0?.cancel(); $0 = nil }
        _ = try? await db.writeSQL { [name] conn in try conn.run("DELETE FROM StewardNodes WHERE Name = ?", [.text(name)]) }
    }
}
