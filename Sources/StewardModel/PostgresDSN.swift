/// A PostgreSQL data source in Mattermost's form (`SqlSettings.DataSource`, a migrate's `from` or
/// `to`): `postgres://user:password@host:port/db?sslmode=…&connect_timeout=…`, or a Unix socket
/// directory as `postgres://user@/db?host=/run/postgresql`.
///
/// Parsed here into libpq's connection keywords, so that what Mattermost's Go driver (lib/pq)
/// accepts works the same: its own options that libpq does not know (`binary_parameters`) are
/// dropped, and any other unknown parameter is a server run-time parameter, as in lib/pq
/// (`?search_path=x` becomes `options=-c search_path=x`).
///
/// The password is kept only for connecting: `description` masks it, and so does every error this
/// type throws.
public struct PostgresDSN: Sendable, Equatable, CustomStringConvertible {
    /// libpq keyword/value pairs, in the order given (host, port, dbname and user first).
    public private(set) var keywords: [Keyword]
    /// What the operator wrote, with the password masked.
    public let description: String

    public struct Keyword: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public struct Invalid: Error, Sendable, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The URL schemes that name a PostgreSQL store (Mattermost accepts both).
    public static let schemes = ["postgres://", "postgresql://"]

    public static func isPostgres(_ text: String) -> Bool {
        schemes.contains { text.lowercased().hasPrefix($0) }
    }

    /// libpq connection keywords a DSN may set as query parameters.
    static let libpqKeywords: Set<String> = [
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "channel_binding", "connect_timeout",
        "client_encoding", "options", "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslmode", "sslcert", "sslkey", "sslpassword",
        "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer", "ssl_min_protocol_version",
        "ssl_max_protocol_version", "gssencmode", "krbsrvname", "target_session_attrs", "service",
    ]
    /// lib/pq's own options, meaningless to libpq (Mattermost's default DSN has `binary_parameters`).
    static let libpqIgnored: Set<String> = ["binary_parameters", "disable_prepared_binary_result", "sslinline"]
    static let sslModes: Set<String> = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
    static let secretKeywords: Set<String> = ["password", "sslpassword"]

