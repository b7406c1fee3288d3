import Foundation
import StewardModel
import Store
import Testing

@testable import Integrity

/// Relations answered from an index led by their foreign key (`KeyWalk`) answer exactly what a pass
/// over the table and Mattermost's SQL answer.
@Suite struct KeyWalkTests {
    /// Options that walk every table that can be walked, however small.
    static var walking: IntegrityChecker.Options {
        var o = IntegrityChecker.Options()
        o.minimumWalkRows = 0
        return o
    }

    /// Options that never walk: every child table read row by row.
    static var scanning: IntegrityChecker.Options {
        var o = IntegrityChecker.Options()
        o.minimumWalkRows = .max
        return o
    }

    @Test func aRealisticDatabaseAnswersAsMattermostsSQLWhenWalked() async throws {
        let dir = NSTemporaryDirectory() + "steward-walk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/mm.db"
        _ = try SampleDatabase.python([SampleDatabase.tools.appendingPathComponent("realistic.py").path, path,
                                       "--posts", "4000", "--seed", "11", "--many-orphans", "300"])
        let pool = try SampleDatabase.pool(path)
        let walked = try await IntegrityChecker(store: pool).run(Self.walking)
        // Posts' three relations have Mattermost's indexes and few keys: no pass over Posts.
        for relation in ["Posts.ChannelId → Channels", "Posts.UserId → Users", "Posts.RootId → Posts"] {
            #expect(walked.walkedByIndex.contains { $0.hasPrefix(relation + " (") }, "\(relation) in \(walked.walkedByIndex)")
        }
        let scanned = try await IntegrityChecker(store: pool).run(Self.scanning)
        #expect(scanned.walkedByIndex.isEmpty)
        let reference = try SampleDatabase.reference(path)
        #expect(try walked.results == reference)
        #expect(try scanned.results == reference)
        #expect(walked.orphanCounts.map(\.count) == scanned.orphanCounts.map(\.count))
        // Orphans were injected into the walked relations, so the walk had something to find.
        #expect(try #require(walked.orphanCounts.first { $0.check == "Posts.ChannelId → Channels" }).count > 0)
        // One thread: the same answer (the walk and the pass on one connection).
        var oneThread = Self.walking
        oneThread.threads = 1
        #expect(try await IntegrityChecker(store: pool).run(oneThread).results == reference)
    }

    /// NULL, empty, non-canonical and non-UTF-8 keys, keys with many rows, a child without an id
    /// column, and a relation that skips empty keys — each as a pass reports it.
    @Test func awkwardKeysAnswerAsAPass() async throws {
        let pool = try Self.cardsDatabase()
        let relations = [
            IntegrityRelationSettings(parentTable: "Boards", childTable: "Cards", childForeignKey: "BoardId", childIdColumn: "Id"),
            IntegrityRelationSettings(parentTable: "Boards", childTable: "Cards", childForeignKey: "OwnerBoard", childIdColumn: "Id", skipEmpty: true),
            IntegrityRelationSettings(parentTable: "Boards", childTable: "Pins", childForeignKey: "BoardId", childIdColumn: ""),
        ]
        var walking = Self.walking
        walking.configured = relations
        var scanning = Self.scanning
        scanning.configured = relations
        let walked = try await IntegrityChecker(store: pool).run(walking)
        let scanned = try await IntegrityChecker(store: pool).run(scanning)
        #expect(walked.walkedByIndex.count == 3, "\(walked.walkedByIndex)")
        let w = Array(try walked.results.suffix(3)), s = Array(try scanned.results.suffix(3))
        #expect(w == s)

        let cards = try #require(w[0].data?.records)
        // NULL first (no parent id), then bytewise: "", "GONE", the invalid byte, "gone" ×40 — every row.
        #expect(cards.first == OrphanedRecord(parentID: nil, childID: "c-null"))
        #expect(cards.contains(OrphanedRecord(parentID: "", childID: "c-empty")))
        #expect(cards.filter { $0.parentID == "gone" }.count == 40)
        #expect(cards.contains { $0.childID == "c-bad-utf8" }, "a key that is not UTF-8 still finds its rows")
        #expect(cards.contains { $0.childID == "c-nul" }, "a key with a NUL inside still finds its rows")
        #expect(!cards.contains { $0.parentID == "b1" || $0.parentID == "b2" })
        let owners = try #require(w[1].data?.records)
        #expect(owners.map(\.childID) == ["o-gone"], "empty and NULL keys are skipped")
        let pins = try #require(w[2].data?.records)
        #expect(pins.count == 3 && pins.allSatisfy { $0.childID == nil && $0.parentID == "lost" })
    }

