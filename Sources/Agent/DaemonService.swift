import LocalAPI
import Logging
import Maintenance
import ServiceLifecycle
import StewardModel
import Store
import UnixSignals

/// The running daemon as a lifecycle service: READY once every listener accepts, SIGHUP reloads,
/// graceful shutdown finishes requests in flight, the watchdog is fed from the serving path.
struct DaemonService: Service {
    let config: StewardConfig
    let server: LocalAPIServer
    let listeners: [ListenerSocket]
    let reloader: Reloader
    let busy: ServerBusyService
    let jobs: JobEngine
    let cluster: ClusterNodes
    let events: ClusterEvents.Listener?
    let store: any SQLStore
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        do {
            try await server.start(self.listeners)
        } catch {
            logger.critical("cannot start accepting", metadata: ["error": "\(error)"])
            throw error
        }
        let listeners = config.serviceSettings.listeners.map(\.path).joined(separator: ", ")
        SystemdNotifier.ready(status: "Serving on \(listeners)")
        logger.notice(
            "stewardd started",
            metadata: ["message_id": "\(JournalMessageID.started)", "listeners": "\(listeners)", "config": "\(reloader.loader.source.location)",
                       "data_source": "\(config.sqlSettings.dataSourceForLog)", "version": "\(StewardVersion.version)"])

        await withTaskGroup(of: Void.self) { tasks in
            if let interval = SystemdNotifier.watchdogInterval {
                tasks.addTask { await feedWatchdog(every: interval / 2) }
            }
            tasks.addTask {
                // Summaries of throttled denial entries, once their interval is over.
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: .seconds(5))
                    server.flushSuppressedAuditEntries()
                }
            }
            tasks.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() {
                    _ = try? await reloader.reload()
                }
            }
            await tasks.next()
            tasks.cancelAll()
        }

        SystemdNotifier.stopping()
        logger.notice("stewardd stopping", metadata: ["message_id": "\(JournalMessageID.stopping)"])
        await server.shutdown(timeout: .seconds(Int64(config.serviceSettings.shutdownTimeoutSeconds)))
        server.flushSuppressedAuditEntries()
        // Running jobs are asked to stop; one that does not in time is recovered at the next start.
        await jobs.shutdown(timeout: .seconds(Int64(config.serviceSettings.shutdownTimeoutSeconds)))
        events?.stop()
        await cluster.stop()
        busy.shutdown()
        do {
            try (store as? DatabasePool)?.checkpoint()
        } catch {
            logger.warning("could not checkpoint the store at shutdown", metadata: ["error": "\(error)"])
        }
    }

    /// Pings the watchdog only while every serving thread answers: a wedged serving path stops the pings
    /// and systemd restarts us.
    private func feedWatchdog(every period: Duration) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await server.loopsAnswer()
            SystemdNotifier.watchdog()
            try? await Task.sleep(for: period)
        }
    }
}

/// Applies a re-read config (SIGHUP or `POST /config/reload`): what can change live is applied, what
/// needs a restart is reported. A config that does not load is refused and the running one kept.
final class Reloader: @unchecked Sendable {
    private let lock = Locked<StewardConfig>(StewardConfig())
    /// The policy rules in force (the config's and its rules file's).
    private let rules = Locked<[PolicyRule]>([])
    let loader: ConfigLoader
    let policy: PolicyProvider
    let settings: RuntimeSettings
    let logLevel: SharedLogLevel
    let logger: Logger
    // Set once during startup, before anything can call `reload`.
    var server: LocalAPIServer?
    var configService: ConfigService?
    var jobs: JobEngine?

    init(current: LoadedConfig, loader: ConfigLoader, policy: PolicyProvider, settings: RuntimeSettings,
         logLevel: SharedLogLevel, logger: Logger) {
        self.loader = loader
        self.policy = policy
        self.settings = settings
        self.logLevel = logLevel
        self.logger = logger
        lock.withLock { $0 = current.config }
        rules.withLock { $0 = current.policyRules }
    }

    /// Returns the changed settings that need a restart; throws (and keeps everything) when the new
    /// config does not load.
    func reload() async throws -> [String] {
        SystemdNotifier.reloading()
        defer { SystemdNotifier.ready(status: "Serving (configuration reloaded)") }
        return apply(try loadLogged())
    }

    /// For a config in a database store that another node (or Mattermost) may have changed: re-read
    /// it and apply it only when it differs from the running one. A config that does not load is
    /// logged and the running one kept, as for a reload.
    @discardableResult
    func reloadIfChanged(reason: String) -> Bool {
        guard let loaded = try? loadLogged() else { return false }
        guard loaded.config != lock.withLock({ $0 }) || loaded.policyRules != rules.withLock({ $0 }) else { return false }
        logger.notice("the configuration in the database store changed", metadata: ["reason": "\(reason)"])
        _ = apply(loaded)
        return true
    }

    private func loadLogged() throws -> LoadedConfig {
        do {
            _ = loader.purge()
            return try loader.load()
        } catch {
            logger.error(
                "configuration reload failed; keeping the running configuration",
                metadata: ["message_id": "\(JournalMessageID.reloadFailed)", "error": "\(error)",
                           "config": "\(loader.source.location)"])
            throw error
        }
    }

    private func apply(_ loaded: LoadedConfig) -> [String] {
        let next = loaded.config
        policy.update(rules: loaded.policyRules)
        rules.withLock { $0 = loaded.policyRules }
        server?.apply(next.serviceSettings)
        settings.replace(with: next)
        jobs?.wake()
        configService?.setOverridden(loaded.overridden)
        if let level = Logger.Level(configName: next.logSettings.level) { logLevel.value = level }
        let current = lock.withLock { c in defer { c = next }; return c }
        var needsRestart: [String] = []
        if next.serviceSettings.listeners != current.serviceSettings.listeners { needsRestart.append("ServiceSettings.Listeners") }
        if next.sqlSettings != current.sqlSettings { needsRestart.append("SqlSettings") }
        if next.logSettings.enableJournal != current.logSettings.enableJournal { needsRestart.append("LogSettings.EnableJournal") }
        logger.notice(
            "configuration reloaded",
            metadata: ["message_id": "\(JournalMessageID.reloaded)", "needs_restart": "\(needsRestart.joined(separator: ","))",
                       "overridden": "\(loaded.overridden.joined(separator: ","))"])
        return needsRestart
    }
}