    public init(_ text: String) throws(Invalid) {
        guard let scheme = Self.schemes.first(where: { text.lowercased().hasPrefix($0) }) else {
            throw Invalid(description: "a PostgreSQL data source starts with postgres:// or postgresql://")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var keywords: [Keyword] = []
        var password: String?
        var shown = String(text.prefix(scheme.count))
        // user[:password]@ — the last @, since a password may contain one unencoded.
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let (user, pass) = userinfo.firstIndex(of: ":").map { (userinfo[..<$0], Optional(userinfo[userinfo.index(after: $0)...])) } ?? (userinfo, nil)
            let decodedUser = try Self.decode(user, "the user name")
            if !decodedUser.isEmpty { keywords.append(Keyword(name: "user", value: decodedUser)) }
            shown += String(user)
            if let pass {
                password = try Self.decode(pass, "the password")
                shown += ":****"
            }
            shown += "@"
        }
        // host[:port], or [v6]:port; empty: libpq's default socket directory, or ?host=.
        var host = rest, port: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw Invalid(description: "an IPv6 host has no closing ]") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Invalid(description: "unexpected text after the IPv6 host") }
                port = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = rest[rest.index(after: colon)...]
        }
        if !host.isEmpty { keywords.append(Keyword(name: "host", value: try Self.decode(host, "the host"))) }
        if let port {
            guard let n = Int(port), (1...65535).contains(n) else { throw Invalid(description: "the port must be a number from 1 to 65535") }
            keywords.append(Keyword(name: "port", value: String(n)))
        }
        shown += String(rest)
        if let path {
            let database = try Self.decode(path, "the database name")
            if !database.isEmpty { keywords.append(Keyword(name: "dbname", value: database)) }
            shown += "/" + path
        }

        var runtime: [String] = []
        var shownQuery: [String] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let (k, v) = pair.firstIndex(of: "=").map { (pair[..<$0], pair[pair.index(after: $0)...]) } ?? (pair, "")
            let name = try Self.decode(k, "a parameter name")
            let value = try Self.decode(v, "the value of \(name)")
            shownQuery.append(Self.secretKeywords.contains(name) ? "\(k)=****" : String(pair))
            if Self.libpqIgnored.contains(name) { continue }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw Invalid(description: "'\(name)' is not a parameter name")
            }
            if name == "sslmode", !Self.sslModes.contains(value) {
                throw Invalid(description: "sslmode must be one of \(Self.sslModes.sorted().joined(separator: ", ")), not '\(value)'")
            }
            if name == "connect_timeout" || name == "port", Int(value) == nil {
                throw Invalid(description: "\(name) must be a number, not '\(value)'")
            }
            if name == "password" { password = value; continue }
            if Self.libpqKeywords.contains(name) {
                keywords.removeAll { $0.name == name }
                keywords.append(Keyword(name: name, value: value))
            } else {
                // A server run-time parameter, as lib/pq sends it: libpq takes these in `options`.
                runtime.append("-c \(name)=\(Self.escapeOption(value))")
            }
        }
        if !shownQuery.isEmpty { shown += "?" + shownQuery.joined(separator: "&") }
        if !runtime.isEmpty {
            let given = keywords.first { $0.name == "options" }?.value
            keywords.removeAll { $0.name == "options" }
            keywords.append(Keyword(name: "options", value: ([given].compactMap { $0 } + runtime).joined(separator: " ")))
        }
        if let password { keywords.append(Keyword(name: "password", value: password)) }
        self.keywords = keywords
        self.description = shown
    }

    /// `text` safe to log: a PostgreSQL DSN with its password masked — also one that does not parse
    /// (everything between the user name and the last `@` before the path, and any `password=`
    /// value); any other text unchanged.
    public static func redacted(_ text: String) -> String {
        guard isPostgres(text) else { return text }
        if let dsn = try? PostgresDSN(text) { return dsn.description }
        guard let scheme = schemes.first(where: { text.lowercased().hasPrefix($0) }) else { return text }
        var head = String(text.prefix(scheme.count))
        var rest = Substring(text.dropFirst(scheme.count))
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let userinfo = rest[..<at]
            if let colon = userinfo.firstIndex(of: ":") {
                head += String(userinfo[..<colon]) + ":****@"
            } else {
                head += String(userinfo) + "@"
            }
            rest = rest[rest.index(after: at)...]
        }
        var parts: [String] = []
        for part in rest.split(separator: "&", omittingEmptySubsequences: false) {
            parts.append(maskingSecretParameter(part))
        }
        return head + parts.joined(separator: "&")
    }

    /// `password=…` (or `…?password=…`, the first parameter) with its value masked.
    static func maskingSecretParameter(_ part: Substring) -> String {
        let start = part.lastIndex(of: "?").map { part.index(after: $0) } ?? part.startIndex
        let parameter = part[start...]
        guard let eq = parameter.firstIndex(of: "="), secretKeywords.contains(String(parameter[..<eq])) else { return String(part) }
        return String(part[...eq]) + "****"
    }

    /// The value of a keyword (the last one given), nil when absent.
    public func value(_ name: String) -> String? {
        keywords.last { $0.name == name }?.value
    }

    /// A copy with `name` set (a statement timeout, an application name).
    public func setting(_ name: String, _ value: String) -> PostgresDSN {
        var copy = self
        copy.keywords.removeAll { $0.name == name }
        copy.keywords.append(Keyword(name: name, value: value))
        return copy
    }

    /// `text` with every occurrence of this DSN's secrets masked (libpq's messages do not include
    /// the password, but a message must not leak one even if a server echoed it).
    public func masking(_ text: String) -> String {
        var out = text
        for k in keywords where Self.secretKeywords.contains(k.name) && k.value.count >= 3 {
            out = out.replacing(k.value, with: "****")
        }
        return out
    }

    public static func == (a: PostgresDSN, b: PostgresDSN) -> Bool { a.keywords == b.keywords }

    /// Whether both name the same database (server and database name; user, password and other
    /// settings aside): a migrate between them would copy a store onto itself.
    public func namesSameDatabase(as other: PostgresDSN) -> Bool {
        func identity(_ d: PostgresDSN) -> [String?] {
            [d.value("service"), d.value("hostaddr") ?? d.value("host") ?? "", d.value("port") ?? "5432", d.value("dbname") ?? d.value("user")]
        }
        return identity(self) == identity(other)
    }

    /// Percent-decoding of one URL part; invalid UTF-8 or a broken escape is refused.
    static func decode(_ part: Substring, _ what: String) throws(Invalid) -> String {
        var bytes: [UInt8] = []
        var i = part.utf8.startIndex
        let utf8 = part.utf8
        while i < utf8.endIndex {
            let b = utf8[i]
            if b == UInt8(ascii: "%") {
                let h1 = utf8.index(after: i)
                guard h1 < utf8.endIndex, utf8.index(after: h1) < utf8.endIndex,
                      let hi = hex(utf8[h1]), let lo = hex(utf8[utf8.index(after: h1)])
                else { throw Invalid(description: "\(what) has a broken %-escape") }
                bytes.append(hi << 4 | lo)
                i = utf8.index(i, offsetBy: 3)
            } else {
                bytes.append(b)
                i = utf8.index(after: i)
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self), !s.utf8.contains(0) else {
            throw Invalid(description: "\(what) is not valid UTF-8 text")
        }
        return s
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// libpq's `options` splits on spaces; a backslash keeps one.
    static func escapeOption(_ value: String) -> String {
        var out = ""
        for c in value {
            if c == " " || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
