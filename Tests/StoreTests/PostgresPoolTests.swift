import Foundation
import Postgres
import PostgresTestSupport
import StewardModel
import Store
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
