import FoundationEssentials
import StewardModel

/// The config document on disk and in the database: JSON indented with 4 spaces, keys sorted, a
/// trailing newline — one normal form, so equal configs are equal bytes (and equal SHAs).
public enum ConfigCodec {
    public static func encode(_ config: StewardConfig) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let twoSpace = String(decoding: (try? encoder.encode(config)) ?? Data("{}".utf8), as: UTF8.self)
        var out = ""
        for line in twoSpace.split(separator: "\n", omittingEmptySubsequences: false) {
            let indent = line.prefix { $0 == " " }.count
            var body = line.dropFirst(indent)
            // Foundation writes `"key" : value`; Mattermost's files have `"key": value`.
            if let r = body.firstRange(of: "\" : ") { body.replaceSubrange(r, with: "\": ") }
            out += String(repeating: " ", count: indent * 2) + body + "\n"
        }
        return Array(out.utf8)
    }

    /// Parses and validates a document; errors name the JSON problem or the offending setting.
    public static func decode(_ bytes: [UInt8]) throws(ConfigStoreError) -> StewardConfig {
        guard JSONSyntax.isValid(bytes) else { throw .invalidJSON("the document is not valid JSON") }
        let config: StewardConfig
        do {
            config = try JSONDecoder().decode(StewardConfig.self, from: Data(bytes))
        } catch let e as DecodingError {
            throw .invalidJSON(describe(e))
        } catch {
            throw .invalidJSON("\(error)")
        }
        do {
            try config.validate()
        } catch {
            throw .invalidSetting(error)
        }
        return config
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return p.hasPrefix(".") ? String(p.dropFirst()) : p
        }
        switch e {
        case .dataCorrupted(let c): return c.debugDescription
        case .keyNotFound(let k, let c): return "missing key \(path(c)).\(k.stringValue)"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "wrong type at \(path(c))"
        @unknown default: return "\(e)"
        }
    }
}

/// Why a config store could not be read or written. Descriptions name paths and settings, which
/// the local admin gave us; they never carry file contents.
public enum ConfigStoreError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case invalidJSON(String)
    case invalidSetting(ConfigValidationError)
    case unreadable(String)
    case unwritable(String)
    case notAllowed(String)
    case sameStore(String)
    case verifyFailed(String)

    public var description: String {
        switch self {
        case .missing(let s): return "no configuration at \(s)"
        case .invalidJSON(let s): return "invalid JSON: \(s)"
        case .invalidSetting(let e): return "\(e)"
        case .unreadable(let s): return "cannot read \(s)"
        case .unwritable(let s): return "cannot write \(s)"
        case .notAllowed(let s): return s
        case .sameStore(let s): return "source and destination are the same store (\(s))"
        case .verifyFailed(let s): return "the destination did not read back as written: \(s)"
        }
    }
}

/// A config operation that failed, as the API reports it (mapped to its AppError in one place).
public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case reloadFailed(ConfigStoreError)
    case migrateFailed(ConfigStoreError)

    /// Whether the caller's input is at fault (400) rather than the daemon or its files (500).
    public var isClientError: Bool {
        switch self {
        case .reloadFailed: return false
        case .migrateFailed(let e):
            switch e {
            case .missing, .invalidJSON, .invalidSetting, .notAllowed, .sameStore: return true
            case .unreadable, .unwritable, .verifyFailed: return false
            }
        }
    }

    public var description: String {
        switch self {
        case .reloadFailed(let e), .migrateFailed(let e): return e.description
        }
    }
}