    /// An index the walk cannot trust sends the table back to a pass: keys stored as blobs, an
    /// index in another collation, a partial index.
    @Test(arguments: [
        "INSERT INTO Cards (Id, BoardId, OwnerBoard) VALUES ('c-blob', x'676f6e65', 'b1')",
        "DROP INDEX cards_board; CREATE INDEX cards_board ON Cards (BoardId COLLATE NOCASE)",
        "DROP INDEX cards_board; CREATE INDEX cards_board ON Cards (BoardId) WHERE BoardId <> 'b1'",
        "DROP INDEX cards_board; CREATE INDEX cards_board ON Cards (BoardId DESC)",
    ])
    func untrustworthyIndexesAreNotWalked(change: String) async throws {
        let pool = try Self.cardsDatabase()
        try pool.writeSync { try $0.execute(change) }
        var walking = Self.walking
        walking.configured = [IntegrityRelationSettings(parentTable: "Boards", childTable: "Cards", childForeignKey: "BoardId", childIdColumn: "Id")]
        var scanning = Self.scanning
        scanning.configured = walking.configured
        let walked = try await IntegrityChecker(store: pool).run(walking)
        #expect(!walked.walkedByIndex.contains { $0.hasPrefix("Cards.BoardId") }, "\(walked.walkedByIndex)")
        let scanned = try await IntegrityChecker(store: pool).run(scanning)
        #expect(try walked.results.last == (try scanned.results.last))
        #expect(try walked.results.last?.data?.records.count == (change.hasPrefix("INSERT") ? 46 : 45))
    }

    /// A column that compares case-insensitively with an index in binary order: the walk compares
    /// bytes as the index and a pass do ("gone" and "GONE" are two keys).
    @Test func aCaseInsensitiveColumnIsWalkedInBinaryOrder() async throws {
        let pool = try Self.cardsDatabase()
        try pool.writeSync { conn in
            try conn.execute("""
                CREATE TABLE Notes (Id TEXT PRIMARY KEY, BoardId TEXT COLLATE NOCASE);
                CREATE INDEX notes_board ON Notes (BoardId COLLATE BINARY);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
                  INSERT INTO Notes SELECT 'n' || i, CASE i % 4 WHEN 0 THEN 'b1' WHEN 1 THEN 'B1' WHEN 2 THEN 'gone' ELSE 'GONE' END FROM n;
                """)
        }
        let relation = [IntegrityRelationSettings(parentTable: "Boards", childTable: "Notes", childForeignKey: "BoardId", childIdColumn: "Id")]
        var walking = Self.walking
        walking.configured = relation
        var scanning = Self.scanning
        scanning.configured = relation
        let walked = try await IntegrityChecker(store: pool).run(walking)
        #expect(walked.walkedByIndex.contains { $0.hasPrefix("Notes.BoardId") }, "\(walked.walkedByIndex)")
        let records = try #require(try walked.results.last?.data?.records)
        let scanned = try await IntegrityChecker(store: pool).run(scanning)
        #expect(records == (try scanned.results.last?.data?.records))
        #expect(records.count == 45, "B1, gone and GONE: 15 rows each; b1 has its board")
        #expect(Set(records.compactMap(\.parentID)) == ["B1", "GONE", "gone"])
    }

