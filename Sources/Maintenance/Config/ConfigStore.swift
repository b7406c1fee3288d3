import StewardModel
import Store

/// A config and the files it references (by the names the config uses).
public struct ConfigSnapshot: Sendable, Equatable {
    public var config: StewardConfig
    public var files: [String: [UInt8]]

    public init(config: StewardConfig, files: [String: [UInt8]] = [:]) {
        self.config = config
        self.files = files
    }

    /// The names of the files a config references (Mattermost copies SAML certificates and plugin
    /// keys; Steward's only one is the extra policy rules file).
    public static func referencedFiles(of config: StewardConfig) -> [String] {
        let rules = config.localAuthorizationSettings.rulesFile
        return rules.isEmpty ? [] : [rules]
    }
}

/// A place a config is kept. `read` never modifies the store; `write` replaces what is there
/// atomically or not at all.
public protocol ConfigStore: Sendable {
    var location: ConfigLocation { get }
    func read() throws(ConfigStoreError) -> ConfigSnapshot
    func write(_ snapshot: ConfigSnapshot) throws(ConfigStoreError)
}

public enum ConfigStores {
    public static func open(_ location: ConfigLocation) -> any ConfigStore {
        switch location {
        case .file(let p): return FileConfigStore(path: p)
        case .database(let p): return DatabaseConfigStore(path: p)
        case .postgres(let dsn): return DatabaseConfigStore(dsn: dsn)
        }
    }
}

/// A JSON file (4-space indented, mode 0600); referenced files live beside it (relative names are
/// taken from its directory).
public struct FileConfigStore: ConfigStore {
    public let path: String
    public var location: ConfigLocation { .file(path) }

    public init(path: String) { self.path = path }

    func filePath(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        return (PathName.directory(of: path) ?? ".") + "/" + name
    }

    public func read() throws(ConfigStoreError) -> ConfigSnapshot {
        guard let bytes = try AtomicFileGroup.read(path, primary: path) else { throw .missing(path) }
        let config = try ConfigCodec.decode(bytes)
        var files: [String: [UInt8]] = [:]
        for name in ConfigSnapshot.referencedFiles(of: config) {
            guard let data = try AtomicFileGroup.read(filePath(name), primary: path) else { throw .missing(filePath(name)) }
            files[name] = data
        }
        return ConfigSnapshot(config: config, files: files)
    }

    /// The config and its referenced files as one change (`AtomicFileGroup`): a reader sees the old
    /// set or the new one, never a new rules file under an old config — also after a crash midway.
    public func write(_ snapshot: ConfigSnapshot) throws(ConfigStoreError) {
        var files = snapshot.files.sorted(by: { $0.key < $1.key }).map { (path: filePath($0.key), bytes: $0.value) }
        files.append((path: path, bytes: ConfigCodec.encode(snapshot.config)))
        try AtomicFileGroup.write(files, primary: path)
    }
}
