import Foundation
@testable import Store
import Testing

/// Group commit (`DatabasePool.writeCombined`): writes that wait for the writer are committed by
/// its next holder in one transaction; one bad write fails alone; a lock held by another connection
/// is waited for on a thread that may wait.
@Suite struct CombinedWritesTests {
    let dir = NSTemporaryDirectory() + "steward-combined-\(UUID().uuidString)"
    let migrations = [
        Migration(name: "0001_t", sql: "CREATE TABLE T (Id INTEGER PRIMARY KEY, V TEXT NOT NULL UNIQUE); CREATE INDEX t_v_id ON T (V, Id);")
    ]

    init() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    var path: String { dir + "/c.db" }

    func open() throws -> DatabasePool {
        try DatabasePool(options: .init(path: path), migrations: migrations)
    }

    static func insert(_ v: String) -> @Sendable (Connection) throws -> Void {
        { conn in
            let s = try conn.cached("INSERT INTO T (V) VALUES (?)")
            s.bind(1, v)
            try s.run()
        }
    }

    func rows(_ pool: DatabasePool) throws -> Int {
        try pool.readSync { conn in
            let s = try conn.cached("SELECT count(*) FROM T")
            defer { s.reset() }
            return try s.step() ? Int(s.int64(0)) : -1
        }
    }

    /// WAL frames written since the last truncating checkpoint.
    func walFrames() throws -> Int {
        let size = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        return size <= 32 ? 0 : (size - 32) / (4096 + 24)
    }

    /// Holds the writer on another thread until the returned closure is called.
    func holdWriter(_ pool: DatabasePool) -> @Sendable () -> Void {
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? pool.writeSync { _ in
                holding.signal()
                release.wait()
            }
        }
        holding.wait()
        return { release.signal() }
    }

    func waitUntilWaiting(_ pool: DatabasePool, _ count: Int) async throws {
        let deadline = Date().addingTimeInterval(30)
        while pool.waiting.withLock({ $0.count }) < count {
            guard Date() < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func writesThatWaitedAreCommittedInOneTransactionWhenTheHolderLetsGo() async throws {
        let pool = try open()
        try pool.checkpoint()
        let release = holdWriter(pool)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask { try await pool.writeCombined(Self.insert("v\(i)")) }
            }
            try await waitUntilWaiting(pool, 50)
            #expect(try rows(pool) == 0, "nothing is written while the writer is held")
            release()
            try await group.waitForAll()
        }
        #expect(try rows(pool) == 50)
        // One commit writes the few pages of the table and its two indexes once; fifty commits
        // would write them fifty times (at least 100 frames).
        let frames = try walFrames()
        #expect(frames > 0 && frames < 20, "\(frames) WAL frames")
        #expect(pool.waiting.withLock { $0.isEmpty })
    }

    @Test func aFailingWriteFailsAloneAndTheOthersCommit() async throws {
        let pool = try open()
        try pool.writeSync(Self.insert("taken"))
        let release = holdWriter(pool)
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group -> Int in
            for i in 0..<10 {
                let value = i == 4 ? "taken" : "w\(i)"
                group.addTask {
                    do {
                        try await pool.writeCombined(Self.insert(value))
                        return false
                    } catch is SQLiteError {
                        return true
                    }
                }
            }
            try await waitUntilWaiting(pool, 10)
            release()
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 1)
        #expect(try rows(pool) == 10, "the row before and the nine good writes")
    }

    @Test func aLockHeldByAnotherConnectionIsWaitedFor() async throws {
        let pool = try open()
        let other = try Connection(path: path, readOnly: false, busyTimeoutMilliseconds: 5000)
        try other.execute("BEGIN IMMEDIATE")
        let write = Task { try await pool.writeCombined(Self.insert("after the other")) }
        try await Task.sleep(for: .milliseconds(200))
        try other.execute("COMMIT")
        try await write.value
        #expect(try rows(pool) == 1)
    }

    @Test func aFreeWriterCommitsAtOnceOnTheCallersThread() async throws {
        let pool = try open()
        for i in 0..<5 { try await pool.writeCombined(Self.insert("n\(i)")) }
        #expect(try rows(pool) == 5)
        #expect(pool.waiting.withLock { $0.isEmpty })
    }
}

/// Which combined writes a PostgreSQL batch may send in one pipeline.
@Suite struct RecordedInsertsTests {
    @Test(arguments: [
        ("INSERT INTO Jobs (Id, Type) VALUES (?, ?)", true),
        ("INSERT INTO Jobs (Id, Type) VALUES (?, ?)\n RETURNING pg_notify('steward_cluster', 'job_created')", true),
        ("insert into T (Id) values (?)", true),
        ("INSERT INTO T (Id) VALUES (?), (?)", false),
        ("INSERT INTO T (Id) SELECT Id FROM U", false),
        ("INSERT INTO T (Id) VALUES (?) ON CONFLICT DO NOTHING", false),
        ("UPDATE T SET V = ? WHERE Id = ?", false),
        ("DELETE FROM T", false),
    ])
    func onlySingleRowInsertsAreRecorded(_ sql: String, _ recorded: Bool) {
        #expect(RecordedInserts.isSingleRowInsert(sql) == recorded)
    }

    @Test func aBatchWithAnythingElseIsNotRecorded() {
        let insert: @Sendable (any SQLConnection) throws -> Void = { try $0.run("INSERT INTO T (Id) VALUES (?)", [.int(1)]) }
        let read: @Sendable (any SQLConnection) throws -> Void = { conn in _ = try conn.first("SELECT 1", []) { $0.int64(0) } }
        let recorded = RecordedInserts.record([insert, insert])
        #expect(recorded?.count == 2)
        #expect(recorded?.first?.sql == "INSERT INTO T (Id) VALUES ($1)")
        #expect(recorded?.first?.parameters == ["1"])
        #expect(RecordedInserts.record([insert, read]) == nil)
    }
}
