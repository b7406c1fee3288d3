import FoundationEssentials
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// One side of a migrate: its location, the directory that holds it — opened from `/` with no link
/// followed and held open — and its name in that directory. Checks and writes both go through the
/// directory's descriptor, so a directory renamed or replaced by a link between them changes nothing.
struct MigrateEndpoint {
    let location: ConfigLocation
    let directory: OpenDirectory
    let name: String

    static func open(_ location: ConfigLocation) throws(ConfigStoreError) -> MigrateEndpoint {
        let path = location.path
        guard let parent = PathName.directory(of: path) else { throw .notAllowed("\(path) is not an absolute path") }
        let name = PathName.lastComponent(of: path)
        guard !name.isEmpty, name != ".", name != ".." else { throw .notAllowed("\(path) does not name a file") }
        do {
            return MigrateEndpoint(location: location, directory: try OpenDirectory.open(parent), name: name)
        } catch .missing {
            throw .notAllowed("the directory of \(path) does not exist")
        } catch {
            throw .notAllowed("\(path): \(error) (no component of a migrate's paths may be a symbolic link)")
        }
    }

    /// The path the store is opened by: through the held directory for files (the kernel resolves
    /// `/proc/self/fd/N` to that directory). SQLite resolves links in the names it is given itself,
    /// so a database is opened by its walked path, with SQLITE_OPEN_NOFOLLOW, and the directory is
    /// checked again just before the write (`stillInPlace`).
    var storePath: String {
        switch location {
        case .file: return directory.pinnedPath(name)
        case .database, .postgres: return location.path
        }
    }

    var store: any ConfigStore {
        switch location {
        case .file: return FileConfigStore(path: storePath)
        case .database: return DatabaseConfigStore(path: storePath, noFollow: true)
        case .postgres(let dsn): return DatabaseConfigStore(dsn: dsn)
        }
    }

    /// Whether the walked path still leads to the held directory (for the database case).
    var stillInPlace: Bool {
        guard let again = try? OpenDirectory.open(directory.path) else { return false }
        return again.identity == directory.identity
    }

    /// The file's status, not following a link; nil when it does not exist.
    var status: stat? { directory.status(of: name) }

    /// Errors name the path the operator gave, not the descriptor path.
    func presenting(_ error: ConfigStoreError) -> ConfigStoreError {
        let pinned = directory.pinnedPath("")
        func fix(_ s: String) -> String { s.replacing(pinned, with: directory.path == "/" ? "/" : directory.path + "/") }
        switch error {
        case .missing(let s): return .missing(fix(s))
        case .invalidJSON(let s): return .invalidJSON(fix(s))
        case .unreadable(let s): return .unreadable(fix(s))
        case .unwritable(let s): return .unwritable(fix(s))
        case .notAllowed(let s): return .notAllowed(fix(s))
        case .sameStore(let s): return .sameStore(fix(s))
        case .verifyFailed(let s): return .verifyFailed(fix(s))
        case .invalidSetting: return error
        }
    }
}

/// What a migrate never writes over, whatever the paths it is given: the store the daemon runs on
/// (and its `-wal`, `-shm`, `-journal`) as a file, any SQLite database as a file, anything under the
/// jobs directory (backups, reports, exports), and an existing file that is not a config of the
/// destination's kind.
public struct MigrateProtection: Sendable {
    /// The live store's path (`SqlSettings.DataSource`).
    public var store: String
    /// Directories nothing may be written under (the jobs directory).
    public var directories: [String]

    public init(store: String, directories: [String]) {
        self.store = store
        self.directories = directories
    }

    static let sqliteHeader = Array("SQLite format 3\0".utf8)
    /// Top-level keys of a config document (Steward's sections; a Mattermost config has the first two).
    static let configSections: Set<String> = [
        "ServiceSettings", "SqlSettings", "LogSettings", "LocalAuthorizationSettings", "IntegritySettings", "JobSettings",
        "DataRetentionSettings",
    ]

    /// Refuses a destination (a config, or a file it references) that must not be written.
    func check(_ target: MigrateEndpoint, name: String, referenced: Bool) throws(ConfigStoreError) {
        let shown = (target.directory.path == "/" ? "" : target.directory.path) + "/" + name
        for dir in directories {
            if let id = FileIdentity(followingLinksAt: dir), target.directory.lineage.contains(id) {
                throw .notAllowed("\(shown) is inside \(dir), where jobs keep their files")
            }
        }
        let storeDirectory = PathName.directory(of: store) ?? "."
        let storeName = PathName.lastComponent(of: store)
        let isFile = referenced || target.location.isFile
        if isFile, FileIdentity(followingLinksAt: storeDirectory) == target.directory.identity,
           name == storeName || ["-wal", "-shm", "-journal"].contains(where: { name == storeName + $0 }) {
            throw .notAllowed("\(shown) is the store the daemon runs on; a database destination is written as sqlite://PATH")
        }
        guard let st = target.directory.status(of: name) else { return }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .notAllowed("\(shown) exists and is not a regular file") }
        if let live = FileIdentity(followingLinksAt: store), live == FileIdentity(st), isFile {
            throw .notAllowed("\(shown) is the store the daemon runs on (another name of it)")
        }
        let head = target.directory.prefix(of: name, count: 4096) ?? []
        let isSQLite = head.starts(with: Self.sqliteHeader)
        if isFile {
            if isSQLite { throw .notAllowed("\(shown) is an SQLite database; a database destination is written as sqlite://PATH") }
            if !referenced && !Self.looksLikeConfig(target) {
                throw .notAllowed("\(shown) exists and is not a config file; remove it first or choose another name")
            }
        } else if !isSQLite {
            throw .notAllowed("\(shown) exists and is not an SQLite database")
        }
    }

    /// A JSON object with at least one settings section at its top level.
    static func looksLikeConfig(_ target: MigrateEndpoint) -> Bool {
        guard let file = target.directory.openRegularFile(target.name), file.size <= 4 << 20 else { return false }
        var bytes = [UInt8](repeating: 0, count: Int(file.size))
        let n = bytes.withUnsafeMutableBytes { pread(file.descriptor, $0.baseAddress, $0.count, 0) }
        guard n == bytes.count, JSONSyntax.isValid(bytes) else { return false }
        guard let keys = try? JSONDecoder().decode(TopLevelKeys.self, from: Data(bytes)) else { return false }
        return keys.names.contains(where: configSections.contains)
    }

    /// The keys of a JSON object, whatever their values.
    private struct TopLevelKeys: Decodable {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        var names: [String]

        init(from decoder: Decoder) throws {
            names = try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue)
        }
    }
}
