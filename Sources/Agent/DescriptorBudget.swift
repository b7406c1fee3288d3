import CStewardShims
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// The file descriptors the configured caps can use at once, checked against `RLIMIT_NOFILE` at
/// startup: a daemon whose caps do not fit would fail accept (and then the store, a backup, a
/// download) under load instead of refusing connections cleanly. The soft limit is raised towards
/// the hard one when it is too low (outside systemd; the unit sets `LimitNOFILE=`).
struct DescriptorBudget: Equatable {
    var connections: Int
    var store: Int
    var jobs: Int
    var fixed: Int

    var total: Int { connections + store + jobs + fixed }

    init(_ config: StewardConfig, cpus: Int) {
        let s = config.serviceSettings
        // Each connection: its socket, the peer's pidfd and, while it streams a download, the file.
        connections = 3 * s.maxConnections
        // Writer and readers, each with the database, its WAL and shared-memory files.
        store = 3 * (config.sqlSettings.maxReaders + 1)
        // A running job: its own store connection (3), a destination file and its journal, a log.
        jobs = 6 * config.jobSettings.maxConcurrentJobs
        // Listeners, each loop's epoll set and eventfd, stdio, the journal, the notify socket,
        // signal handling and whatever libraries open: generous on purpose.
        fixed = s.listeners.count + 2 * cpus + 64
    }

    /// Error text when the limit cannot be made to fit, nil when it fits (possibly after raising it).
    static func ensure(_ budget: DescriptorBudget) -> String? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let needed = rlim_t(budget.total)
        if limit.rlim_cur >= needed { return nil }
        if limit.rlim_max >= needed {
            var raised = limit
            raised.rlim_cur = needed
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return nil }
        }
        return "the descriptor limit (RLIMIT_NOFILE soft \(limit.rlim_cur), hard \(limit.rlim_max)) is below the \(needed) "
            + "the configured caps may use (\(budget.connections) for ServiceSettings.MaxConnections × 3, \(budget.store) for "
            + "the store, \(budget.jobs) for JobSettings.MaxConcurrentJobs, \(budget.fixed) fixed): raise LimitNOFILE= or lower the caps"
    }
}
