import Foundation
@testable import Integrity
import PostgresTestSupport
import StewardModel
import Store
import Testing

/// The integrity check on a Mattermost-shaped PostgreSQL database: always Mattermost's 41
/// results, each exactly what Mattermost's own query returns on the same database — the same
/// records in the same order, also in a collation that is not bytewise.
@Suite(.serialized, .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct PostgresIntegrityTests {
    let cluster = PostgresTestCluster.shared!

    /// A database whose default collation is ICU's en-US where the server has ICU (upper and lower
    /// case sort together there, unlike bytes), else the cluster's default.
    func database() throws -> String {
        let name = "i_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        if (try? cluster.psql("postgres", "CREATE DATABASE \(name) TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")) == nil {
            try cluster.psql("postgres", "CREATE DATABASE \(name)")
        }
        return String(name)
    }

    static let schema = """
        CREATE TABLE teams (id varchar(26) PRIMARY KEY, schemeid varchar(26));
        CREATE TABLE users (id varchar(26) PRIMARY KEY);
        CREATE TABLE schemes (id varchar(26) PRIMARY KEY);
        CREATE TABLE channels (id varchar(26) PRIMARY KEY, teamid varchar(26), type varchar(1), schemeid varchar(26), creatorid varchar(26));
        CREATE TABLE posts (id varchar(26) PRIMARY KEY, channelid varchar(26), userid varchar(26), rootid varchar(26));
        CREATE TABLE reactions (userid varchar(26), postid varchar(26), emojiname varchar(64));
        INSERT INTO teams VALUES ('team1', NULL);
        INSERT INTO users VALUES ('user1');
        INSERT INTO channels VALUES ('chan1', 'team1', 'O', NULL, 'user1'), ('chanorphanteam', 'gone-team', 'P', '', 'ghost'),
                                    ('dm1', '', 'D', NULL, 'user1'), ('gm1', 'stray', 'G', NULL, '');
        INSERT INTO posts VALUES ('p1', 'chan1', 'user1', ''), ('p2', 'Bgone', 'user1', 'p1'), ('p3', 'agone', 'user1', 'nope'),
                                 ('p4', 'Agone', 'ghost', ''), ('p5', NULL, 'user1', NULL), ('p6', 'bgone', 'user1', 'p1');
        INSERT INTO reactions VALUES ('user1', 'p1', 'smile'), ('ghost', 'missing-post', 'x');
        """

    /// Mattermost's query for `child.fk → parent`, written out by hand, run by psql.
    func mattermost(_ db: String, _ child: String, _ fk: String, _ childID: String?, _ parent: String, extra: String = "") throws -> [OrphanedRecord] {
        let select = "CT.\(fk)" + (childID.map { ", CT.\($0)" } ?? "")
        let out = try cluster.psql(db, "SELECT coalesce(\(select.replacingOccurrences(of: ", ", with: ", '~NULL~'), coalesce(")), '~NULL~') FROM \(child) AS CT WHERE NOT EXISTS (SELECT TRUE FROM \(parent) AS PT WHERE PT.id = CT.\(fk)) \(extra) ORDER BY CT.\(fk)")
        return out.split(separator: "\n").map { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map { $0 == "~NULL~" ? nil : String($0) }
            return OrphanedRecord(parentID: f[0], childID: childID == nil ? nil : f[1])
        }
    }

    func results(_ db: String) throws -> [IntegrityCheckResult] {
        let store = try PostgresPool(options: .init(dsn: try PostgresDSN(cluster.dsn(database: db))), migrations: [])
        return try IntegrityChecker(store: store).runSync(.init()).results
    }

    func find(_ results: [IntegrityCheckResult], _ parent: String, _ child: String, _ fk: String) -> [OrphanedRecord]? {
        results.first { $0.data?.parentName == parent && $0.data?.childName == child && $0.data?.parentIDAttr == fk }?.data?.records
    }

    @Test func answersAreMattermostsQueriesOnTheSameDatabase() throws {
        let db = try database()
        try cluster.psql(db, Self.schema)
        let answer = try results(db)
        #expect(answer.count == 41, "Mattermost's 41 results, tables absent or not")
        #expect(answer.allSatisfy { $0.err == nil })

        let posts = try #require(find(answer, "Channels", "Posts", "ChannelId"))
        #expect(posts == (try mattermost(db, "posts", "channelid", "id", "channels")))
        #expect(posts.count == 5 && posts.contains { $0.parentID == nil }, "a NULL key is an orphan without skip-empty")
        if try cluster.psql(db, "SELECT datlocprovider FROM pg_database WHERE datname = current_database()") == "i" {
            // ICU puts agone, Agone, bgone, Bgone together; bytes would give Agone, Bgone, agone, bgone.
            #expect(posts.compactMap(\.parentID) == ["agone", "Agone", "bgone", "Bgone"], "the database's order, not bytes: \(posts)")
        }
        #expect(find(answer, "Posts", "Posts", "RootId") == (try mattermost(db, "posts", "rootid", "id", "posts", extra: "AND CT.rootid <> ''")))
        #expect(find(answer, "Posts", "Reactions", "PostId") == (try mattermost(db, "reactions", "postid", nil, "posts")))
        #expect(find(answer, "Users", "Posts", "UserId") == (try mattermost(db, "posts", "userid", "id", "users")))
        // Teams → Channels: the open and private channels, then DMs and GMs with a team id.
        let teams = try mattermost(db, "channels", "teamid", "id", "teams", extra: "AND CT.type NOT IN ('D', 'G')")
            + (try mattermost(db, "channels", "teamid", "id", "teams", extra: "AND CT.teamid <> '' AND CT.type IN ('D', 'G')"))
        #expect(find(answer, "Teams", "Channels", "TeamId") == teams)
        #expect(teams.map(\.childID) == ["chanorphanteam", "gm1"])
        // A table that is not there answers with no records, as Mattermost's 41 always come.
        #expect(find(answer, "Channels", "FileInfo", "ChannelId") == [])
    }

    /// `DiscoverForeignKeys` on PostgreSQL: declared single-column foreign keys are checked after
    /// the known relations (a known one is not checked twice); orphans behind a `NOT VALID`
    /// constraint are found, a child without a one-column primary key reports no child ids.
    @Test func declaredForeignKeysAreDiscovered() throws {
        let db = try database()
        try cluster.psql(db, Self.schema + """
            CREATE TABLE boards (code varchar(26) PRIMARY KEY);
            CREATE TABLE cards (id varchar(26) PRIMARY KEY, boardcode varchar(26));
            CREATE TABLE cardlabels (cardid varchar(26), label text);
            INSERT INTO boards VALUES ('b1');
            INSERT INTO cards VALUES ('c1', 'b1'), ('c2', 'gone'), ('c3', NULL);
            INSERT INTO cardlabels VALUES ('c1', 'x'), ('lost', 'y');
            ALTER TABLE cards ADD CONSTRAINT cards_board FOREIGN KEY (boardcode) REFERENCES boards (code) NOT VALID;
            ALTER TABLE cardlabels ADD CONSTRAINT labels_card FOREIGN KEY (cardid) REFERENCES cards (id) NOT VALID;
            ALTER TABLE posts ADD CONSTRAINT posts_channel FOREIGN KEY (channelid) REFERENCES channels (id) NOT VALID;
            """)
        let store = try PostgresPool(options: .init(dsn: try PostgresDSN(cluster.dsn(database: db))), migrations: [])
        #expect(try IntegrityChecker(store: store).runSync(.init()).results.count == 41, "nothing discovered unless asked")
        let answer = try IntegrityChecker(store: store).runSync(.init(discoverForeignKeys: true)).results
        #expect(answer.count == 43, "Posts → Channels is one of Mattermost's 41, not checked again: \(answer.count)")
        let cards = try #require(answer[42].data)
        #expect(cards.parentName == "boards" && cards.childName == "cards" && cards.parentIDAttr == "boardcode" && cards.childIDAttr == "id")
        #expect(cards.records == [OrphanedRecord(parentID: "gone", childID: "c2"), OrphanedRecord(parentID: nil, childID: "c3")])
        let labels = try #require(answer[41].data, "child tables in name order: cardlabels, then cards")
        #expect(labels.childName == "cardlabels" && labels.childIDAttr == "" && labels.records == [OrphanedRecord(parentID: "lost", childID: nil)])
    }

    /// Relations are read by several connections at once, all on the first one's snapshot: a row
    /// committed after it was exported is seen by none of them; three threads answer what one does.
    @Test func connectionsReadingAtOnceShareOneSnapshot() throws {
        let db = try database()
        try cluster.psql(db, Self.schema)
        let store = try PostgresPool(options: .init(dsn: try PostgresDSN(cluster.dsn(database: db))), migrations: [])
        let first = try store.dedicatedConnection()
        try PostgresIntegrity.begin(first, snapshot: nil)
        let snapshot = try #require(try first.query("SELECT pg_export_snapshot()").scalar)
        try cluster.psql(db, "INSERT INTO reactions VALUES ('user1', 'late-orphan', 'x')")
        let second = try store.dedicatedConnection()
        try PostgresIntegrity.begin(second, snapshot: snapshot)
        #expect(try second.query("SELECT count(*) FROM reactions WHERE postid = 'late-orphan'").scalar == "0")
        let fresh = try store.dedicatedConnection()
        try PostgresIntegrity.begin(fresh, snapshot: nil)
        #expect(try fresh.query("SELECT count(*) FROM reactions WHERE postid = 'late-orphan'").scalar == "1", "the row is there for a new snapshot")

        var options = IntegrityChecker.Options()
        options.threads = 1
        let one = try IntegrityChecker(store: store).runSync(options).results
        options.threads = 3
        let three = try IntegrityChecker(store: store).runSync(options).results
        #expect(one.count == 41 && one == three)
    }

    @Test func manyOrphansAreAllReportedInOrder() throws {
        let db = try database()
        try cluster.psql(db, Self.schema)
        try cluster.psql(db, "INSERT INTO reactions SELECT 'user1', 'orphan' || lpad(g::text, 6, '0'), 'x' FROM generate_series(1, 25000) g")
        let answer = try results(db)
        let reactions = try #require(find(answer, "Posts", "Reactions", "PostId"))
        #expect(reactions.count == 25001, "past the collector's memory and the fetch size")
        #expect(reactions == (try mattermost(db, "reactions", "postid", nil, "posts")))
    }
}
