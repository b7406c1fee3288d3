import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Maintenance
import StewardModel
import Synchronization

/// Where the daemon's config comes from, and how it is read.
struct ConfigSource: Sendable {
    var path: String
    /// In development mode a missing file is created with defaults.
    var developmentDataDir: String?

    enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case malformed(path: String, reason: String)
        case invalid(ConfigValidationError)

        var description: String {
            switch self {
            case .unreadable(let p, let r): return "cannot read config \(p): \(r)"
            case .malformed(let p, let r): return "config \(p) is not valid JSON for Steward: \(r)"
            case .invalid(let e): return "config is invalid: \(e)"
            }
        }
    }
}

/// Reads, parses and validates the config file. Keeps the last parsed document keyed by the file's
/// identity (inode, size, mtime): that is the "parsed config" cache `POST /caches/invalidate` purges.
final class ConfigLoader: PurgeableCache {
    let cacheName = "parsed_config"
    let source: ConfigSource
    private let cache = Mutex<(key: String, config: StewardConfig)?>(nil)

    init(source: ConfigSource) { self.source = source }

    func purge() -> Int {
        cache.withLock { c in
            let had = c == nil ? 0 : 1
            c = nil
            return had
        }
    }

    func load() throws -> StewardConfig {
        let fm = FileManager.default
        if !fm.fileExists(atPath: source.path) {
            if let dir = source.developmentDataDir {
                let config = StewardConfig.development(dataDir: dir)
                try write(config, to: source.path)
                return config
            }
            // Production without a file: the built-in defaults (spec §1).
            return .production
        }
        let key = fileKey(source.path)
        if let key, let hit = cache.withLock({ $0 }), hit.key == key { return hit.config }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: source.path))
        } catch {
            throw ConfigSource.LoadError.unreadable(path: source.path, reason: "\(error)")
        }
        let config: StewardConfig
        do {
            config = try JSONDecoder().decode(StewardConfig.self, from: data)
        } catch let e as DecodingError {
            throw ConfigSource.LoadError.malformed(path: source.path, reason: Self.describe(e))
        }
        do {
            try config.validate()
        } catch {
            throw ConfigSource.LoadError.invalid(error)
        }
        if let key { cache.withLock { $0 = (key, config) } }
        return config
    }

    /// Writes a config as 4-space-indented JSON, mode 0600, atomically (temp file, fsync, rename).
    func write(_ config: StewardConfig, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let twoSpace = String(decoding: try encoder.encode(config), as: UTF8.self)
        let fourSpace = twoSpace.split(separator: "\n" as Character, omittingEmptySubsequences: false).map { (line: Substring) -> String in
            let indent = line.prefix { $0 == " " }.count
            return String(repeating: " ", count: indent * 2) + line.dropFirst(indent)
        }.joined(separator: "\n") + "\n"
        try AtomicFile.write(Array(fourSpace.utf8), to: path, mode: 0o600)
    }

    private func fileKey(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }

    private static func describe(_ e: DecodingError) -> String {
        switch e {
        case .dataCorrupted(let c): return c.debugDescription
        case .keyNotFound(let k, _): return "missing key \(k.stringValue)"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            let path = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return "wrong type at \(path.hasPrefix(".") ? String(path.dropFirst()) : path)"
        @unknown default: return "\(e)"
        }
    }
}

/// Whole-file writes that never leave a partial file: temp file in the same directory, fsync,
/// rename over the target, fsync of the directory.
enum AtomicFile {
    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let dir = FilePath.directory(of: path)
        let tmp = "\(dir)/.\(FilePath.lastComponent(of: path)).tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError(description: "open \(tmp): \(String(cString: strerror(errno)))") }
        var ok = fchmod(fd, mode) == 0
        var offset = 0
        while ok && offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { ok = false } else { offset += n }
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw WriteError(description: "write \(path): \(reason)")
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}

/// Path helpers (FoundationEssentials has no NSString path API).
enum FilePath {
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func lastComponent(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// An absolute path: relative ones are taken from the working directory.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}
