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

    public var isFile: Bool {
        if case .file = self { return true }
        return false
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
}
