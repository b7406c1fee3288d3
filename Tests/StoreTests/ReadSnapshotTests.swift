import Foundation
import Store
import Testing

/// Several readers on one snapshot for a threaded scan, and one reader instead of waiting when
/// the writer is busy.
@Suite struct ReadSnapshotTests {
    let path = NSTemporaryDirectory() + "steward-snapshot-\(UUID().uuidString).db"

    /// A minute of busy timeout: waiting for the lock instead of falling back could not pass unseen.
    func open() throws -> DatabasePool {
        let pool = try DatabasePool(options: .init(path: path, busyTimeoutMilliseconds: 60_000), migrations: [
            Migration(name: "0001_t", sql: "CREATE TABLE T (Id INTEGER PRIMARY KEY);"),
        ])
        try pool.writeSync { try $0.execute("INSERT INTO T VALUES (1), (2), (3)") }
        return pool
    }

    static func count(_ c: Connection) throws -> Int64 {
        let s = try c.cached("SELECT count(*) FROM T")
        defer { s.reset() }
        _ = try s.step()
        return s.int64(0)
    }

    @Test func readersShareASnapshotThatLaterWritesDoNotChange() throws {
        let pool = try open()
        try pool.readSnapshot(upTo: 3) { (conns: [Connection]) throws in
            #expect(conns.count == 3)
            try pool.writeSync { try $0.execute("INSERT INTO T VALUES (4)") }
            for c in conns { #expect(try Self.count(c) == 3) }
        }
        #expect(try pool.readSync { try Self.count($0) } == 4)
    }

    @Test func aWriteInAnotherProcessMeansOneReaderNotAWait() throws {
        let pool = try open()
        // Another connection (as another process would) holds SQLite's write lock.
        let other = try Connection(path: path, readOnly: false, busyTimeoutMilliseconds: 0)
        try other.execute("BEGIN IMMEDIATE; INSERT INTO T VALUES (9)")
        let started = ContinuousClock.now
        try pool.readSnapshot(upTo: 3) { (conns: [Connection]) throws in
            #expect(conns.count == 1)
            #expect(try Self.count(conns[0]) == 3)
        }
        // Far below the minute a wait for the lock would take, whatever the machine's load.
        #expect(ContinuousClock.now - started < .seconds(30))
        try other.execute("ROLLBACK")
        try pool.readSnapshot(upTo: 2) { #expect($0.count == 2) }
    }

    @Test func aLongWriteInThisProcessMeansOneReaderNotAWait() throws {
        let pool = try open()
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let writer = Thread {
            try? pool.writeSync { _ in
                holding.signal()
                release.wait()
            }
        }
        writer.start()
        holding.wait()
        try pool.readSnapshot(upTo: 3) { #expect($0.count == 1) }
        release.signal()
    }
}
