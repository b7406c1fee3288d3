import Integrity
import StewardModel
import Store
import Testing

/// Parent tables keyed by large integers (epoch milliseconds, snowflake ids): the id set used to be
/// sized from `max(rowid)`, which asked for an absurd allocation or trapped on the arithmetic.
@Suite struct IntegritySizingTests {
    @Test(arguments: [Int64(1) << 40, Int64(1) << 62, Int64.max])
    func aHugeLastRowidSizesNothingHuge(lastKey: Int64) async throws {
        let (path, _) = try SampleDatabase.generate(posts: 50, extra: ["--no-orphans"])
        let pool = try SampleDatabase.pool(path)
        try SampleDatabase.executeBreakingKeys(pool, """
                CREATE TABLE Labels (Code INTEGER PRIMARY KEY, Name TEXT);
                CREATE TABLE CardLabels (CardId TEXT, LabelCode INTEGER REFERENCES Labels(Code));
                INSERT INTO Labels VALUES (1, 'red'), (\(lastKey), 'late');
                INSERT INTO CardLabels VALUES ('c1', 1), ('c2', \(lastKey)), ('c3', 7);
                """)
        let report = try await IntegrityChecker(store: pool).run(.init(discoverForeignKeys: true))
        let labels = try #require((try report.results).first { $0.data?.childName == "CardLabels" }?.data)
        #expect(labels.records == [OrphanedRecord(parentID: "7", childID: nil)], "only the missing label is an orphan")
    }
}
