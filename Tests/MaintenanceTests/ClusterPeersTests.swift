import Foundation
import Logging
import Postgres
import PostgresTestSupport
import StewardModel
import Store
import Testing

@testable import Maintenance

/// A node alone on its database skips the `NOTIFY` of each job creation; one with others alive
/// sends it. Heartbeats decide.
@Suite(.serialized, .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct ClusterPeersTests {
    let logger = Logger(label: "test")

    func store() throws -> (pool: PostgresPool, dsn: PostgresDSN) {
        let cluster = PostgresTestCluster.shared!
        let dsn = try PostgresDSN(cluster.dsn(database: try cluster.createDatabase()))
        return (try PostgresPool(options: .init(dsn: dsn), migrations: StewardSchema.migrations), dsn)
    }

    func otherNode(_ pool: PostgresPool, heartbeatAt: Int64) async throws {
        _ = try await pool.writeSQL { conn in
            try conn.run("""
                INSERT INTO StewardNodes (Name, Version, SchemaVersion, Hostname, StartedAt, LastHeartbeatAt) VALUES ('other', 'v', 's', 'h', 0, ?)
                ON CONFLICT (Name) DO UPDATE SET LastHeartbeatAt = excluded.LastHeartbeatAt
                """, [.int(heartbeatAt)])
        }
    }

    @Test func heartbeatsTellWhetherAnotherNodeIsAlive() async throws {
        let (pool, _) = try store()
        let nodes = ClusterNodes(db: pool, name: "this", logger: logger)
        #expect(nodes.peers.othersMayListen, "before any heartbeat nothing is skipped")
        try await nodes.heartbeat()
        #expect(!nodes.peers.othersMayListen, "alone")
        let now = WallClock.system.nowMilliseconds()
        try await otherNode(pool, heartbeatAt: now)
        try await nodes.heartbeat()
        #expect(nodes.peers.othersMayListen, "another node heartbeated just now")
        try await otherNode(pool, heartbeatAt: now - ClusterNodes.leaseMilliseconds - 1000)
        try await nodes.heartbeat()
        #expect(!nodes.peers.othersMayListen, "its lease has run out")
    }

    @Test func aCreationNotifiesOnlyWhenOthersMayListen() async throws {
        let (pool, dsn) = try store()
        let nodes = ClusterNodes(db: pool, name: "this", logger: logger)
        let jobs = JobStore(db: pool, nodeName: "this", peers: nodes.peers)
        let listener = try PGConnection(dsn)
        try listener.listen(ClusterEvents.channel)
        func received(until marker: String) throws -> [String] {
            try listener.notify(ClusterEvents.channel, marker)
            var got: [String] = []
            for _ in 0..<30 where !got.contains(marker) {
                got += try listener.waitForNotifications(timeoutMilliseconds: 1000).map(\.payload)
            }
            return got
        }

        try await nodes.heartbeat()
        _ = try await jobs.create(type: "db_optimize", data: [:])
        _ = try jobs.createIfWriterFree(type: "db_optimize", data: [:])
        // Notifications arrive in commit order: the marker first means the creations sent none.
        #expect(try received(until: "marker-1") == ["marker-1"])

        try await otherNode(pool, heartbeatAt: WallClock.system.nowMilliseconds())
        try await nodes.heartbeat()
        _ = try await jobs.create(type: "db_optimize", data: [:])
        #expect(try received(until: "marker-2") == [ClusterEvent.jobCreated.rawValue, "marker-2"])
        // A store without peers (tests, tools) always notifies.
        _ = try await JobStore(db: pool).create(type: "db_optimize", data: [:])
        #expect(try received(until: "marker-3") == [ClusterEvent.jobCreated.rawValue, "marker-3"])
    }
}
