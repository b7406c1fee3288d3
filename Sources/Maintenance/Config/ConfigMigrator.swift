import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// `POST /config/migrate`: copies a config (and the files it references) from one store to another.
///
/// The source is only read. The destination is written atomically (a file by rename, the database
/// in one transaction), read back and compared; when that comparison fails the old destination is
/// put back. Paths are confined to allowed directories, so a migrate cannot write (or read) files
/// elsewhere as root.
public struct ConfigMigrator: Sendable {
    /// Relative paths are taken from here (the daemon's config directory).
    public var configDirectory: String
    /// Directories source and destination must be in (resolved through symlinks).
    public var allowedDirectories: [String]

    public init(configDirectory: String, allowedDirectories: [String]) {
        self.configDirectory = configDirectory
        self.allowedDirectories = allowedDirectories
    }

    public func migrate(from: String, to: String) throws(ConfigStoreError) {
        let source = ConfigLocation.parse(from, relativeTo: configDirectory)
        let destination = ConfigLocation.parse(to, relativeTo: configDirectory)
        try checkAllowed(source)
        try checkAllowed(destination)
        if source.isSameStore(as: destination) { throw .sameStore(destination.description) }

        let snapshot = try ConfigStores.open(source).read()
        let target = ConfigStores.open(destination)
        let before = try backup(destination)
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

    func checkAllowed(_ location: ConfigLocation) throws(ConfigStoreError) {
        guard let resolved = location.resolvedPath else {
            throw .notAllowed("the directory of \(location.path) does not exist")
        }
        var st = stat()
        if lstat(location.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
            throw .notAllowed("\(location.path) is a symbolic link")
        }
        let roots = allowedDirectories.compactMap { dir -> String? in
            guard let real = realpath(dir, nil) else { return nil }
            defer { free(real) }
            return String(cString: real)
        }
        guard roots.contains(where: { resolved.hasPrefix($0 == "/" ? "/" : $0 + "/") }) else {
            throw .notAllowed("\(location.path) is outside the directories config migrate may use (\(allowedDirectories.joined(separator: ", ")))")
        }
    }

    private enum Backup {
        case none
        /// The config file's bytes (nil: there was none) and those of the files it referenced.
        case file([UInt8]?, referenced: [(path: String, bytes: [UInt8])])
        case database(activeID: String?)
    }

    private func backup(_ location: ConfigLocation) throws(ConfigStoreError) -> Backup {
        switch location {
        case .file(let p):
            var st = stat()
            if stat(p, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG { throw .unwritable("\(p): not a regular file") }
            guard let bytes = try AtomicFileGroup.read(p, primary: p) else { return .file(nil, referenced: []) }
            // A destination that is not a valid config has no referenced files to keep.
            let names = (try? ConfigCodec.decode(bytes)).map(ConfigSnapshot.referencedFiles(of:)) ?? []
            var referenced: [(path: String, bytes: [UInt8])] = []
            for name in names {
                let path = FileConfigStore(path: p).filePath(name)
                if let data = try AtomicFileGroup.read(path, primary: p) { referenced.append((path, data)) }
            }
            return .file(bytes, referenced: referenced)
        case .database(let p): return .database(activeID: DatabaseConfigStore(path: p).activeRowID())
        }
    }

    private func restore(_ backup: Backup, _ location: ConfigLocation) throws(ConfigStoreError) {
        switch (backup, location) {
        case (.file(let bytes?, let referenced), .file(let p)): try AtomicFileGroup.write(referenced + [(p, bytes)], primary: p)
        case (.file(nil, _), .file(let p)): unlink(p)
        case (.database(let id), .database(let p)): try DatabaseConfigStore(path: p).activate(rowID: id)
        default: break
        }
    }
}
