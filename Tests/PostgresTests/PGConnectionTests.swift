import Foundation
import Postgres
import PostgresTestSupport
import StewardModel
import Testing

/// libpq through `PGConnection`, against the tests' own PostgreSQL server.
@Suite(.serialized, .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct PGConnectionTests {
    let cluster = PostgresTestCluster.shared!

    func connect(_ database: String, user: String = PostgresTestCluster.superuser, password: String? = PostgresTestCluster.superuserPassword,
                 timeout: Int? = nil) throws -> PGConnection {
        try PGConnection(try PostgresDSN(cluster.dsn(database: database, user: user, password: password)), statementTimeoutMilliseconds: timeout)
    }

    @Test func parametersRoundTripAsValuesNotSQL() throws {
        let db = try cluster.createDatabase()
        let c = try connect(db)
        try c.execute("CREATE TABLE T (Id varchar(26) PRIMARY KEY, V text, N bigint)")
        let hostile = "x'); DROP TABLE T; --"
        let inserted = try c.query("INSERT INTO T (Id, V, N) VALUES ($1, $2, $3), ($4, NULL, $5)", ["a", hostile, "42", "b", "-7"])
        #expect(inserted.affected == 2)
        let rows = try c.query("SELECT Id, V, N FROM T ORDER BY Id")
        #expect(rows.columns == ["id", "v", "n"])
        #expect(rows.rows == [["a", hostile, "42"], ["b", nil, "-7"]])
        #expect(c.serverVersion >= 150000)
    }

    /// A statement seen again runs prepared (parsed and planned once per connection); one seen
    /// once, and cursor commands, are not prepared. A prepared statement the server no longer has,
    /// or whose result changed shape under it, runs as text again instead of failing.
    @Test func repeatedStatementsArePreparedAndSurviveTheServerForgettingThem() throws {
        let db = try cluster.createDatabase()
        let c = try connect(db)
        try c.execute("CREATE TABLE T (Id bigint PRIMARY KEY, V text)")
        let insert = "INSERT INTO T (Id, V) VALUES ($1, $2)"
        try c.query(insert, ["1", "one"])
        #expect(c.preparedCount == 0, "seen once: sent as text")
        try c.query(insert, ["2", "two"])
        try c.query(insert, ["3", "three"])
        #expect(c.preparedCount == 1)
        #expect(try cluster.psql(db, "SELECT count(*) FROM T") == "3")
        #expect(try c.query("SELECT count(*) FROM pg_prepared_statements").scalar == "1", "one statement on the server")

        let select = "SELECT * FROM T WHERE Id = $1"
        #expect(try c.query(select, ["1"]).rows == [["1", "one"]])
        #expect(try c.query(select, ["2"]).rows == [["2", "two"]])
        #expect(c.preparedCount == 2)
        // The result type changes under the prepared statement (0A000 on its next run).
        try c.execute("ALTER TABLE T ADD COLUMN W text DEFAULT 'w'")
        #expect(try c.query(select, ["3"]).rows == [["3", "three", "w"]])
        // The server forgets every prepared statement (26000 on their next run).
        try c.execute("DEALLOCATE ALL")
        try c.query(insert, ["4", "four"])
        #expect(try c.query(select, ["4"]).rows == [["4", "four", "w"]])

        try c.execute("BEGIN")
        for _ in 0..<3 { try c.query("DECLARE cur NO SCROLL CURSOR FOR SELECT Id FROM T"); try c.execute("CLOSE cur") }
        try c.execute("COMMIT")
        #expect(try c.query("SELECT count(*) FROM pg_prepared_statements WHERE statement ILIKE 'DECLARE%'").scalar == "0")
    }

    @Test func md5AndScramPasswordsBothLogIn() throws {
        let db = try cluster.createDatabase()
        try cluster.psql(db, "SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'md5-pass-1'")
        try cluster.psql(db, "SET password_encryption = 'scram-sha-256'; CREATE ROLE scramuser LOGIN PASSWORD 'scram-pass-1'")
        #expect(try cluster.psql(db, "SELECT substr(rolpassword, 1, 3) FROM pg_authid WHERE rolname = 'md5user'") == "md5")
        #expect(try cluster.psql(db, "SELECT substr(rolpassword, 1, 13) FROM pg_authid WHERE rolname = 'scramuser'") == "SCRAM-SHA-256")
        #expect(try connect(db, user: "md5user", password: "md5-pass-1").query("SELECT current_user").scalar == "md5user")
        #expect(try connect(db, user: "scramuser", password: "scram-pass-1").query("SELECT current_user").scalar == "scramuser")
    }

    @Test func aWrongPasswordIsRefusedWithoutShowingIt() throws {
        let db = try cluster.createDatabase()
        let wrong = "wrong-Pa55word"
        do {
            _ = try connect(db, password: wrong)
            Issue.record("a wrong password logged in")
        } catch let error as PGError {
            #expect(error.kind == .connect && error.isAuthentication, "\(error)")
            #expect(!"\(error)".contains(wrong))
            #expect("\(error)".contains("password authentication failed"), "\(error)")
        }
    }

    @Test func anUnreachableServerFailsFast() throws {
        let dsn = try PostgresDSN("postgres://u:p4ssw0rd@/db?host=/nonexistent-socket-dir&connect_timeout=2")
        let start = Date()
        #expect(throws: PGError.self) { _ = try PGConnection(dsn) }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func theStatementTimeoutCancelsALongStatement() throws {
        let db = try cluster.createDatabase()
        let c = try connect(db, timeout: 200)
        do {
            try c.execute("SELECT pg_sleep(30)")
            Issue.record("pg_sleep(30) was not cancelled")
        } catch {
            #expect(error.sqlState == "57014", "\(error)")
        }
        #expect(try c.query("SELECT 1").scalar == "1", "the connection is usable after a cancelled statement")
    }

    @Test func aFailedTransactionLeavesNothing() throws {
        let db = try cluster.createDatabase()
        let c = try connect(db)
        try c.execute("CREATE TABLE T (Id int PRIMARY KEY)")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try c.transaction {
                try c.query("INSERT INTO T VALUES (1)")
                throw Boom()
            }
        }
        #expect(try c.query("SELECT count(*) FROM T").scalar == "0")
        do {
            try c.query("INSERT INTO T VALUES ($1), ($1)", ["5"])
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.isUniqueViolation, "\(error)")
        }
    }

    @Test func aServerThatWentAwayIsReportedAsALostConnection() throws {
        let db = try cluster.createDatabase()
        let c = try connect(db)
        let pid = c.backendPID
        try cluster.psql("postgres", "SELECT pg_terminate_backend(\(pid))")
        do {
            try c.query("SELECT 1")
            Issue.record("a terminated backend still answered")
        } catch {
            #expect(error.kind == .connectionLost || !c.isConnected, "\(error)")
        }
    }
}
