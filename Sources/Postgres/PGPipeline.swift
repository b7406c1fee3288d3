import CLibPQ

/// Several statements in one transaction and one round trip: libpq's pipeline mode (libpq 14 and
/// later). The group commit of job creations sends a batch this way — BEGIN, each INSERT, COMMIT
/// and one sync point, then reads the results — where one statement at a time waited for the
/// server between each (measured in docs/performance.md, "Job routes on PostgreSQL").
///
/// The connection stays in blocking mode: a batch is bounded (the caller's batch limit, a few
/// hundred bytes a statement) far below the socket buffers, so neither side can stall on a full
/// buffer while the other is still sending.
extension PGConnection {
    /// What a transaction sent in one pipeline came to.
    public enum PipelinedOutcome: Sendable {
        /// Every statement ran and the transaction committed.
        case committed
        /// Statement `index` failed (nil: the commit itself failed) and the transaction was rolled
        /// back; nothing of it is written.
        case failed(index: Int?, error: PGError)
    }

    /// This libpq has pipeline mode.
    public var canPipeline: Bool { pq.enterPipelineMode != nil }

    /// Runs `statements` (`$n` placeholders, text parameters) in one transaction sent at once.
    /// Statements prepared on this connection run prepared; nothing new is prepared here. A lost
    /// connection is thrown, and then nothing is known of the commit (as when a COMMIT's answer is
    /// lost).
    public func runInOneTransaction(_ statements: [(sql: String, parameters: [String?])]) throws(PGError) -> PipelinedOutcome {
        guard canPipeline else { throw PGError(kind: .statement, message: "pipeline mode needs libpq 14 or later") }
        guard pq.enterPipelineMode!(handle) == 1 else {
            throw PGError(kind: isConnected ? .statement : .connectionLost, message: dsn.masking(Self.trimmed(pq.errorMessage!(handle))))
        }
        // Sending stops at the first failure; whatever was sent is still read up to the sync point.
        let sentAll = sendText("BEGIN", []) && statements.allSatisfy { sendStatement($0.sql, $0.parameters) } && sendText("COMMIT", [])
        let sendFailure = sentAll ? nil
            : PGError(kind: isConnected ? .statement : .connectionLost, message: dsn.masking(Self.trimmed(pq.errorMessage!(handle))))
        _ = pq.pipelineSync!(handle)
        let first = try readPipelineResults()
        _ = pq.exitPipelineMode!(handle)
        if let sendFailure {
            if sendFailure.kind == .connectionLost { throw sendFailure }
            try? execute("ROLLBACK")
            return .failed(index: nil, error: sendFailure)
        }
        guard let (command, error) = first else { return .committed }
        if error.kind == .connectionLost { throw error }
        // An error inside an explicit transaction leaves it aborted past the sync point.
        try execute("ROLLBACK")
        // Commands: 0 BEGIN, 1...n the statements, n + 1 COMMIT.
        return .failed(index: command >= 1 && command <= statements.count ? command - 1 : nil, error: error)
    }

    private func sendText(_ sql: String, _ parameters: [String?]) -> Bool {
        withCStrings(parameters) { pq.sendQueryParams!(handle, sql, Int32(parameters.count), nil, $0, nil, nil, 0) == 1 }
    }

    private func sendStatement(_ sql: String, _ parameters: [String?]) -> Bool {
        guard let name = prepared[sql] else { return sendText(sql, parameters) }
        return withCStrings(parameters) { pq.sendQueryPrepared!(handle, name, Int32(parameters.count), $0, nil, nil, 0) == 1 }
    }

    /// Reads every result up to the sync point: the first failure (its command's index), or nil.
    /// Each command's results end with a NULL; the sync point's result has none after it.
    private func readPipelineResults() throws(PGError) -> (Int, PGError)? {
        var command = 0
        var first: (Int, PGError)?
        var nullsInARow = 0
        while true {
            guard let result = pq.getResult!(handle) else {
                nullsInARow += 1
                // Two in a row: nothing more will come (the connection is gone).
                guard nullsInARow < 2, isConnected else {
                    throw PGError(kind: .connectionLost, message: dsn.masking(Self.trimmed(pq.errorMessage!(handle))))
                }
                command += 1
                continue
            }
            nullsInARow = 0
            defer { pq.clear!(result) }
            let status = pq.resultStatus!(result)
            if status == PGRES_PIPELINE_SYNC { return first }
            if status == PGRES_PIPELINE_ABORTED { continue }
            do {
                try check(result)
            } catch {
                if first == nil { first = (command, error) }
            }
        }
    }
}
