import Dispatch
import StewardModel

/// The config routes' domain: the effective config, what the environment overrides, migrate and
/// reload. Reload itself belongs to the daemon (it applies the config to the transport, the policy
/// and the log level), so it is handed in.
public final class ConfigService: Sendable {
    public typealias Reload = @Sendable () async throws -> [String]

    public let settings: RuntimeSettings
    /// Relative paths in a migrate are taken from here.
    public let directory: String
    private let overriddenSettings: Locked<[String]>
    private let reloadAction: Reload
    private let databaseWritten: @Sendable () async -> Void

    /// `databaseWritten` runs after a migrate wrote into a database config store, which may be the
    /// one this node and others read their config from.
    public init(settings: RuntimeSettings, directory: String, overridden: [String], reload: @escaping Reload,
                databaseWritten: @escaping @Sendable () async -> Void = {}) {
        self.settings = settings
        self.directory = directory
        self.overriddenSettings = Locked(overridden)
        self.reloadAction = reload
        self.databaseWritten = databaseWritten
    }

    public var overridden: [String] { overriddenSettings.withLock { $0 } }

    public func setOverridden(_ list: [String]) { overriddenSettings.withLock { $0 = list } }

    /// Re-reads the store and applies it; returns the settings that changed but need a restart.
    /// A store that cannot be read or holds a bad config is a `ConfigError.reloadFailed`.
    public func reload() async throws -> [String] {
        do {
            return try await reloadAction()
        } catch let e as ConfigStoreError {
            throw ConfigError.reloadFailed(e)
        }
    }

    /// The directories a migrate may touch: the config's, the store's, and any configured ones.
    public var allowedDirectories: [String] {
        let config = settings.current
        let dataDir = config.sqlSettings.storeFile.flatMap(PathName.directory(of:)) ?? directory
        return [directory, dataDir] + config.serviceSettings.configMigrateDirectories
    }

    /// Copies a config between stores; any refusal or failure is a `ConfigError.migrateFailed`.
    public func migrate(from: String, to: String) async throws(ConfigError) {
        let config = settings.current
        let protection = MigrateProtection(store: config.sqlSettings.storeFile ?? "", directories: [JobArtifacts.root(for: config)])
        let migrator = ConfigMigrator(configDirectory: directory, allowedDirectories: allowedDirectories, protection: protection)
        // File and database I/O: off the serving threads.
        let result: Result<Void, ConfigStoreError> = await withCheckedContinuation { cont in
            BlockingPool.shared.submit {
                cont.resume(returning: Result { () throws(ConfigStoreError) in try migrator.migrate(from: from, to: to) })
            }
        }
        do {
            try result.get()
        } catch {
            throw .migrateFailed(error)
        }
        if let destination = try? ConfigLocation.parse(to, relativeTo: directory), !destination.isFile { await databaseWritten() }
    }

    /// `{"Section": {"Setting": true}}` for every overridden setting, like Mattermost's
    /// `GET /config/environment`.
    public var environmentJSON: String {
        var sections: [String: [String]] = [:]
        for path in overridden {
            let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            sections[parts[0], default: []].append(parts[1])
        }
        var w = JSONWriter()
        w.object { o in
            for section in sections.keys.sorted() {
                o.object(section) { s in
                    for setting in sections[section]!.sorted() { s.field(setting, true) }
                }
            }
        }
        return w.output
    }
}
