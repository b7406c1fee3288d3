import Foundation
import StewardModel
import Store
import Testing

@testable import Integrity

/// Every record, as Mattermost answers them, however many; memory bounded by spilling to disk.
@Suite struct IntegrityAnswerTests {
    /// More orphans in one relation than a collector keeps in memory and than the old cap (10,000):
    /// all of them come back, in Mattermost's order, the same records as its SQL.
    @Test func everyRecordIsAnsweredPastTheInMemoryLimit() async throws {
        let bulk = 12_000
        #expect(bulk > OrphanCollector.inMemory)
        let (path, _) = try SampleDatabase.generate(posts: 2_000, extra: ["--bulk-orphans", "\(bulk)"])
        let report = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init())
        let results = try report.results
        let reference = try SampleDatabase.reference(path)
        #expect(results.prefix(41) == reference[...])
        #expect(results[10].data?.records.count == bulk + 3)
        #expect(report.truncated.isEmpty)
        #expect(report.recordCount == reference.reduce(0) { $0 + ($1.data?.records.count ?? 0) })
        // Read twice (the handler writes JSON, a test reads values): the spill is read again.
        #expect(try report.results == results)
    }

    /// The streamed JSON is byte for byte what the one-document encoder writes (Mattermost's key order).
    @Test func theStreamedAnswerIsTheEncodersBytes() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 2_000, extra: ["--bulk-orphans", "5000"])
        let report = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init())
        var streamed: [UInt8] = []
        var chunks = 0
        try report.writeJSON { streamed.append(contentsOf: $0); chunks += 1 }
        #expect(chunks > 1, "written in chunks, not as one document")
        #expect(String(decoding: streamed, as: UTF8.self) == IntegrityCheckResult.json(try report.results))
    }

    /// A cap (opt-in) keeps the first records in order; the two parts of Teams → Channels share it.
    @Test func aCapIsSharedByTheTwoPartsOfTeamsToChannels() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 1_000)
        let full = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init())
        let all = try #require(try full.results[15].data?.records)
        #expect(all.count == 4)
        let capped = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init(maxRecordsPerRelation: 3))
        #expect(try capped.results[15].data?.records == Array(all.prefix(3)))
        #expect(capped.truncated.contains("Channels.TeamId → Teams"))
    }

    /// Progress: every table read is reported once, ending at the total.
    @Test func progressCountsTablesUpToTheTotal() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 500)
        let seen = Locked<[(Int, Int)]>([])
        _ = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(.init(progress: { done, total in
            seen.withLock { $0.append((done, total)) }
        }))
        let steps = seen.withLock { $0 }
        let total = try #require(steps.first?.1)
        // 7 parent tables and 23 child tables in Mattermost's relations.
        #expect(total == 7 + 23)
        #expect(steps.map(\.0) == Array(1...total))
        #expect(steps.allSatisfy { $0.1 == total })
    }
}

/// The child tables scanned by several threads in rowid ranges, on one snapshot.
@Suite struct ParallelScanTests {
    @Test(arguments: [1, 2, 3])
    func rangesOverThreadsGiveMattermostsAnswer(threads: Int) async throws {
        let (path, _) = try SampleDatabase.generate(posts: 5_000, extra: ["--bulk-orphans", "6000"])
        var options = IntegrityChecker.Options()
        options.threads = threads
        options.minimumUnitRows = 300  // every table of a few thousand rows is split
        let seen = Locked<[Int]>([])
        options.progress = { done, _ in seen.withLock { $0.append(done) } }
        let report = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(options)
        #expect(try report.results.prefix(41) == (try SampleDatabase.reference(path))[...])
        #expect(seen.withLock { $0 } == Array(1...30), "each table once, however many units")
    }

    @Test func unitsCoverEveryRowidOnce() throws {
        let (path, _) = try SampleDatabase.generate(posts: 3_000)
        let pool = try SampleDatabase.pool(path)
        try pool.readSync { conn in
            let posts = [Relation(parent: "Users", child: "Posts", foreignKey: "UserId", childId: "Id")]
            let units = ChildScan.units([(name: "Posts", relations: posts)], threads: 2, minimumRows: 100, conn)
            #expect(units.count == 8, "4 per thread")
            let ranges = units.compactMap(\.rowids).sorted { $0.lowerBound < $1.lowerBound }
            #expect(ranges.first?.lowerBound == .min && ranges.last?.upperBound == .max)
            for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound + 1 == b.lowerBound) }
            // One thread: nothing to split.
            #expect(ChildScan.units([(name: "Posts", relations: posts)], threads: 1, minimumRows: 100, conn).map(\.rowids) == [nil])
        }
    }
}

/// Cases a review of the threaded scan found.
@Suite struct IntegrityReviewCases {
    /// A configured relation that is also one of Mattermost's: both answers hold the same records,
    /// each once (the spilled relation's last records were appended once per check).
    @Test func aRelationNamedTwiceAnswersTheSameRecordsTwice() async throws {
        let (path, _) = try SampleDatabase.generate(posts: 2_000, extra: ["--bulk-orphans", "5000"])
        let configured = [IntegrityRelationSettings(parentTable: "Posts", childTable: "Reactions", childForeignKey: "PostId")]
        var options = IntegrityChecker.Options(configured: configured)
        options.threads = 1
        let results = try await IntegrityChecker(store: SampleDatabase.pool(path)).run(options).results
        #expect(results[10].data?.records.count == 5003)
        #expect(results[41].data?.records == results[10].data?.records)
    }

    /// Bytewise, as SQLite sorts the spilled records: a precomposed "é" and "e" + U+0301 are two keys.
    @Test func orderIsBytewiseNotUnicodeEquality() {
        let composed = OrphanedRecord(parentID: "\u{E9}", childID: "b")
        let decomposed = OrphanedRecord(parentID: "e\u{301}", childID: "a")
        #expect(OrphanCollector.precedes(decomposed, composed), "0x65 sorts before 0xC3")
        #expect(!OrphanCollector.precedes(composed, decomposed))
    }

    /// Rowids near both ends of Int64, or a real column named rowid: the table is read whole.
    @Test func extremeRowidsOrARowidColumnAreNotSplit() throws {
        let path = NSTemporaryDirectory() + "steward-rowids-\(UUID().uuidString).db"
        let pool = try SampleDatabase.pool(path)
        try pool.writeSync { conn in
            try conn.execute("""
                CREATE TABLE Wide (Id TEXT, PostId TEXT);
                INSERT INTO Wide (rowid, Id, PostId) VALUES (-9000000000000000000, 'a', 'x'), (9000000000000000000, 'b', 'y');
                CREATE TABLE Odd (rowid TEXT, PostId TEXT);
                INSERT INTO Odd VALUES ('t', 'x'), (NULL, 'y');
                """)
        }
        try pool.readSync { conn in
            let r = [Relation(parent: "Posts", child: "Wide", foreignKey: "PostId", childId: "Id")]
            #expect(ChildScan.units([(name: "Wide", relations: r)], threads: 2, minimumRows: 1, conn).map(\.rowids) == [nil])
            let o = [Relation(parent: "Posts", child: "Odd", foreignKey: "PostId", childId: nil)]
            #expect(ChildScan.units([(name: "Odd", relations: o)], threads: 2, minimumRows: 1, conn).map(\.rowids) == [nil])
        }
    }
}
