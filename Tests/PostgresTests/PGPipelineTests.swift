import Foundation
import Postgres
import PostgresTestSupport
import StewardModel
import Testing

/// `runInOneTransaction`: a batch in one pipeline, against the tests' own PostgreSQL server.
@Suite(.serialized, .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct PGPipelineTests {
    let cluster = PostgresTestCluster.shared!

    func connect() throws -> PGConnection {
        let db = try cluster.createDatabase()
        let c = try PGConnection(try PostgresDSN(cluster.dsn(database: db)))
        try c.execute("CREATE TABLE T (Id bigint PRIMARY KEY, V text)")
        return c
    }

    func inserts(_ ids: [Int]) -> [(sql: String, parameters: [String?])] {
        ids.map { ("INSERT INTO T (Id, V) VALUES ($1, $2)", [String($0), "v\($0)"]) }
    }

    @Test func aBatchCommitsInOneTransaction() throws {
        let c = try connect()
        guard case .committed = try c.runInOneTransaction(inserts(Array(1...50))) else {
            Issue.record("the batch did not commit")
            return
        }
        #expect(try c.query("SELECT count(*), count(DISTINCT xmin::text) FROM T").rows == [["50", "1"]], "fifty rows, one transaction")
        // The connection is back in normal mode: a plain statement runs.
        #expect(try c.query("SELECT 1").rows == [["1"]])
    }

    @Test func aFailingStatementIsNamedAndNothingOfTheBatchIsWritten() throws {
        let c = try connect()
        try c.query("INSERT INTO T (Id, V) VALUES (7, 'first')")
        // Statement 3 (id 7) collides; NULL parameters go through as NULL.
        var batch = inserts([4, 5, 6, 7, 8])
        batch[1].parameters[1] = nil
        guard case .failed(let index, let error) = try c.runInOneTransaction(batch) else {
            Issue.record("a duplicate key committed")
            return
        }
        #expect(index == 3)
        #expect(error.isUniqueViolation, "\(error)")
        #expect(try c.query("SELECT Id, V FROM T").rows == [["7", "first"]], "rolled back as a whole")
        // Not left in an aborted transaction or in pipeline mode.
        guard case .committed = try c.runInOneTransaction(batch.filter { $0.parameters[0] != "7" }) else {
            Issue.record("the connection was not usable after a failed batch")
            return
        }
        #expect(try c.query("SELECT count(*), count(V) FROM T").rows == [["5", "4"]])
    }

    @Test func preparedStatementsOfTheConnectionRunPrepared() throws {
        let c = try connect()
        let insert = "INSERT INTO T (Id, V) VALUES ($1, $2)"
        try c.query(insert, ["1", "a"])
        try c.query(insert, ["2", "b"])
        #expect(c.preparedCount == 1)
        guard case .committed = try c.runInOneTransaction(inserts([3, 4, 5])) else {
            Issue.record("the batch did not commit")
            return
        }
        #expect(c.preparedCount == 1, "nothing new prepared")
        #expect(try c.query("SELECT count(*) FROM T").rows == [["5"]])
        // A prepared statement the server forgot fails the batch cleanly (its writes then go one by one).
        try c.execute("DEALLOCATE ALL")
        guard case .failed(let index, _) = try c.runInOneTransaction(inserts([6, 7])) else {
            Issue.record("a statement the server had forgotten ran")
            return
        }
        #expect(index == 0)
        #expect(try c.query("SELECT count(*) FROM T").rows == [["5"]])
    }

    /// An idle connection the server ended still looks connected to libpq until it is used;
    /// `isUsable` sees the server's goodbye on the socket, so a pool drops it before use.
    @Test func anIdleConnectionTheServerEndedIsNotUsable() throws {
        let c = try connect()
        #expect(c.isUsable)
        let admin = try PGConnection(try PostgresDSN(cluster.dsn(database: "postgres")))
        let pid = String(c.backendPID)
        try admin.query("SELECT pg_terminate_backend($1)", [pid])
        for _ in 0..<600 where try admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid]).rows != [["0"]] {
            usleep(50_000)
        }
        #expect(c.isConnected, "libpq has not noticed yet")
        #expect(!c.isUsable)
    }

    @Test func aLostConnectionIsThrown() throws {
        let c = try connect()
        let admin = try PGConnection(try PostgresDSN(cluster.dsn(database: "postgres")))
        let pid = String(c.backendPID)
        try admin.query("SELECT pg_terminate_backend($1)", [pid])
        // Gone before the batch is sent (termination is asynchronous), so the batch cannot commit.
        for _ in 0..<600 where try admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid]).rows != [["0"]] {
            usleep(50_000)
        }
        #expect {
            _ = try c.runInOneTransaction(inserts([1, 2]))
        } throws: { ($0 as? PGError)?.kind == .connectionLost }
    }
}
