import FoundationEssentials
import Maintenance
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon's config comes from.
struct ConfigSource: Sendable {
    var location: ConfigLocation
    /// In development mode a missing config file is created with defaults.
    var developmentDataDir: String?

    /// Relative paths in `POST /config/migrate` are taken from here: the config file's directory,
    /// and for a config in PostgreSQL (no directory of its own) the default config's, /etc/steward.
    var directory: String {
        if let developmentDataDir { return developmentDataDir }
        if case .postgres = location { return "/etc/steward" }
        return FilePath.directory(of: location.path)
    }
}

/// A config as the daemon runs it: the store's document with environment overrides applied, plus
/// the policy rules from the rules file.
struct LoadedConfig: Sendable {
    var config: StewardConfig
    var overridden: [String]
    var fileRules: [PolicyRule]

    var policyRules: [PolicyRule] { config.localAuthorizationSettings.rules + fileRules }
}

/// Reads the config from its store (file or database), applies `STEWARD_*` overrides, and keeps the
/// last parsed snapshot — the "parsed config" cache `POST /caches/invalidate` purges.
final class ConfigLoader: PurgeableCache {
    let cacheName = "parsed_config"
    let source: ConfigSource
    private let environment: [String: String]
    private let cache = Locked<(key: String, snapshot: ConfigSnapshot)?>(nil)

    init(source: ConfigSource, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.source = source
        self.environment = environment
    }

    func purge() -> Int {
        cache.withLock { c in
            let had = c == nil ? 0 : 1
            c = nil
            return had
        }
    }

    func load() throws(ConfigStoreError) -> LoadedConfig {
        let snapshot = try readSnapshot()
        let applied = try EnvironmentOverrides.apply(environment, to: snapshot.config)
        var fileRules: [PolicyRule] = []
        let rulesFile = snapshot.config.localAuthorizationSettings.rulesFile
        if !rulesFile.isEmpty, let data = snapshot.files[rulesFile] {
            do {
                fileRules = try JSONDecoder().decode([PolicyRule].self, from: Data(data))
            } catch {
                throw .invalidJSON("rules file \(rulesFile): not a JSON array of rules")
            }
            do {
                try LocalAuthorizationSettings.validate(fileRules, setting: "LocalAuthorizationSettings.RulesFile(\(rulesFile))")
            } catch {
                throw .invalidSetting(error)
            }
        }
        return LoadedConfig(config: applied.config, overridden: applied.overridden, fileRules: fileRules)
    }

    private func readSnapshot() throws(ConfigStoreError) -> ConfigSnapshot {
        let key = fileKey()
        if let key, let hit = cache.withLock({ $0 }), hit.key == key { return hit.snapshot }
        let store = ConfigStores.open(source.location)
        let snapshot: ConfigSnapshot
        do {
            snapshot = try store.read()
        } catch .missing(let what) where what == source.location.description || what == source.location.path {
            snapshot = try defaults(store)
        }
        if let key { cache.withLock { $0 = (key, snapshot) } }
        return snapshot
    }

    /// No config yet: development mode writes the defaults; production runs on them (a database
    /// store's defaults keep their data in that database).
    private func defaults(_ store: any ConfigStore) throws(ConfigStoreError) -> ConfigSnapshot {
        if let dir = source.developmentDataDir {
            let snapshot = ConfigSnapshot(config: .development(dataDir: dir))
            try store.write(snapshot)
            return snapshot
        }
        var config = StewardConfig.production
        if case .database(let path) = source.location { config.sqlSettings.dataSource = path }
        return ConfigSnapshot(config: config)
    }

    /// File identity (device, inode, size, mtime) for the cache; nil for a database store.
    private func fileKey() -> String? {
        guard case .file(let path) = source.location else { return nil }
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }
}

/// Path helpers (FoundationEssentials has no NSString path API).
enum FilePath {
    static func directory(of path: String) -> String { PathName.directory(of: path) ?? "." }

    /// An absolute path: relative ones are taken from the working directory.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}
