import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// `POST /config/migrate`: copies a config (and the files it references) from one store to another.
///
/// The source is only read. Both paths are walked from `/` with no link followed on any component
/// and must lie in an allowed directory; the destination must not be anything `MigrateProtection`
/// guards (the live store, an SQLite file written as a file, the jobs directory, an existing file
/// that is not a config) — a refusal touches nothing. The destination is written atomically (a file
/// by rename through the held directory, the database in one transaction), read back and compared;
/// when that comparison fails the old destination is put back.
public struct ConfigMigrator: Sendable {
    /// Relative paths are taken from here (the daemon's config directory).
    public var configDirectory: String
    /// Directories source and destination must be in.
    public var allowedDirectories: [String]
    public var protection: MigrateProtection

    public init(configDirectory: String, allowedDirectories: [String], protection: MigrateProtection) {
        self.configDirectory = configDirectory
        self.allowedDirectories = allowedDirectories
        self.protection = protection
    }

    public func migrate(from: String, to: String) throws(ConfigStoreError) {
        let source = try open(ConfigLocation.parse(from, relativeTo: configDirectory))
        let destination = try open(ConfigLocation.parse(to, relativeTo: configDirectory))
        switch (source, destination) {
        case (.local(let s), .local(let d)):
            if s.directory.identity == d.directory.identity && s.name == d.name { throw .sameStore(d.location.description) }
        case (.postgres(let s), .postgres(let d)):
            if case .postgres(let a) = s.database, case .postgres(let b) = d.database, a.namesSameDatabase(as: b) {
                throw .sameStore(d.location.description)
            }
        default:
            break
        }
        if case .local(let s) = source, let st = s.status, (st.st_mode & S_IFMT) == S_IFLNK {
            throw .notAllowed("\(s.location.path) is a symbolic link")
        }
        if case .local(let d) = destination { try protection.check(d, name: d.name, referenced: false) }
        do {
            try copy(source, destination)
        } catch {
            throw destination.presenting(source.presenting(error))
        }
    }

    /// One side of a migrate: a file or SQLite database reached through its held directory, or a
    /// PostgreSQL database (no path to check; the server's own permissions apply).
    private enum Side {
        case local(MigrateEndpoint)
        case postgres(DatabaseConfigStore)

        var store: any ConfigStore {
            switch self {
            case .local(let e): return e.store
            case .postgres(let s): return s
            }
        }

        var isFile: Bool {
            if case .local(let e) = self { return e.location.isFile }
            return false
        }

        func presenting(_ error: ConfigStoreError) -> ConfigStoreError {
            if case .local(let e) = self { return e.presenting(error) }
            return error
        }
    }

    private func open(_ location: ConfigLocation) throws(ConfigStoreError) -> Side {
        if case .postgres(let dsn) = location { return .postgres(DatabaseConfigStore(dsn: dsn)) }
        let endpoint = try MigrateEndpoint.open(location)
        try checkAllowed(endpoint)
        return .local(endpoint)
    }

    private func copy(_ source: Side, _ destination: Side) throws(ConfigStoreError) {
        let snapshot = try source.store.read()
        for name in snapshot.files.keys.sorted() {
            // Referenced files are written beside the config: a name, never a path.
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw .notAllowed("the config references \(name); a migrate copies only files named without a directory")
            }
            if case .local(let d) = destination, d.location.isFile { try protection.check(d, name: name, referenced: true) }
        }
        let target = destination.store
        let before = try backup(destination)
        // A file goes through the held descriptor; SQLite opens the database by its path again.
        if case .local(let d) = destination, !d.location.isFile, !d.stillInPlace {
            throw .notAllowed("\(d.location.path) moved during the migrate")
        }
        try target.write(snapshot)
        let written: ConfigSnapshot
        do {
            written = try target.read()
        } catch {
            try restore(before, destination)
            throw .verifyFailed("\(error)")
        }
        guard written == snapshot else {
            try restore(before, destination)
            throw .verifyFailed("the configuration read back differs from the source")
        }
    }

    func checkAllowed(_ endpoint: MigrateEndpoint) throws(ConfigStoreError) {
        let roots = allowedDirectories.compactMap(FileIdentity.init(followingLinksAt:))
        guard roots.contains(where: endpoint.directory.lineage.contains) else {
            throw .notAllowed("\(endpoint.location.path) is outside the directories config migrate may use (\(allowedDirectories.joined(separator: ", ")))")
        }
    }

    private enum Backup {
        case none
        /// The config file's bytes (nil: there was none) and those of the files it referenced.
        case file([UInt8]?, referenced: [(path: String, bytes: [UInt8])])
        case database(activeID: String?)
        case postgres(activeID: String?)
    }

    private func backup(_ side: Side) throws(ConfigStoreError) -> Backup {
        guard case .local(let endpoint) = side else {
            guard case .postgres(let store) = side else { return .none }
            // Also proves the destination reachable and readable before anything is written.
            return .postgres(activeID: try store.activeRowID())
        }
        let p = endpoint.storePath
        switch endpoint.location {
        case .file:
            var st = stat()
            if stat(p, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG { throw .unwritable("\(p): not a regular file") }
            guard let bytes = try AtomicFileGroup.read(p, primary: p) else { return .file(nil, referenced: []) }
            // A destination that is not a valid config has no referenced files to keep.
            let names = (try? ConfigCodec.decode(bytes)).map(ConfigSnapshot.referencedFiles(of:)) ?? []
            var referenced: [(path: String, bytes: [UInt8])] = []
            for name in names where !name.contains("/") {
                let path = FileConfigStore(path: p).filePath(name)
                if let data = try AtomicFileGroup.read(path, primary: p) { referenced.append((path, data)) }
            }
            return .file(bytes, referenced: referenced)
        case .database: return .database(activeID: try DatabaseConfigStore(path: p, noFollow: true).activeRowID())
        case .postgres: return .none
        }
    }

    private func restore(_ backup: Backup, _ side: Side) throws(ConfigStoreError) {
        switch (backup, side) {
        case (.postgres(let id), .postgres(let store)):
            try store.activate(rowID: id)
        case (_, .local(let endpoint)):
            let p = endpoint.storePath
            switch (backup, endpoint.location) {
            case (.file(let bytes?, let referenced), .file): try AtomicFileGroup.write(referenced + [(p, bytes)], primary: p)
            case (.file(nil, _), .file): unlink(p)
            case (.database(let id), .database): try DatabaseConfigStore(path: p, noFollow: true).activate(rowID: id)
            default: break
            }
        default:
            break
        }
    }
}
