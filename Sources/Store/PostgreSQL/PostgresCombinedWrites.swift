import Postgres
import StewardModel

/// Group commit on PostgreSQL: short independent writes (a job row) that arrive while one batch is
/// committing wait and go together in the next, one transaction and one WAL flush for all of them.
///
/// Why: with `synchronous_commit` on (the server's default) each commit waits for its WAL flush;
/// one transaction per creation on the one writer made concurrent creations queue behind each
/// other's flushes (0.42× a Go server with eight connections at 32 clients). A batch of inserts is
/// sent in one pipeline (BEGIN, the inserts, COMMIT: one round trip, `PGPipeline.swift`), and up to
/// `maxCombinedWriters` batches commit at once on connections of their own, so a write that
/// arrives while a batch waits for its flush is sent at once instead of after it, and the server
/// flushes both together. At one client a batch is one statement in autocommit; under load
/// batches grow by themselves.
typealias PostgresCombinedWrite = CombinedWrite<any SQLConnection>

extension PostgresPool {
    /// The most writes committed in one transaction (the rest go in the next).
    static let combinedBatchLimit = 128

    func enqueueCombined(_ write: PostgresCombinedWrite) {
        let start = combined.withLock { state -> Bool in
            state.waiting.append(write)
            state.queued += 1
            if state.drainers >= options.maxCombinedWriters { return false }
            state.drainers += 1
            return true
        }
        if start { BlockingPool.shared.submit { self.drainCombined() } }
    }

    /// Commits batches until nothing waits (one of at most `maxCombinedWriters` drainers).
    private func drainCombined() {
        while true {
            let batch = combined.withLock { state -> [PostgresCombinedWrite] in
                let n = min(state.waiting.count, Self.combinedBatchLimit)
                if n == 0 { state.drainers -= 1 }
                defer { state.waiting.removeFirst(n) }
                return Array(state.waiting.prefix(n))
            }
            if batch.isEmpty { return }
            let outcomes: [(any Error)?]
            do {
                let (results, pipelined) = try combinedWriteSync { conn in try Self.commitTogether(batch.map(\.run), on: conn) }
                outcomes = results
                if pipelined { combined.withLock { $0.pipelined += 1 } }
            } catch {
                // The connection is gone (StoreUnavailableError): none of them was written.
                outcomes = Array(repeating: error, count: batch.count)
            }
            for (write, outcome) in zip(batch, outcomes) { write.finish(outcome) }
        }
    }

    /// One transaction for all of `runs`; when one fails, it is rolled back and each runs alone, so
    /// one bad write fails alone. A lost connection is thrown (the caller fails them all).
    /// `pipelined`: the batch committed in one pipeline.
    private static func commitTogether(_ runs: [@Sendable (any SQLConnection) throws -> Void], on conn: PGConnection) throws -> (outcomes: [(any Error)?], pipelined: Bool) {
        if runs.count > 1, conn.canPipeline, let statements = RecordedInserts.record(runs) {
            // One round trip for the batch; after a failure each runs alone below.
            if case .committed = try conn.runInOneTransaction(statements) { return (Array(repeating: nil, count: runs.count), true) }
        } else if runs.count > 1 {
            do {
                try conn.execute("BEGIN")
                for run in runs { try run(conn) }
                try conn.execute("COMMIT")
                return (Array(repeating: nil, count: runs.count), false)
            } catch let e as PGError where e.kind != .statement {
                throw e
            } catch {
                try conn.execute("ROLLBACK")
            }
        }
        let outcomes: [(any Error)?] = try runs.map { run in
            do {
                try run(conn)
                return nil
            } catch let e as PGError where e.kind != .statement {
                throw e
            } catch {
                return error
            }
        }
        return (outcomes, false)
    }
}

/// The statements of a batch of combined writes, taken without running them so the batch can be
/// sent in one pipeline. Only single-row `INSERT … VALUES` statements are taken: each changes one
/// row or fails, so `run` can answer 1 before it ran. Anything else (a query, a transaction, an
/// UPDATE whose count the body might read) makes `record` answer nil, and the batch runs one
/// statement at a time.
final class RecordedInserts: SQLConnection {
    private struct NotRecordable: Error {}
    private(set) var statements: [(sql: String, parameters: [String?])] = []

    static func record(_ runs: [@Sendable (any SQLConnection) throws -> Void]) -> [(sql: String, parameters: [String?])]? {
        let recorder = RecordedInserts()
        do {
            for run in runs { try run(recorder) }
        } catch {
            return nil
        }
        return recorder.statements
    }

    static func isSingleRowInsert(_ sql: String) -> Bool {
        let upper = sql.uppercased()
        guard upper.hasPrefix("INSERT INTO "), !upper.contains("SELECT "), !upper.contains("ON CONFLICT") else { return false }
        // One VALUES list: its parentheses close once before anything but RETURNING.
        guard let values = upper.firstRange(of: " VALUES (") else { return false }
        return !upper[values.upperBound...].contains("),")
    }

    var dialect: SQLDialect { .postgres }
    func execute(_ sql: String) throws { throw NotRecordable() }

    @discardableResult
    func run(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        guard Self.isSingleRowInsert(sql) else { throw NotRecordable() }
        statements.append((PostgresSQL.numbered(sql), parameters.map(PostgresSQL.text)))
        return 1
    }

    func query(_ sql: String, _ parameters: [SQLValue], _ row: (any SQLRow) throws -> Void) throws { throw NotRecordable() }
    func transaction<T>(_ body: () throws -> T) throws -> T { throw NotRecordable() }
    func tableNames() throws -> [String] { throw NotRecordable() }
}
