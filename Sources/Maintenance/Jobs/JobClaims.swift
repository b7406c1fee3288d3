import StewardModel
import Store

/// Claiming jobs and recovering them across nodes: which node runs a job (`StewardJobClaims`), and
/// what happens to the jobs of a node that stopped.
extension JobStore {
    /// A claim's row: inserted, or taken over (counted) when the job was claimed before.
    static let claimRecorded = """
        ON CONFLICT (JobId) DO UPDATE SET NodeName = excluded.NodeName, ClaimedAt = excluded.ClaimedAt,
            Claims = StewardJobClaims.Claims + 1
        """

    /// Claims the oldest pending job of `types` not in `running` for this node: `in_progress`,
    /// StartAt set, its claim recorded. `running`: jobs whose worker still runs (one put back to
    /// `pending` by force is claimed again only once its first run has ended). On PostgreSQL one
    /// statement (the pattern of the PostgreSQL job queues: `FOR UPDATE SKIP LOCKED` picks a row no
    /// other node is claiming, `UPDATE … RETURNING` moves it, the claim is inserted in the same
    /// statement), so nodes claiming at once take different
    /// jobs instead of racing for one. On SQLite (one node, one writer) a read and a conditional
    /// update in the writer's transaction.
    public func claimNext(types: Set<String>, excluding running: Set<String> = []) async throws -> Job? {
        guard !types.isEmpty else { return nil }
        let now = clock.nowMilliseconds()
        let typeMarks = Array(repeating: "?", count: types.count).joined(separator: ",")
        let typeValues = types.sorted().map { SQLValue.text($0) }
        return try await db.writeSQL { [nodeName] conn in
            if conn.dialect == .postgres {
                let skip = running.isEmpty ? "" : " AND Id NOT IN (" + Array(repeating: "?", count: running.count).joined(separator: ",") + ")"
                return try conn.first("""
                    WITH next AS (
                        SELECT Id FROM Jobs WHERE Status = 'pending' AND Type IN (\(typeMarks))\(skip)
                        ORDER BY CreateAt, Id LIMIT 1 FOR UPDATE SKIP LOCKED
                    ), claimed AS (
                        UPDATE Jobs SET Status = 'in_progress', Progress = 0, StartAt = ?, LastActivityAt = ?
                        WHERE Id IN (SELECT Id FROM next) AND Status = 'pending'
                        RETURNING \(Self.columns)
                    ), noted AS (
                        INSERT INTO StewardJobClaims (JobId, NodeName, ClaimedAt) SELECT Id, ?, ? FROM claimed
                        \(Self.claimRecorded)
                    )
                    SELECT \(Self.columns) FROM claimed
                    """, typeValues + running.sorted().map { .text($0) } + [.int(now), .int(now), .text(nodeName), .int(now)], Self.job)
            }
            let candidates = try conn.all("SELECT Id FROM Jobs WHERE Status = 'pending' AND Type IN (\(typeMarks)) ORDER BY CreateAt, Id LIMIT ?",
                                          typeValues + [.int(Int64(running.count + 1))]) { $0.string(0) }
            guard let id = candidates.compactMap({ $0 }).first(where: { !running.contains($0) }) else { return nil }
            guard try Self.transition(conn, id, from: .pending, to: .inProgress, progress: 0, data: nil, starting: true, now: now) else { return nil }
            try conn.run("""
                INSERT INTO StewardJobClaims (JobId, NodeName, ClaimedAt) VALUES (?, ?, ?) \(Self.claimRecorded)
                """, [.text(id), .text(nodeName), .int(now)])
            return try Self.get(conn, id)
        }
    }

    /// At start: the jobs this node left running when it died, and any no live node claims
    /// (claimed by a node whose lease has run out, or by none), end in `error` saying why
    /// (`canceled` when a cancel had been asked for). A live node's running jobs are left alone.
    public func recoverInterrupted() async throws -> [Job] {
        let live = clock.nowMilliseconds() - ClusterNodes.leaseMilliseconds
        return try await recover(
            """
            SELECT \(Self.columns), '' FROM Jobs WHERE Status IN ('in_progress', 'cancel_requested') AND Id NOT IN (
                SELECT C.JobId FROM StewardJobClaims C JOIN StewardNodes N ON N.Name = C.NodeName
                WHERE C.NodeName <> ? AND N.LastHeartbeatAt >= ?)
            """, [.text(nodeName), .int(live)]) { _ in "the daemon stopped while the job was running (interrupted)" }
    }

    /// While running: the jobs other nodes claimed and still hold as running although their lease
    /// has run out (or they left the table) end in `error`, the message naming the node.
    public func recoverFromDeadNodes() async throws -> [Job] {
        let live = clock.nowMilliseconds() - ClusterNodes.leaseMilliseconds
        return try await recover(
            """
            SELECT \(Self.columns), C.NodeName FROM Jobs JOIN StewardJobClaims C ON C.JobId = Jobs.Id
            LEFT JOIN StewardNodes N ON N.Name = C.NodeName
            WHERE Jobs.Status IN ('in_progress', 'cancel_requested') AND C.NodeName <> ? AND (N.Name IS NULL OR N.LastHeartbeatAt < ?)
            """, [.text(nodeName), .int(live)]) { node in "node \(node) stopped heartbeating while the job was running" }
    }

    /// The jobs this node claimed more than a lease ago, still running in the store, whose worker
    /// never started here (not in `running`): the claim committed but its answer was lost with the
    /// connection (PostgreSQL restarting). No worker ran them, so they go back to `pending` —
    /// `canceled` if a cancel was asked for meanwhile — and are claimed again, once.
    public func releaseUntracked(running: Set<String>) async throws -> [Job] {
        let now = clock.nowMilliseconds()
        return try await db.writeSQL { [nodeName] conn in
            let stuck = try conn.all("""
                SELECT \(Self.columns) FROM Jobs JOIN StewardJobClaims C ON C.JobId = Jobs.Id
                WHERE Jobs.Status IN ('in_progress', 'cancel_requested') AND C.NodeName = ? AND C.ClaimedAt < ?
                """, [.text(nodeName), .int(now - ClusterNodes.leaseMilliseconds)], Self.job)
            return try stuck.filter { !running.contains($0.id) }.compactMap { original in
                var job = original
                let next: JobStatus = job.status == .cancelRequested ? .canceled : .pending
                guard try Self.transition(conn, job.id, from: job.status, to: next, progress: 0, data: nil, starting: false, now: now) else { return nil }
                job.status = next
                return job
            }
        }
    }

    /// Ends the jobs `sql` selects (the job's columns, then the node that held it) as interrupted.
    private func recover(_ sql: String, _ parameters: [SQLValue], reason: @escaping @Sendable (String) -> String) async throws -> [Job] {
        let now = clock.nowMilliseconds()
        return try await db.writeSQL { conn in
            let stuck = try conn.all(sql, parameters) { r in (Self.job(r), r.string(9) ?? "") }
            return try stuck.compactMap { original, node in
                var job = original
                // Interrupted is an error, unless a cancel had been asked for.
                let next = JobStateMachine.finish(current: job.status, outcome: .error) ?? .error
                if next == .error { job.data["error"] = reason(node) }
                // Conditional: a node that ended it meanwhile wins.
                guard try Self.transition(conn, job.id, from: job.status, to: next, progress: next == .error ? -1 : job.progress,
                                          data: job.data, starting: false, now: now) else { return nil }
                job.status = next
                return job
            }
        }
    }
}
