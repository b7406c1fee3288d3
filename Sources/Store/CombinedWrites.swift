import StewardModel

/// A short write waiting for the store's writer: committed by whichever thread holds the writer
/// next, in one transaction with every other write waiting then (group commit).
///
/// Why: a job creation is one row, but its commit writes a WAL frame for every b-tree it touches
/// (the table and three indexes) and takes SQLite's locks; rows created together share most of
/// those pages and all of the locking. And a creation that found the writer taken used to wait on a
/// blocking-pool thread and hop back; now it waits for the holder, with no thread of its own.
/// Generic over the connection so both dialects share the waiting (`submit`); each pool keeps
/// its own queue and batching.
struct CombinedWrite<Conn>: Sendable {
    let run: @Sendable (Conn) throws -> Void
    let finish: @Sendable ((any Error)?) -> Void

    /// Wraps `body` as a combined write, hands it to `enqueue`, and waits (holding no thread) until
    /// its batch has committed or failed.
    static func submit<T: Sendable>(
        _ body: @escaping @Sendable (Conn) throws -> T, to enqueue: (CombinedWrite) -> Void
    ) async throws -> T {
        let result = Locked<T?>(nil)
        return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
            enqueue(CombinedWrite(
                run: { conn in
                    let value = try body(conn)
                    result.withLock { $0 = value }
                },
                finish: { error in
                    if let error { return cont.resume(throwing: error) }
                    cont.resume(returning: result.withLock { $0! })
                }))
        }
    }
}

extension DatabasePool {
    /// The most writes committed in one transaction (the rest go in the next).
    static let combinedBatchLimit = 128

    /// How one write of a combined transaction ended.
    enum CombinedOutcome {
        case committed
        case failed(any Error)
        /// SQLite's lock was held by another connection and this run may not wait: not written.
        case busy
    }

    /// Runs `body` on the writer together with other combined writes, on whichever thread holds the
    /// writer next: this one at once when it is free (without waiting on SQLite's lock), otherwise
    /// the holder's when it is done. The caller's task waits without holding a thread. For short,
    /// independent writes (a job row): the batch is one transaction, so `body` must not begin or end
    /// one; if one write of a batch fails, each is run again alone, so one bad write fails alone.
    public func writeCombined<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await CombinedWrite.submit(body) { write in
            waiting.withLock { $0.append(write) }
            commitWaitingIfFree()
        }
    }

    /// Commits the waiting writes if the writer is free this instant; otherwise its holder will, as
    /// every holder does when it lets go (`afterWriterReleased`). Never waits for a lock.
    func commitWaitingIfFree() {
        while true {
            let epoch = statementEpoch
            let taken: (batch: [CombinedWrite<Connection>], outcomes: [CombinedOutcome])? = writer.withLockIfAvailable { conn in
                let batch = takeWaiting()
                guard !batch.isEmpty else { return ([], []) }
                let outcomes = conn.withoutWaiting {
                    Self.commitTogether(batch.map(\.run), on: conn, epoch: epoch)
                }
                return (batch, outcomes)
            }
            // Held by another thread: it commits what waits when it lets go.
            guard let taken else { return }
            if taken.batch.isEmpty {
                // Nothing was waiting under the lock; a write queued since is ours to commit.
                if waiting.withLock({ $0.isEmpty }) { return }
                continue
            }
            finish(taken.batch, taken.outcomes)
        }
    }

    /// Ends each write of a batch; writes that met another connection's lock go to a thread that
    /// may wait for it.
    func finish(_ batch: [CombinedWrite<Connection>], _ outcomes: [CombinedOutcome]) {
        let busy = Self.end(batch, outcomes, busy: nil)
        guard !busy.isEmpty else { return }
        BlockingPool.shared.submit { [busy] in
            let epoch = self.statementEpoch
            let outcomes = self.writer.withLock { conn in Self.commitTogether(busy.map(\.run), on: conn, epoch: epoch) }
            // Even with SQLite's busy timeout: the lock was held past it.
            _ = Self.end(busy, outcomes, busy: SQLiteError(code: 5, message: "database is locked"))
            self.afterWriterReleased()
        }
    }

    /// Finishes the writes that committed or failed; returns those that met a lock, or, given
    /// `busy`, finishes them with it too.
    private static func end(_ batch: [CombinedWrite<Connection>], _ outcomes: [CombinedOutcome], busy: (any Error)?) -> [CombinedWrite<Connection>] {
        var waiting: [CombinedWrite<Connection>] = []
        for (write, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .committed: write.finish(nil)
            case .failed(let error): write.finish(error)
            case .busy:
                if let busy { write.finish(busy) } else { waiting.append(write) }
            }
        }
        return waiting
    }

    /// Called by every holder of the writer right after letting it go: commits what waits.
    func afterWriterReleased() {
        if !waiting.withLock({ $0.isEmpty }) { commitWaitingIfFree() }
    }

    /// Up to `combinedBatchLimit` waiting writes, oldest first.
    func takeWaiting() -> [CombinedWrite<Connection>] {
        waiting.withLock { queue in
            guard queue.count > Self.combinedBatchLimit else {
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            let batch = Array(queue.prefix(Self.combinedBatchLimit))
            queue.removeFirst(Self.combinedBatchLimit)
            return batch
        }
    }

    /// Runs `runs` in one transaction on the writer `conn` (its lock held by the caller); when one
    /// of them fails, the transaction is rolled back and each is run alone.
    static func commitTogether(_ runs: [(Connection) throws -> Void], on conn: Connection, epoch: Int) -> [CombinedOutcome] {
        onWriter(conn, epoch: epoch) { conn in outcomes(of: runs, on: conn) }
    }

    private static func outcomes(of runs: [(Connection) throws -> Void], on conn: Connection) -> [CombinedOutcome] {
        if runs.count > 1 {
            do {
                try conn.execute("BEGIN IMMEDIATE")
                for run in runs { try run(conn) }
                try conn.execute("COMMIT")
                return Array(repeating: .committed, count: runs.count)
            } catch let e as SQLiteError where e.isBusy {
                return Array(repeating: .busy, count: runs.count)
            } catch {
                try? conn.execute("ROLLBACK")
            }
        }
        return runs.map { run in
            do {
                try run(conn)
                return .committed
            } catch let e as SQLiteError where e.isBusy {
                return .busy
            } catch {
                return .failed(error)
            }
        }
    }
}
