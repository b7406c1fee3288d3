#if canImport(Glibc)
import Glibc
#endif

/// Where a config lives: a JSON file, or a SQLite database (`sqlite:///path/to/db`).
public enum ConfigLocation: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case database(String)

    public static let databasePrefix = "sqlite://"

    /// Parses a path or DSN; relative paths are taken from `directory`.
    public static func parse(_ text: String, relativeTo directory: String) -> ConfigLocation {
        if text.hasPrefix(databasePrefix) {
            return .database(Self.absolute(String(text.dropFirst(databasePrefix.count)), directory))
        }
        return .file(Self.absolute(text, directory))
    }

    public var path: String {
        switch self {
        case .file(let p), .database(let p): return p
        }
    }

    public var description: String {
        switch self {
        case .file(let p): return p
        case .database(let p): return Self.databasePrefix + p
        }
    }

    private static func absolute(_ p: String, _ directory: String) -> String {
        p.hasPrefix("/") ? p : (directory.hasSuffix("/") ? directory : directory + "/") + p
    }

    /// The directory that holds the file, resolved through symlinks, plus the file name; nil when
    /// the directory does not exist.
    public var resolvedPath: String? {
        guard let dir = PathName.directory(of: path), let real = realpath(dir, nil) else { return nil }
        defer { free(real) }
        let base = PathName.lastComponent(of: path)
        let d = String(cString: real)
        return (d == "/" ? "" : d) + "/" + base
    }

    /// The same store as `other` (same kind, same file after resolving the directory).
    public func isSameStore(as other: ConfigLocation) -> Bool {
        switch (self, other) {
        case (.file, .file), (.database, .database):
            return (resolvedPath ?? path) == (other.resolvedPath ?? other.path)
        default:
            return false
        }
    }
}
