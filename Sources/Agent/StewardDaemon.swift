import CStewardShims
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Integrity
import Journal
import LocalAPI
import Logging
import Maintenance
import ServiceLifecycle
import StewardModel
import Store

/// Builds the daemon from its config and runs it until SIGTERM/SIGINT.
enum StewardDaemon {
    /// Exit codes (sysexits): 78 config error, 73 cannot create listener or store, 71 cannot start
    /// the serving threads, 1 the service group failed, 0 clean stop.
    static func run(source: ConfigSource) async -> Int32 {
        umask(0o077)
        let loader = ConfigLoader(source: source)
        let loaded: LoadedConfig
        do {
            loaded = try loader.load()
        } catch {
            let line = Array("stewardd: \(error)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            // A database config store that cannot be reached is not a config error: as for the store.
            if case .postgres = source.location, case .unreadable = error { return 73 }
            return 78
        }

        let config = loaded.config
        let level = SharedLogLevel(Logger.Level(configName: config.logSettings.level) ?? .info)
        let useJournal = config.logSettings.enableJournal && JournalField.journaldAvailable
        LoggingSystem.bootstrap { label in
            StewardLogHandler(label: label, sharedLevel: level, sink: useJournal ? .journal : .stderr)
        }
        // Whatever way the daemon ends from here, its last entries reach the journal.
        defer { JournalWriter.shared.flush() }
        let logger = Logger(label: "stewardd")
        if let problem = DescriptorBudget.ensure(DescriptorBudget(config, cpus: Int(steward_cpu_count()))) {
            logger.critical("the connection caps do not fit the descriptor limit", metadata: ["error": "\(problem)"])
            return 78
        }

        let pool: any SQLStore
        do {
            pool = try openStore(config.sqlSettings)
        } catch {
            logger.critical("cannot open the store", metadata: ["data_source": "\(config.sqlSettings.dataSourceForLog)", "error": "\(error)"])
            return 73
        }

        let busy = ServerBusyService(store: pool, logger: logger)
        let database = DatabaseMaintenance(store: pool, logger: logger)
        let caches = CacheRegistry()
        let resolver = IdentityResolver()
        let policy = PolicyProvider(rules: loaded.policyRules, resolver: resolver, logger: logger)
        for cache: any PurgeableCache in [loader, resolver.users, resolver.groups, policy, database.schema, PreparedStatementCache(store: pool)] {
            caches.register(cache)
        }
        let settings = RuntimeSettings(config)
        let reloader = Reloader(current: loaded, loader: loader, policy: policy, settings: settings, logLevel: level, logger: logger)
        let configInDatabase = !source.location.isFile
        let configService = ConfigService(
            settings: settings, directory: source.directory, overridden: loaded.overridden,
            reload: { try await reloader.reload() },
            databaseWritten: {
                // This node first (its config may be the one just written), then the others.
                if configInDatabase { await Self.reloadIfChanged(reloader, reason: "config migrated into the database store") }
                do {
                    try await ClusterEvents.send(.configChanged, via: pool)
                } catch {
                    logger.warning("could not tell the other nodes about the migrated config", metadata: ["error": "\(error)"])
                }
            })
        reloader.configService = configService
        let nodeName = config.clusterSettings.effectiveNodeName
        let cluster = ClusterNodes(db: pool, name: nodeName, logger: logger)
        if !config.sqlSettings.isPostgres && !config.clusterSettings.nodeName.isEmpty {
            logger.notice("the SQLite store serves one node: ClusterSettings.NodeName only names it", metadata: ["node": "\(nodeName)"])
        }
        let engine = JobEngine(
            jobs: JobStore(db: pool, nodeName: nodeName, peers: cluster.peers), busy: busy, settings: settings,
            workers: [DatabaseBackupWorker(), DatabaseOptimizeWorker(), IntegrityCheckWorker(), DataRetentionWorker(), MessageExportWorker(), BulkExportWorker()],
            logger: logger)
        let services = APIServices(
            busy: busy, database: database, caches: caches, integrity: IntegrityChecker(store: pool), config: configService, jobs: engine, cluster: cluster)
        let dispatcher = Dispatcher(policy: policy, services: services, logger: logger)
        let server: LocalAPIServer
        do {
            server = try LocalAPIServer(dispatcher: dispatcher, settings: config.serviceSettings, logger: logger)
        } catch {
            logger.critical("cannot start the serving threads", metadata: ["error": "\(error)"])
            return 71
        }
        reloader.server = server
        reloader.jobs = engine

        let listeners: [ListenerSocket]
        var events: ClusterEvents.Listener?
        do {
            try await busy.resume()
            // Alive in the nodes table before recovering: a starting node leaves live nodes' jobs alone.
            try await cluster.heartbeat()
            try await engine.start()
            // Another node's events: a new job, a busy change, caches to purge (PostgreSQL).
            events = (pool as? PostgresPool).map { pg in
                ClusterEvents.Listener(store: pg, logger: logger) { event in
                    Self.apply(event, engine: engine, busy: busy, caches: caches, logger: logger)
                    if configInDatabase && (event == .configChanged || event == .resync) {
                        Task { await Self.reloadIfChanged(reloader, reason: "cluster event \(event.rawValue)") }
                    }
                }
            }
            // The slow poll behind the events: every 15th heartbeat (30 s) looks for pending jobs
            // and re-reads a config kept in a database (which Mattermost may have changed: it
            // tells its own nodes, not ours). The first three heartbeats look for pending jobs
            // too: a node that was alone did not notify creations until its next heartbeat saw
            // this one (`ClusterPeers`).
            let beats = Locked(0)
            cluster.start {
                await engine.recoverFromDeadNodes()
                await engine.releaseUntrackedClaims()
                let beat = beats.withLock { $0 += 1; return $0 }
                if beat <= 3 { engine.wake() }
                if beat % 15 == 0 {
                    engine.wake()
                    if configInDatabase { await Self.reloadIfChanged(reloader, reason: "periodic check") }
                }
            }
            // Bound and listening now (so a bad listener exits 73); accepting starts in the service,
            // once SIGTERM is trapped: a signal right after the first answer must stop us gracefully.
            listeners = try Listeners.open(config.serviceSettings.listeners, passed: SocketActivation.passedSockets(), logger: logger)
        } catch {
            logger.critical("cannot start listening", metadata: ["error": "\(error)"])
            await server.shutdown(timeout: .seconds(1))
            return 73
        }

        let daemon = DaemonService(
            config: config, server: server, listeners: listeners, reloader: reloader, busy: busy, jobs: engine, cluster: cluster, events: events, store: pool,
            logger: logger)
        let serviceGroup = ServiceGroup(
            services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        do {
            try await serviceGroup.run()
        } catch {
            logger.error("service group ended with an error", metadata: ["error": "\(error)"])
            return 1
        }
        return 0
    }

    /// What a cluster event asks of this node. After a reconnect (`resync`) all of it: events
    /// sent meanwhile were lost.
    static func apply(_ event: ClusterEvent, engine: JobEngine, busy: ServerBusyService, caches: CacheRegistry, logger: Logger) {
        if event == .jobCreated || event == .resync { engine.wake() }
        if event == .jobStatusChanged || event == .resync { Task { await engine.stopJobsChangedElsewhere() } }
        if event == .busyChanged || event == .resync {
            Task {
                do {
                    try await busy.resume()
                } catch {
                    logger.warning("could not re-read the busy state", metadata: ["error": "\(error)"])
                }
                engine.wake()
            }
        }
        if event == .cachesInvalidated || event == .resync {
            let purged = caches.purgeAll()
            logger.info("caches invalidated by a cluster event", metadata: ["event": "\(event.rawValue)", "caches": "\(purged.count)"])
        }
    }

    /// `Reloader.reloadIfChanged` off the serving threads: it reads the database store.
    static func reloadIfChanged(_ reloader: Reloader, reason: String) async {
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            BlockingPool.shared.submit {
                reloader.reloadIfChanged(reason: reason)
                cont.resume()
            }
        }
    }

    /// The store of `SqlSettings`, migrated: SQLite at a path (its directory created 0700), or
    /// PostgreSQL at a DSN.
    static func openStore(_ sql: SqlSettings) throws -> any SQLStore {
        if sql.isPostgres {
            return try PostgresPool(options: .init(dsn: try PostgresDSN(sql.dataSource), maxReaders: sql.maxReaders), migrations: StewardSchema.migrations)
        }
        let dir = FilePath.directory(of: sql.dataSource)
        if !dir.isEmpty {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        return try DatabasePool(
            options: .init(path: sql.dataSource, maxIdleReaders: sql.maxReaders, busyTimeoutMilliseconds: sql.busyTimeoutMilliseconds),
            migrations: StewardSchema.migrations)
    }
}

/// Matches configured listeners with sockets passed by systemd, and creates the rest.
enum Listeners {
    static func open(_ configured: [ListenerSettings], passed: [SocketActivation.PassedSocket], logger: Logger) throws -> [ListenerSocket] {
        var unused = passed
        var result: [ListenerSocket] = []
        for settings in configured {
            if let i = unused.firstIndex(where: { $0.name == settings.name }) {
                result.append(.adopt(fd: unused.remove(at: i).fd, settings: settings))
            } else if configured.count == 1, unused.count == 1 {
                // A single unnamed socket (no FileDescriptorName=) serves the single listener.
                result.append(.adopt(fd: unused.removeFirst().fd, settings: settings))
            } else {
                var groupID: UInt32? = nil
                if !settings.group.isEmpty {
                    guard let gid = IdentityResolver.lookupGID(ofGroup: settings.group) else { throw ListenerError.unknownGroup(settings.group) }
                    groupID = gid
                }
                let dir = FilePath.directory(of: settings.path)
                if !FileManager.default.fileExists(atPath: dir) {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                }
                result.append(try .create(settings, groupID: groupID))
            }
        }
        for extra in unused {
            logger.warning("systemd passed a socket no listener is configured for; closing it", metadata: ["fd_name": "\(extra.name)"])
            close(extra.fd)
        }
        return result
    }
}
