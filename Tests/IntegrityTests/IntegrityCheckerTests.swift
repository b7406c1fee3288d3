import Foundation
import StewardModel
import Store
import Testing

@testable import Integrity

@Suite struct IntegrityCheckerTests {
    @Test(arguments: [2_000, 30_000])
    func matchesTheGeneratorAndMattermostsSQL(posts: Int) async throws {
        let (path, expected) = try SampleDatabase.generate(posts: posts, seed: posts)
        let report = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init())
        #expect((try report.results).count == 41)
        #expect(report.skipped.isEmpty)
        #expect((try report.results) == expected.results)
        #expect((try report.results) == (try SampleDatabase.reference(path)))
        #expect(report.orphanCounts.map(\.count) == expected.counts)
        // Every relation has at least one orphan injected, so no check passed by accident.
        #expect((try report.results).allSatisfy { !($0.data?.records.isEmpty ?? true) })
    }

    @Test func cleanDatabaseHasNoOrphansInAnyRelation() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 3_000, extra: ["--no-orphans"])
        let report = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init())
        #expect((try report.results).count == 41)
        for r in (try report.results) {
            #expect(r.err == nil)
            #expect(r.data?.records == [], "\(r.data?.childName ?? "").\(r.data?.parentIDAttr ?? "")")
        }
    }

    @Test func emptyKeysAndTheDirectMessageCases() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 1_000)
        let results = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init()).results
        func records(_ i: Int) -> [OrphanedRecord] { results[i].data?.records ?? [] }
        // Channels -> Posts does not skip empty keys: the empty ChannelId is reported, first in order.
        #expect(records(5).first?.parentID == "")
        // Posts.RootId skips them.
        #expect(!records(9).contains { $0.parentID == "" })
        // Emoji.CreatorId NULL is reported with parent_id null.
        #expect(records(27).first == OrphanedRecord(parentID: nil, childID: records(27).first?.childID))
        // Teams -> Channels: the open channel without a team is reported, DMs/GMs without one are not,
        // and those with a team that does not exist come after the non-DM orphans.
        let teams = records(15)
        #expect(teams.count == 4)
        #expect(teams.filter { $0.parentID == "" }.count == 1)
        #expect(results[15].data?.childIDAttr == "Id" && results[15].data?.parentIDAttr == "TeamId")
        // Relations whose child has no id column report child_id null.
        #expect(records(2).allSatisfy { $0.childID == nil })
        #expect(results[2].data?.childIDAttr == "")
    }

    @Test func absentTablesAnswerWithNoRecords() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 1_000)
        let pool = try SampleDatabase.pool(path)
        try pool.writeSync { try $0.execute("DROP TABLE Threads; DROP TABLE OAuthApps; DROP TABLE Schemes") }
        let report = try await IntegrityChecker(store: pool).run(.init())
        // Mattermost's 41 always: a relation with an absent table answers with no records.
        let results = try report.results
        #expect(results.count == 41)
        #expect(report.skipped.sorted() == ["OAuthApps.CreatorId → Users", "Channels.SchemeId → Schemes", "Teams.SchemeId → Schemes", "Threads.ThreadTeamId → Teams"].sorted())
        let threads = try #require(results[11].data)
        #expect(threads.childName == "Threads" && threads.parentName == "Teams" && threads.parentIDAttr == "ThreadTeamId")
        #expect(threads.records.isEmpty && results[11].err == nil)
        #expect(results.map { $0.data?.childName } == MattermostRelations.checks.map(\.childName))
    }

    @Test func aMissingColumnIsAStringError() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 500)
        let pool = try SampleDatabase.pool(path)
        try pool.writeSync { try $0.execute("ALTER TABLE Emoji RENAME COLUMN CreatorId TO Owner") }
        let results = try await IntegrityChecker(store: pool).run(.init()).results
        #expect(results[27].data == nil)
        #expect(results[27].err == "no such column: Emoji.CreatorId")
        #expect(results[26].err == nil)
    }

    @Test func recordsAreCappedButCountedInFull() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 2_000, extra: ["--bulk-orphans", "500"])
        let report = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init(maxRecordsPerRelation: 50))
        let reactions = try #require((try report.results)[10].data)
        #expect(reactions.records.count == 50)
        #expect(report.orphanCounts[10].count == 503)
        #expect(report.truncated == ["Reactions.PostId → Posts"])
        // The kept records are the first 50 in Mattermost's order, exactly.
        let all = try SampleDatabase.reference(path)[10].data!.records
        #expect(all.count == 503)
        #expect(reactions.records == Array(all.prefix(50)))
    }

    @Test func configuredAndDiscoveredRelationsComeAfterMattermosts() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 500, extra: ["--no-orphans"])
        let pool = try SampleDatabase.pool(path)
        try SampleDatabase.executeBreakingKeys(pool, """
                CREATE TABLE Boards (Id TEXT PRIMARY KEY, Title TEXT);
                CREATE TABLE Cards (Id TEXT PRIMARY KEY, BoardId TEXT REFERENCES Boards(Id), OwnerId TEXT);
                CREATE TABLE Labels (Code INTEGER PRIMARY KEY, Name TEXT);
                CREATE TABLE CardLabels (CardId TEXT, LabelCode INTEGER REFERENCES Labels(Code));
                INSERT INTO Boards VALUES ('b1', 'one');
                INSERT INTO Cards VALUES ('c1', 'b1', 'nobody'), ('c2', 'gone', ''), ('c3', NULL, 'x');
                INSERT INTO Labels VALUES (1, 'red');
                INSERT INTO CardLabels VALUES ('c1', 1), ('c2', 7);
                """)
        let configured = [IntegrityRelationSettings(parentTable: "Users", childTable: "Cards", childForeignKey: "OwnerId",
                                                    childIdColumn: "Id", skipEmpty: true)]
        let plain = try await IntegrityChecker(store: pool).run(.init(configured: configured))
        #expect((try plain.results).count == 42)
        #expect((try plain.results)[41].data?.records.map(\.parentID) == ["nobody", "x"])

        let discovered = try await IntegrityChecker(store: pool).run(.init(configured: configured, discoverForeignKeys: true))
        #expect((try discovered.results).count == 44)
        let cards = try #require((try discovered.results).first { $0.data?.childName == "Cards" && $0.data?.parentIDAttr == "BoardId" }?.data)
        #expect(cards.parentName == "Boards" && cards.childIDAttr == "Id")
        #expect(cards.records == [OrphanedRecord(parentID: nil, childID: "c3"), OrphanedRecord(parentID: "gone", childID: "c2")])
        let labels = try #require((try discovered.results).first { $0.data?.childName == "CardLabels" }?.data)
        #expect(labels.childIDAttr == "" && labels.records == [OrphanedRecord(parentID: "7", childID: nil)])
    }

    /// A configured relation naming Mattermost's parent key in other case (`users.id`): one set,
    /// read once (two reads of one name used to release its waiters twice, which traps).
    @Test func parentKeysDifferingOnlyInCaseAreReadOnce() async throws {
        let (path, expected) = try SampleDatabase.generate(posts: 500)
        let configured = [IntegrityRelationSettings(parentTable: "users", parentKey: "id", childTable: "Posts", childForeignKey: "UserId", childIdColumn: "Id")]
        let report = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init(configured: configured))
        let results = try report.results
        #expect(Array(results.prefix(41)) == expected.results)
        #expect(results.last?.data?.records == results[34].data?.records, "the same records as Mattermost's Users → Posts")
    }

    @Test func oneSnapshotWhileAWriterContinues() async throws {
        let (path, expected) = try SampleDatabase.generate(posts: 2_000)
        let pool = try SampleDatabase.pool(path)
        let writer = try Connection(path: path, readOnly: false, busyTimeoutMilliseconds: 5000)
        let w = writer
        let wrote = Locked(0)
        // After the first table is read, orphans are written (and committed) into tables not yet read.
        let options = IntegrityChecker.Options(afterTableScan: { _ in
            guard wrote.withLock({ $0 }) == 0 else { return }
            try? w.execute("""
                INSERT INTO Posts (Id, UserId, ChannelId, RootId) VALUES ('late-post', 'no-such-user', 'no-such-channel', '');
                INSERT INTO Reactions (UserId, PostId, EmojiName) VALUES ('no-such-user', 'no-such-post', 'late');
                """)
            wrote.withLock { $0 += 1 }
        })
        let report = try await IntegrityChecker(store: pool).run(options)
        #expect(wrote.withLock { $0 } == 1)
        #expect((try report.results) == expected.results, "the check saw its snapshot, not the later writes")
        let after = try await IntegrityChecker(store: pool).run(.init())
        #expect((try after.results)[5].data!.records.contains { $0.childID == "late-post" })
    }

    @Test func nonCanonicalIdsAreComparedExactly() async throws {
        let path = NSTemporaryDirectory() + "steward-ids-\(UUID().uuidString).db"
        let pool = try SampleDatabase.pool(path)
        let canonical = NewID.make()
        // The same 128 bits with non-zero padding bits, upper case, and a short id are all different keys.
        var padded = Array(canonical.utf8)
        padded[25] = UInt8(ascii: "n")  // 'n' has low bits set: not canonical
        let paddedID = String(decoding: padded, as: UTF8.self)
        try pool.writeSync { conn in
            try conn.execute("""
                CREATE TABLE Users (Id TEXT PRIMARY KEY);
                CREATE TABLE Posts (Id TEXT PRIMARY KEY, UserId TEXT, ChannelId TEXT, RootId TEXT);
                INSERT INTO Users VALUES ('\(canonical)'), ('Admin'), ('42');
                INSERT INTO Posts VALUES ('p1', '\(canonical)', 'x', ''), ('p2', '\(canonical.uppercased())', 'x', ''),
                  ('p3', 'Admin', 'x', ''), ('p4', 'admin', 'x', ''), ('p5', '42', 'x', ''), ('p6', '\(paddedID)', 'x', '');
                """)
        }
        let report = try await IntegrityChecker(store: pool).run(.init())
        let usersPosts = try #require((try report.results).first { $0.data?.parentName == "Users" && $0.data?.childName == "Posts" }?.data)
        #expect(Set(usersPosts.records.compactMap(\.childID)) == ["p2", "p4", "p6"])
    }

    @Test func decoderAcceptsOnlyCanonicalIds() {
        for _ in 0..<1000 {
            let id = NewID.make()
            let decoded = Array(id.utf8).withUnsafeBufferPointer { MattermostID.decode($0) }
            #expect(decoded != nil)
        }
        for _ in 0..<1000 {
            let id = NewID.make()
            let decoded: (UInt64, UInt64)? = Array(id.utf8).withUnsafeBufferPointer { MattermostID.decode($0) }
            #expect(decoded.map { MattermostID.encode($0.0, $0.1) } == id, "encode(decode(id)) == id")
        }
        for bad in ["", "short", String(repeating: "y", count: 27), String(repeating: "Y", count: 26), String(repeating: "y", count: 25) + "n"] {
            #expect(Array(bad.utf8).withUnsafeBufferPointer { MattermostID.decode($0) } == nil, "\(bad)")
        }
    }

    @Test func idSetFindsWhatWasInsertedAcrossGrowth() {
        let set = IDSet(expected: 1)
        let ids = (0..<20_000).map { _ in NewID.make() } + ["", "Admin", "x"]
        for id in ids { Array(id.utf8).withUnsafeBufferPointer { set.insert($0) } }
        #expect(set.totalCount == ids.count)
        #expect(ids.allSatisfy { id in Array(id.utf8).withUnsafeBufferPointer { set.contains($0) } })
        let others = (0..<2_000).map { _ in NewID.make() } + ["admin", "y"]
        #expect(!others.contains { id in Array(id.utf8).withUnsafeBufferPointer { set.contains($0) } })
    }
}
