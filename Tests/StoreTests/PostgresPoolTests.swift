import Foundation
import Postgres
import PostgresTestSupport
import StewardModel
@testable import Store
import Testing

/// The PostgreSQL store under faults, and the migrator on both dialects.
@Suite(.serialized) struct PostgresPoolTests {
    static var reason: String? { PostgresTestCluster.unavailableReason }
    let migrations = [Migration(name: "0001_t", sqlite: "CREATE TABLE T (Id INTEGER PRIMARY KEY, V TEXT NOT NULL)",
                                postgres: "CREATE TABLE T (Id BIGINT PRIMARY KEY, V TEXT NOT NULL)")]

    func insert(_ store: any SQLStore, _ id: Int64) async throws {
        try await store.writeSQL { conn in try conn.run("INSERT INTO T (Id, V) VALUES (?, ?)", [.int(id), .text("v\(id)")]) }
    }

    func count(_ store: any SQLStore) async throws -> Int64 {
        try await store.readSQL { conn in try conn.first("SELECT count(*) FROM T", []) { $0.int64(0) } ?? -1 }
    }

    /// The server stopped while the daemon runs: calls fail with `StoreUnavailableError`, and
    /// while it is known to be down they fail without dialling it again (no wait per request);
    /// a recycle, or the next call after the retry interval, reconnects. Nothing written is lost.
    @Test(.enabled(if: reason == nil, "\(reason ?? "")"))
    func aStoppedServerFailsFastAndTheStoreReconnects() async throws {
        let cluster = try PostgresTestCluster.makePrivate()
        defer { cluster.stopAndRemove() }
        try cluster.psql("postgres", "CREATE DATABASE faults")
        let dsn = try PostgresDSN(cluster.dsn(database: "faults"))
        let store = try PostgresPool(options: .init(dsn: dsn, retryAfterMilliseconds: 600_000), migrations: migrations)
        try await insert(store, 1)
        cluster.stop()
        // The first call finds its connection gone; the next dials once, fails and marks it down.
        await #expect(throws: StoreUnavailableError.self) { try await insert(store, 2) }
        await #expect(throws: StoreUnavailableError.self) { try await insert(store, 2) }
        let dialled = store.connectAttempts
        for _ in 0..<5 {
            await #expect(throws: StoreUnavailableError.self) { try await insert(store, 2) }
            await #expect(throws: StoreUnavailableError.self) {
                let _: Int = try await store.writeSQLCombined { conn in try conn.run("INSERT INTO T (Id, V) VALUES (2, 'x')", []) }
            }
            await #expect(throws: StoreUnavailableError.self) { _ = try await count(store) }
        }
        #expect(store.connectAttempts == dialled, "a server known to be down is not dialled per request")
        try cluster.start()
        try store.recycle()
        try await insert(store, 3)
        #expect(try await count(store) == 2, "rows 1 and 3; the writes while down did nothing")

