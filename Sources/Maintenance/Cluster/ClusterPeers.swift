import Synchronization

/// Whether another node may be listening for this node's events, as of the last heartbeat.
///
/// Only a job creation asks (the one event sent per request): alone on its database a node skips
/// its `NOTIFY`, which costs PostgreSQL a wake-up of every listening backend and this node's
/// listener one of its own per creation — measured, up to a third of the throughput of `POST /jobs`
/// at four connections. True until a heartbeat has looked, so nothing is skipped before anyone knows.
/// A node that starts meanwhile is covered by its own first heartbeats, each of which looks for
/// pending jobs, and by the slow poll every 30 s after.
public final class ClusterPeers: Sendable {
    private let others = Atomic<Bool>(true)

    public init() {}

    /// False only when the last heartbeat found no other node alive.
    public var othersMayListen: Bool { others.load(ordering: .relaxed) }

    func record(otherNodesAlive: Int) { others.store(otherNodesAlive > 0, ordering: .relaxed) }
}
