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
        case .postgres(let dsn): return PostgresConfigStore(dsn: dsn)
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

/// Mattermost's database config store on SQLite: `Configurations` (Id, Value, CreateAt, Active, SHA)
/// with exactly one Active row, and `ConfigurationFiles` (Name, Data, CreateAt, UpdateAt).
public struct DatabaseConfigStore: ConfigStore {
    public let path: String
    public var location: ConfigLocation { .database(path) }
    /// Inactive rows kept besides the active one.
    public static let keepInactive = 5

    /// Refuse a path with a symbolic link in it (a migrate's destination).
    public let noFollow: Bool

    public init(path: String, noFollow: Bool = false) {
        self.path = path
        self.noFollow = noFollow
    }

    public static let schema = """
        CREATE TABLE IF NOT EXISTS Configurations (
            Id TEXT PRIMARY KEY NOT NULL,
            Value TEXT NOT NULL,
            CreateAt INTEGER NOT NULL,
            Active INTEGER UNIQUE CHECK (Active IS NULL OR Active = 1),
            SHA TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE IF NOT EXISTS ConfigurationFiles (
            Name TEXT PRIMARY KEY NOT NULL CHECK (length(Name) <= 64),
            Data TEXT NOT NULL,
            CreateAt INTEGER NOT NULL,
            UpdateAt INTEGER NOT NULL
        );
        """

    public func read() throws(ConfigStoreError) -> ConfigSnapshot {
        let conn: Connection
        do {
            conn = try Connection(path: path, readOnly: true, busyTimeoutMilliseconds: 5000, noFollow: noFollow)
        } catch {
            throw .missing(location.description)
        }
        do {
            let tables = Set(try conn.tableNames())
            guard tables.contains("Configurations") else { throw ConfigStoreError.missing(location.description) }
            let s = try conn.cached("SELECT Value FROM Configurations WHERE Active = 1")
            guard try s.step(), let value = s.string(0) else { throw ConfigStoreError.missing(location.description) }
            s.reset()
            let config = try ConfigCodec.decode(Array(value.utf8))
            var files: [String: [UInt8]] = [:]
            for name in ConfigSnapshot.referencedFiles(of: config) {
                let f = try conn.cached("SELECT Data FROM ConfigurationFiles WHERE Name = ?")
                f.bind(1, name)
                guard tables.contains("ConfigurationFiles"), try f.step(), let data = f.string(0) else {
                    throw ConfigStoreError.missing("\(location.description) file \(name)")
                }
                f.reset()
                files[name] = Array(data.utf8)
            }
            return ConfigSnapshot(config: config, files: files)
        } catch let e as ConfigStoreError {
            throw e
        } catch {
            throw .unreadable("\(location.description): \(error)")
        }
    }

    /// One transaction: the files, then a new Active row unless the SHA is unchanged, then pruning.
    public func write(_ snapshot: ConfigSnapshot) throws(ConfigStoreError) {
        let value = ConfigCodec.encode(snapshot.config)
        let sha = SHA256.hex(value)
        do {
            let conn = try Connection(path: path, readOnly: false, busyTimeoutMilliseconds: 5000, noFollow: noFollow)
            try conn.execute(Self.schema)
            let now = WallClock.system.nowMilliseconds()
            try conn.transaction {
                for (name, data) in snapshot.files.sorted(by: { $0.key < $1.key }) {
                    let up = try conn.cached(
                        "INSERT INTO ConfigurationFiles (Name, Data, CreateAt, UpdateAt) VALUES (?, ?, ?, ?) ON CONFLICT(Name) DO UPDATE SET Data = excluded.Data, UpdateAt = excluded.UpdateAt")
                    up.bind(1, name).bind(2, String(decoding: data, as: UTF8.self)).bind(3, now).bind(4, now)
                    try up.run()
                }
                let active = try conn.cached("SELECT SHA FROM Configurations WHERE Active = 1")
                let current = try active.step() ? active.string(0) : nil
                active.reset()
                guard current != sha else { return }
                try conn.cached("UPDATE Configurations SET Active = NULL WHERE Active = 1").run()
                let insert = try conn.cached("INSERT INTO Configurations (Id, Value, CreateAt, Active, SHA) VALUES (?, ?, ?, 1, ?)")
                insert.bind(1, NewID.make()).bind(2, String(decoding: value, as: UTF8.self)).bind(3, now).bind(4, sha)
                try insert.run()
                let prune = try conn.cached(
                    "DELETE FROM Configurations WHERE Active IS NULL AND Id NOT IN (SELECT Id FROM Configurations WHERE Active IS NULL ORDER BY CreateAt DESC, rowid DESC LIMIT ?)")
                prune.bind(1, Int64(Self.keepInactive))
                try prune.run()
            }
        } catch {
            throw .unwritable("\(location.description): \(error)")
        }
    }
}

extension DatabaseConfigStore {
    /// The Id of the Active row, nil when there is none (or no table yet).
    func activeRowID() -> String? {
        guard let conn = try? Connection(path: path, readOnly: true, busyTimeoutMilliseconds: 5000, noFollow: noFollow),
              let s = try? conn.cached("SELECT Id FROM Configurations WHERE Active = 1"), (try? s.step()) == true
        else { return nil }
        return s.string(0)
    }

    /// Makes `rowID` the Active row again (nil: no row active), in one transaction.
    func activate(rowID: String?) throws(ConfigStoreError) {
        do {
            let conn = try Connection(path: path, readOnly: false, busyTimeoutMilliseconds: 5000, noFollow: noFollow)
            try conn.transaction {
                try conn.cached("UPDATE Configurations SET Active = NULL WHERE Active = 1").run()
                if let rowID {
                    let s = try conn.cached("UPDATE Configurations SET Active = 1 WHERE Id = ?")
                    s.bind(1, rowID)
                    try s.run()
                }
            }
        } catch {
            throw .unwritable("\(location.description): \(error)")
        }
    }
}
