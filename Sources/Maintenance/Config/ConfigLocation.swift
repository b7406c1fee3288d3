import StewardModel

/// Where a config lives: a JSON file, a SQLite database (`sqlite:///path/to/db`), or a PostgreSQL
/// database in Mattermost's DSN form (`postgres://user:password@host/db?…`).
public enum ConfigLocation: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case database(String)
    case postgres(PostgresDSN)

    public static let databasePrefix = "sqlite://"

    /// Parses a path or DSN; relative paths are taken from `directory`. A PostgreSQL DSN that does
    /// not parse is refused (its message never shows the password).
    public static func parse(_ text: String, relativeTo directory: String) throws(ConfigStoreError) -> ConfigLocation {
        if PostgresDSN.isPostgres(text) {
            do {
                return .postgres(try PostgresDSN(text))
            } catch {
                throw .notAllowed("invalid PostgreSQL data source: \(error)")
            }
        }
        if text.hasPrefix(databasePrefix) {
            return .database(Self.absolute(String(text.dropFirst(databasePrefix.count)), directory))
        }
        return .file(Self.absolute(text, directory))
    }

    public var isFile: Bool {
        if case .file = self { return true }
        return false
    }

    /// The file's or SQLite database's path; for PostgreSQL, the DSN with its password masked.
    public var path: String {
        switch self {
        case .file(let p), .database(let p): return p
        case .postgres(let dsn): return dsn.description
        }
    }

    /// Safe for the journal and for errors: a PostgreSQL password is masked.
    public var description: String {
        switch self {
        case .file(let p): return p
        case .database(let p): return Self.databasePrefix + p
        case .postgres(let dsn): return dsn.description
        }
    }

    private static func absolute(_ p: String, _ directory: String) -> String {
        p.hasPrefix("/") ? p : (directory.hasSuffix("/") ? directory : directory + "/") + p
    }
}
