import Foundation
@testable import Store
import StewardModel
import Testing

/// The writer's checkpoints off the request path (`WALCheckpoints`): a commit past the threshold
/// asks for one and does not run it; the asked-for checkpoint, holding the writer, copies the WAL
/// into the database; and a checkpoint that never runs does not let the WAL grow without end.
@Suite struct WALCheckpointsTests {
    let dir = NSTemporaryDirectory() + "steward-wal-\(UUID().uuidString)"
    var path: String { dir + "/w.db" }
    let migrations = [Migration(name: "0001_t", sql: "CREATE TABLE T (Id INTEGER PRIMARY KEY, V TEXT NOT NULL); CREATE INDEX t_v ON T (V);")]

    init() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// Checkpoints asked for, kept by the test instead of run.
    final class Asked: @unchecked Sendable {
        let runs = Locked<[@Sendable () -> Void]>([])
        var count: Int { runs.withLock { $0.count } }
        func runAll() { for run in runs.withLock({ $0 }) { run() } }
    }

    func open(request: Int32, inline: Int32, asked: Asked) throws -> DatabasePool {
        let checkpoints = WALCheckpoints(requestFrames: request, inlineFrames: inline) { run in
            asked.runs.withLock { $0.append(run) }
        }
        return try DatabasePool(options: .init(path: path), migrations: migrations, checkpoints: checkpoints)
    }

    /// Commits `count` rows one by one, each with a random key in the index (a page or more each).
    static func write(_ pool: DatabasePool, _ count: Int, from: Int = 0) throws {
        for i in from..<(from + count) {
            try pool.writeSync { conn in
                let s = try conn.cached("INSERT INTO T (Id, V) VALUES (?, ?)")
                s.bind(1, Int64(i))
                s.bind(2, String(repeating: UUID().uuidString, count: 20))
                try s.run()
            }
        }
    }

    /// Frames in the WAL file (it is reused from the start after a checkpoint, never shrunk).
    func walFileFrames() throws -> Int {
        let size = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        return size <= 32 ? 0 : (size - 32) / (4096 + 24)
    }

    func databaseFileSize() throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    func rows(_ pool: DatabasePool) throws -> Int {
        try pool.readSync { conn in
            let s = try conn.cached("SELECT count(*) FROM T")
            defer { s.reset() }
            return try s.step() ? Int(s.int64(0)) : -1
        }
    }

    @Test func aCommitPastTheThresholdAsksForACheckpointAndDoesNotRunIt() throws {
        let asked = Asked()
        let pool = try open(request: 1000, inline: 100_000, asked: asked)
        // Well past SQLite's own automatic checkpoint (1000 frames), which would have copied the
        // rows into the database file inside a commit.
        try Self.write(pool, 1500)
        #expect(try databaseFileSize() < 200_000, "no commit checkpointed: the file holds the schema alone")
        #expect(asked.count == 1, "asked once, not by every commit past the threshold")

        asked.runAll()
        #expect(try databaseFileSize() > 1_000_000, "the asked-for checkpoint copied the rows")
        try Self.write(pool, 1, from: 1500)
        #expect(try rows(pool) == 1501)
    }

    @Test func aCheckpointThatNeverRunsDoesNotLetTheWALGrowWithoutEnd() throws {
        let asked = Asked()
        let pool = try open(request: 100, inline: 600, asked: asked)
        try Self.write(pool, 2000)
        // The commit past `inline` checkpoints itself; the WAL restarts from there.
        #expect(try walFileFrames() < 700)
        #expect(try rows(pool) == 2000)
    }

    @Test func theBlockingPoolRunsAskedForCheckpoints() throws {
        let pool = try DatabasePool(options: .init(path: path), migrations: migrations)
        try Self.write(pool, 1200)
        // The checkpoint runs on a pool thread when it gets the writer: wait for the database file
        // to have received the rows (it holds only the schema until a checkpoint).
        let deadline = Date().addingTimeInterval(60)
        var size = 0
        while Date() < deadline {
            size = try databaseFileSize()
            if size > 1_000_000 { break }
            usleep(10_000)
        }
        #expect(size > 1_000_000)
        #expect(try rows(pool) == 1200)
    }
}