    @Test func manyKeysPerRowAreScanned() async throws {
        let pool = try Self.cardsDatabase()
        // A key per row: seeking each costs more than reading the table.
        try pool.writeSync { conn in
            try conn.execute("CREATE TABLE Tags (Id TEXT PRIMARY KEY, BoardId TEXT); CREATE INDEX tags_board ON Tags (BoardId)")
            try conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO Tags SELECT 't' || i, 'board-' || i FROM n")
        }
        var walking = Self.walking
        walking.configured = [IntegrityRelationSettings(parentTable: "Boards", childTable: "Tags", childForeignKey: "BoardId", childIdColumn: "Id")]
        let report = try await IntegrityChecker(store: pool).run(walking)
        #expect(!report.walkedByIndex.contains { $0.hasPrefix("Tags.") })
        #expect(try report.results.last?.data?.records.count == 500)
    }

    /// The id-space position that estimates a relation's keys: in text order, and even for random ids.
    @Test func idSpacePositionFollowsTextOrder() {
        let ids = (0..<4000).map { _ in NewID.make() }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let positions = ids.map { id in Array(id.utf8).withUnsafeBufferPointer { KeyWalk.idSpacePosition($0) } }
        #expect(positions.allSatisfy { $0 != nil && $0! >= 0 && $0! < 1 })
        #expect(zip(positions, positions.dropFirst()).allSatisfy { $0! <= $1! })
        let mean = positions.reduce(0) { $0 + $1! } / Double(positions.count)
        #expect(abs(mean - 0.5) < 0.05, "random ids spread evenly: mean \(mean)")
        for other in ["admin", "", String(repeating: "l", count: 26), String(repeating: "A", count: 26)] {
            #expect(Array(other.utf8).withUnsafeBufferPointer { KeyWalk.idSpacePosition($0) } == nil)
        }
    }

    /// Boards b1, b2; Cards with awkward keys (`BoardId`, indexed) and owners (`OwnerBoard`,
    /// indexed, skipping empty keys); Pins without an id column.
    static func cardsDatabase() throws -> DatabasePool {
        let path = NSTemporaryDirectory() + "steward-walk-\(UUID().uuidString).db"
        let pool = try SampleDatabase.pool(path)
        try pool.writeSync { conn in
            try conn.execute("""
                CREATE TABLE Boards (Id VARCHAR(26) PRIMARY KEY);
                CREATE TABLE Cards (Id VARCHAR(26) PRIMARY KEY, BoardId VARCHAR(26), OwnerBoard VARCHAR(26), Body TEXT);
                CREATE INDEX cards_board ON Cards (BoardId);
                CREATE INDEX cards_owner ON Cards (OwnerBoard, Id);
                CREATE TABLE Pins (BoardId TEXT, At INTEGER);
                CREATE INDEX pins_board ON Pins (BoardId, At);
                INSERT INTO Boards VALUES ('b1'), ('b2');
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
                  INSERT INTO Cards SELECT 'c' || i, CASE WHEN i % 2 = 0 THEN 'b1' ELSE 'b2' END, 'b1', hex(randomblob(100)) FROM n;
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
                  INSERT INTO Cards SELECT 'g' || i, 'gone', '', '' FROM n;
                INSERT INTO Cards VALUES ('c-null', NULL, NULL, ''), ('c-empty', '', 'b2', ''), ('c-upper', 'GONE', 'b1', ''),
                  ('c-bad-utf8', CAST(x'ff676f6e65' AS TEXT), 'b1', ''), ('c-nul', CAST(x'67006f6e65' AS TEXT), 'b1', ''),
                  ('o-gone', 'b1', 'gone-owner', '');
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
                  INSERT INTO Pins SELECT CASE WHEN i <= 3 THEN 'lost' ELSE 'b1' END, i FROM n;
                """)
        }
        return pool
    }
}
