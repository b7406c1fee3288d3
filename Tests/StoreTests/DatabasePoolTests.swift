import Foundation
import Store
import Testing

@Suite struct DatabasePoolTests {
    let dir = NSTemporaryDirectory() + "steward-store-\(UUID().uuidString)"
    let migrations = [Migration(name: "0001_t", sql: "CREATE TABLE T (Id INTEGER PRIMARY KEY, V TEXT NOT NULL);")]

    init() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func open(_ name: String = "a.db") throws -> DatabasePool {
        try DatabasePool(options: .init(path: dir + "/" + name), migrations: migrations)
    }

    @Test func migrationsApplyOnceAndAreRecorded() throws {
        let pool = try open()
        _ = try open()  // a second open must not re-run 0001 (CREATE TABLE would fail)
        let names = try pool.readSync { conn -> [String] in
            let s = try conn.cached("SELECT Name FROM StewardMigrations")
            var out: [String] = []
            while try s.step() { out.append(s.string(0) ?? "") }
            return out
        }
        #expect(names == ["0001_t"])
    }

    @Test func writesAreVisibleToReadersAndWALIsOn() throws {
        let pool = try open()
        try pool.writeSync { conn in
            let s = try conn.cached("INSERT INTO T (V) VALUES (?)")
            s.bind(1, "hello")
            try s.run()
        }
        let v = try pool.readSync { conn -> String? in
            let s = try conn.cached("SELECT V FROM T")
            return try s.step() ? s.string(0) : nil
        }
        #expect(v == "hello")
        let mode = try pool.readSync { conn -> String? in
            let s = try conn.cached("PRAGMA journal_mode")
            return try s.step() ? s.string(0) : nil
        }
        #expect(mode == "wal")
    }

    @Test func readersAreReadOnly() throws {
        let pool = try open()
        #expect(throws: SQLiteError.self) {
            try pool.readSync { conn in try conn.execute("INSERT INTO T (V) VALUES ('x')") }
        }
    }

    @Test func recycleKeepsAReadInFlightWorkingAndMovesToANewFile() throws {
        let pool = try open()
        try pool.writeSync { conn in try conn.execute("INSERT INTO T (V) VALUES ('old')") }
        let other = try open("b.db")
        try other.writeSync { conn in try conn.execute("INSERT INTO T (V) VALUES ('new')") }

        let generation = pool.generation
        let during = try pool.readSync { conn -> String? in
            // The pool is recycled while this reader is checked out; it keeps working on its connection.
            try pool.recycle(path: dir + "/b.db")
            let s = try conn.cached("SELECT V FROM T")
            return try s.step() ? s.string(0) : nil
        }
        #expect(during == "old")
        #expect(pool.generation == generation + 1)
        let after = try pool.readSync { conn -> String? in
            let s = try conn.cached("SELECT V FROM T")
            return try s.step() ? s.string(0) : nil
        }
        #expect(after == "new")
        #expect(pool.path == dir + "/b.db")
    }

    @Test func failedRecycleKeepsTheCurrentConnections() throws {
        let pool = try open()
        #expect(throws: SQLiteError.self) { try pool.recycle(path: "/nonexistent-dir/x.db") }
        #expect(pool.path == dir + "/a.db")
        try pool.writeSync { conn in try conn.execute("INSERT INTO T (V) VALUES ('still fine')") }
    }

    @Test func clearingStatementCachesEmptiesThem() throws {
        let pool = try open()
        let before = try pool.writeSync { conn -> Int in
            _ = try conn.cached("SELECT 1")
            return conn.cachedStatementCount
        }
        #expect(before >= 1)
        pool.clearStatementCaches()
        let after = try pool.writeSync { conn in conn.cachedStatementCount }
        #expect(after == 0)
    }
}

@Suite struct DatabasePoolTransactionTests {
    @Test func aReaderLeftInATransactionIsNotReused() throws {
        let path = NSTemporaryDirectory() + "steward-tx-\(UUID().uuidString).db"
        let pool = try DatabasePool(options: .init(path: path), migrations: [Migration(name: "t", sql: "CREATE TABLE T (V INTEGER)")])
        try pool.readSync { conn in
            // A stepped, never reset statement keeps a read transaction (and its snapshot) open.
            _ = try conn.cached("SELECT count(*) FROM T").step()
        }
        try pool.writeSync { try $0.execute("INSERT INTO T VALUES (1)") }
        let seen = try pool.readSync { conn -> Int64 in
            let s = try conn.cached("SELECT count(*) FROM T")
            defer { s.reset() }
            _ = try s.step()
            return s.int64(0)
        }
        #expect(seen == 1, "the next reader sees the committed row")
    }

    @Test func aFailedWriteDoesNotLeaveTheWriterInATransaction() throws {
        let path = NSTemporaryDirectory() + "steward-tx-\(UUID().uuidString).db"
        let pool = try DatabasePool(options: .init(path: path), migrations: [Migration(name: "t", sql: "CREATE TABLE T (V INTEGER NOT NULL)")])
        #expect(throws: SQLiteError.self) {
            try pool.writeSync { conn in
                try conn.execute("BEGIN")
                try conn.execute("INSERT INTO T VALUES (1)")
                try conn.execute("INSERT INTO T VALUES (NULL)")
            }
        }
        try pool.writeSync { try $0.execute("INSERT INTO T VALUES (2)") }
        let values = try pool.readSync { conn -> [Int64] in
            let s = try conn.cached("SELECT V FROM T")
            defer { s.reset() }
            var out: [Int64] = []
            while try s.step() { out.append(s.int64(0)) }
            return out
        }
        #expect(values == [2])
    }
}