        // With a short retry interval the next call after it reconnects by itself.
        let quick = try PostgresPool(options: .init(dsn: dsn, retryAfterMilliseconds: 50), migrations: migrations)
        cluster.stop()
        await #expect(throws: StoreUnavailableError.self) { try await insert(quick, 4) }
        try cluster.start()
        var back = false
        for _ in 0..<600 where !back {
            back = (try? await insert(quick, 5)) != nil
            if !back { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(back)
    }

    /// The (one) combined writer held while writes queue (as a commit waiting for its WAL flush holds it).
    func holdWriter(_ store: PostgresPool) -> @Sendable () -> Void {
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread.detachNewThread { _ = try? store.combinedWriteSync { _ in held.signal(); release.wait() } }
        held.wait()
        return { release.signal() }
    }

    /// Waits until `count` writes have been queued since `base`, then lets the writer go — also
    /// when they never are, so a failing test fails instead of hanging.
    func releaseWhenQueued(_ store: PostgresPool, base: Int, _ count: Int, _ release: () -> Void) async throws {
        defer { release() }
        let deadline = Date().addingTimeInterval(60)
        while store.combined.withLock({ $0.queued }) < base + count {
            guard Date() < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Group commit on PostgreSQL: creations that arrive while the writer is busy are committed
    /// together, one transaction (one WAL flush) for all of them, and one bad write fails alone.
    @Test(.enabled(if: reason == nil, "\(reason ?? "")"))
    func writesThatWaitedAreCommittedInOneTransaction() async throws {
        let cluster = PostgresTestCluster.shared!
        let store = try PostgresPool(options: .init(dsn: try PostgresDSN(cluster.dsn(database: try cluster.createDatabase())), maxCombinedWriters: 1),
                                     migrations: migrations)
        try await insert(store, 0)
        let base = store.combined.withLock { $0.queued }
        let release = holdWriter(store)
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group -> Int in
            for i in 1...40 {
                // Row 20 collides with row 0: a unique violation in the middle of a batch.
                let id: Int64 = i == 20 ? 0 : Int64(i)
                group.addTask {
                    do {
                        let _: Int = try await store.writeSQLCombined { conn in try conn.run("INSERT INTO T (Id, V) VALUES (?, 'c')", [.int(id)]) }
                        return false
                    } catch let e as PGError {
                        #expect(e.isUniqueViolation, "\(e)")
                        return true
                    }
                }
            }
            #expect(try await count(store) == 1, "nothing is written while the writer is held")
            try await releaseWhenQueued(store, base: base, 40, release)
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 1)
        #expect(try await count(store) == 40, "row 0 and the 39 good writes")

        // Without a bad write: whatever the drainer took before it waited for the writer, then
        // everything that queued behind it — at most two transactions for forty writes.
        let base2 = store.combined.withLock { $0.queued }
        let again = holdWriter(store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 100..<140 {
                group.addTask {
                    let _: Int = try await store.writeSQLCombined { conn in try conn.run("INSERT INTO T (Id, V) VALUES (?, 'd')", [.int(Int64(i))]) }
                }
            }
            try await releaseWhenQueued(store, base: base2, 40, again)
            try await group.waitForAll()
        }
        let together = try await store.readSQL { conn in
            try conn.first("SELECT count(DISTINCT xmin::text) FROM T WHERE V = 'd'", []) { $0.int64(0) } ?? -1
        }
        #expect(together >= 1 && together <= 2, "forty writes in \(together) transactions")
        #expect(store.combined.withLock { $0.pipelined } >= 1, "a batch of inserts goes in one pipeline")
        #expect(store.combined.withLock { $0.waiting.isEmpty && $0.drainers == 0 })
    }

    /// Two batches commit at once: a write arriving while one batch waits (here: held) goes on
    /// the second combined writer instead of waiting behind it; the held one then commits too.
    @Test(.enabled(if: reason == nil, "\(reason ?? "")"))
    func aSecondBatchDoesNotWaitForTheFirst() async throws {
        let cluster = PostgresTestCluster.shared!
        let store = try PostgresPool(options: .init(dsn: try PostgresDSN(cluster.dsn(database: try cluster.createDatabase()))), migrations: migrations)
        let release = holdWriter(store)
        let _: Int = try await store.writeSQLCombined { conn in try conn.run("INSERT INTO T (Id, V) VALUES (1, 'e')", []) }
        #expect(try await count(store) == 1, "committed while the other combined writer is held")
        release()
        let _: Int = try await store.writeSQLCombined { conn in try conn.run("INSERT INTO T (Id, V) VALUES (2, 'e')", []) }
        #expect(try await count(store) == 2)
    }

    @Test(.enabled(if: reason == nil, "\(reason ?? "")"))
    func aRefusedLoginIsAClearError() throws {
        let cluster = PostgresTestCluster.shared!
        let db = try cluster.createDatabase()
        do {
            _ = try PostgresPool(options: .init(dsn: try PostgresDSN(cluster.dsn(database: db, password: "not-it-at-all"))), migrations: migrations)
            Issue.record("a wrong password opened the store")
        } catch let e as StoreUnavailableError {
            #expect(e.detail.contains("password authentication failed") && !e.detail.contains("not-it-at-all"), "\(e)")
        }
    }

    /// A store migrated by a newer stewardd (a migration this binary does not know) is refused
    /// before anything is applied — on both dialects.
    @Test(arguments: ["sqlite", "postgres"])
    func aSchemaNewerThanTheBinaryIsRefused(_ dialect: String) throws {
        if dialect == "postgres" && Self.reason != nil { return }
        let newer = migrations + [Migration(name: "0099_from_the_future", sql: "CREATE TABLE Future (Id INTEGER PRIMARY KEY)")]
        let open: ([Migration]) throws -> any SQLStore
        if dialect == "sqlite" {
            let path = NSTemporaryDirectory() + "steward-newer-\(UUID().uuidString).db"
            open = { try DatabasePool(options: .init(path: path), migrations: $0) }
        } else {
            let dsn = try PostgresDSN(PostgresTestCluster.shared!.dsn(database: try PostgresTestCluster.shared!.createDatabase()))
            open = { try PostgresPool(options: .init(dsn: dsn), migrations: $0) }
        }
        _ = try open(newer)
        do {
            _ = try open(migrations)
            Issue.record("an older binary opened a newer schema")
        } catch let e as SchemaTooNewError {
            #expect(e.unknown == ["0099_from_the_future"])
        }
        _ = try open(newer)  // the newer binary still opens it
    }
}
