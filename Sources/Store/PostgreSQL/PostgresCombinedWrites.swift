import Postgres
import StewardModel

/// Group commit on PostgreSQL: short independent writes (a job row) that arrive while one batch is
/// committing wait and go together in the next, one transaction and one WAL flush for all of them.
///
/// Why: the pool has one writer connection, and with `synchronous_commit` on (the server's default)
/// each commit waits for its WAL flush; one transaction per creation made concurrent creations
/// queue behind each other's flushes (0.42× a Go server with eight connections at 32 clients).
/// One batch drains at a time on the blocking pool: at one client a batch is one statement in
/// autocommit, as before; under load batches grow by themselves.
typealias PostgresCombinedWrite = CombinedWrite<any SQLConnection>

extension PostgresPool {
    /// The most writes committed in one transaction (the rest go in the next).
    static let combinedBatchLimit = 128

    func enqueueCombined(_ write: PostgresCombinedWrite) {
        let start = combined.withLock { state -> Bool in
            state.waiting.append(write)
            state.queued += 1
            if state.draining { return false }
            state.draining = true
            return true
        }
        if start { BlockingPool.shared.submit { self.drainCombined() } }
    }

    /// Commits batches until nothing waits; the one drainer at a time.
    private func drainCombined() {
        while true {
            let batch = combined.withLock { state -> [PostgresCombinedWrite] in
                let n = min(state.waiting.count, Self.combinedBatchLimit)
                if n == 0 { state.draining = false }
                defer { state.waiting.removeFirst(n) }
                return Array(state.waiting.prefix(n))
            }
            if batch.isEmpty { return }
            let outcomes: [(any Error)?]
            do {
                outcomes = try writeSQLSync { conn in try Self.commitTogether(batch.map(\.run), on: conn) }
            } catch {
                // The connection is gone (StoreUnavailableError): none of them was written.
                outcomes = Array(repeating: error, count: batch.count)
            }
            for (write, outcome) in zip(batch, outcomes) { write.finish(outcome) }
        }
    }

    /// One transaction for all of `runs`; when one fails, it is rolled back and each runs alone, so
    /// one bad write fails alone. A lost connection is thrown (the caller fails them all).
    private static func commitTogether(_ runs: [@Sendable (any SQLConnection) throws -> Void], on conn: any SQLConnection) throws -> [(any Error)?] {
        if runs.count > 1 {
            do {
                try conn.execute("BEGIN")
                for run in runs { try run(conn) }
                try conn.execute("COMMIT")
                return Array(repeating: nil, count: runs.count)
            } catch let e as PGError where e.kind != .statement {
                throw e
            } catch {
                try conn.execute("ROLLBACK")
            }
        }
        return try runs.map { run in
            do {
                try run(conn)
                return nil
            } catch let e as PGError where e.kind != .statement {
                throw e
            } catch {
                return error
            }
        }
    }
}
