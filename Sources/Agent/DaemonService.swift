import LocalAPI
import Logging
import Maintenance
import NIOCore
import ServiceLifecycle
import StewardModel
import Store
import UnixSignals

/// The running daemon as a lifecycle service: READY once every listener accepts, SIGHUP reloads,
/// graceful shutdown finishes requests in flight, the watchdog is fed from the serving path.
struct DaemonService: Service {
    let config: StewardConfig
    let loader: ConfigLoader
    let server: LocalAPIServer
    let policy: PolicyProvider
    let busy: ServerBusyService
    let store: DatabasePool
    let settings: RuntimeSettings
    let logLevel: SharedLogLevel
    let group: EventLoopGroup
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let listeners = config.serviceSettings.listeners.map(\.path).joined(separator: ", ")
        SystemdNotifier.ready(status: "Serving on \(listeners)")
        logger.notice(
            "stewardd started",
            metadata: ["message_id": "\(JournalMessageID.started)", "listeners": "\(listeners)",
                       "data_source": "\(config.sqlSettings.dataSource)", "version": "\(StewardVersion.version)"])

        let reloader = Reloader(
            current: config, loader: loader, server: server, policy: policy, settings: settings, logLevel: logLevel, logger: logger)
        await withTaskGroup(of: Void.self) { tasks in
            if let interval = SystemdNotifier.watchdogInterval {
                tasks.addTask { await feedWatchdog(every: interval / 2) }
            }
            tasks.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() {
                    await reloader.reload()
                }
            }
            await tasks.next()
            tasks.cancelAll()
        }

        SystemdNotifier.stopping()
        logger.notice("stewardd stopping", metadata: ["message_id": "\(JournalMessageID.stopping)"])
        await server.shutdown(timeout: .seconds(Int64(config.serviceSettings.shutdownTimeoutSeconds)))
        busy.shutdown()
        do {
            try store.checkpoint()
        } catch {
            logger.warning("could not checkpoint the store at shutdown", metadata: ["error": "\(error)"])
        }
    }

    /// Pings the watchdog only while every event loop and the async executor that runs handlers
    /// answer: a wedged serving path stops the pings and systemd restarts us.
    private func feedWatchdog(every period: Duration) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var healthy = true
            for loop in group.makeIterator() {
                do { try await loop.submit {}.get() } catch { healthy = false }
            }
            if healthy { SystemdNotifier.watchdog() }
            try? await Task.sleep(for: period)
        }
    }
}

/// Applies a re-read config: what can change live is applied, what needs a restart is reported.
actor Reloader {
    private var current: StewardConfig
    let loader: ConfigLoader
    let server: LocalAPIServer
    let policy: PolicyProvider
    let settings: RuntimeSettings
    let logLevel: SharedLogLevel
    let logger: Logger

    init(current: StewardConfig, loader: ConfigLoader, server: LocalAPIServer, policy: PolicyProvider, settings: RuntimeSettings,
         logLevel: SharedLogLevel, logger: Logger) {
        self.settings = settings
        self.current = current
        self.loader = loader
        self.server = server
        self.policy = policy
        self.logLevel = logLevel
        self.logger = logger
    }

    func reload() {
        SystemdNotifier.reloading()
        defer { SystemdNotifier.ready(status: "Serving (configuration reloaded)") }
        let next: StewardConfig
        do {
            _ = loader.purge()
            next = try loader.load()
        } catch {
            logger.error(
                "configuration reload failed; keeping the running configuration",
                metadata: ["message_id": "\(JournalMessageID.reloadFailed)", "error": "\(error)", "config_path": "\(loader.source.path)"])
            return
        }
        policy.update(rules: next.localAuthorizationSettings.rules)
        settings.replace(with: next)
        server.apply(next.serviceSettings)
        if let level = Logger.Level(configName: next.logSettings.level) { logLevel.value = level }
        var needsRestart: [String] = []
        if next.serviceSettings.listeners != current.serviceSettings.listeners { needsRestart.append("ServiceSettings.Listeners") }
        if next.sqlSettings != current.sqlSettings { needsRestart.append("SqlSettings") }
        if next.logSettings.enableJournal != current.logSettings.enableJournal { needsRestart.append("LogSettings.EnableJournal") }
        current = next
        logger.notice(
            "configuration reloaded",
            metadata: ["message_id": "\(JournalMessageID.reloaded)", "needs_restart": "\(needsRestart.joined(separator: ","))"])
    }
}
