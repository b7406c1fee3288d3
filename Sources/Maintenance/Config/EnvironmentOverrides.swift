import FoundationEssentials
import StewardModel

/// `STEWARD_<SECTION>_<SETTING>` environment variables override settings, as Mattermost's `MM_…`
/// do: `STEWARD_SERVICESETTINGS_MAXIMUMURLLENGTH=4096`. Overrides apply to the running daemon only;
/// they are never written to a store (config migrate reads the stores, not the daemon's view).
public enum EnvironmentOverrides {
    /// Variables that configure the tools themselves, not a setting.
    static let reserved: Set<String> = ["STEWARD_CONFIG", "STEWARD_SOCKET", "STEWARD_BIN_DIR"]

    public struct Result: Sendable {
        public var config: StewardConfig
        /// Overridden settings as `Section.Setting`.
        public var overridden: [String]
    }

    public static func apply(_ environment: [String: String], to config: StewardConfig) throws(ConfigStoreError) -> Result {
        let relevant = environment.filter { $0.key.hasPrefix("STEWARD_") && !reserved.contains($0.key) }
        guard !relevant.isEmpty else { return Result(config: config, overridden: []) }
        guard case .object(var root) = try JSONValue.from(config) else { return Result(config: config, overridden: []) }
        var overridden: [String] = []
        for (name, raw) in relevant.sorted(by: { $0.key < $1.key }) {
            let rest = name.dropFirst("STEWARD_".count)
            guard let underscore = rest.firstIndex(of: "_") else { continue }
            let sectionName = rest[..<underscore], settingName = rest[rest.index(after: underscore)...]
            guard let section = root.keys.first(where: { $0.uppercased() == sectionName }),
                  case .object(var settings) = root[section],
                  let setting = settings.keys.first(where: { $0.uppercased() == settingName.replacingUnderscores() })
            else { continue }
            guard let value = JSONValue.parse(raw, like: settings[setting]!) else {
                throw .invalidSetting(ConfigValidationError(setting: "\(section).\(setting)", reason: "environment variable \(name) has a value of the wrong type"))
            }
            settings[setting] = value
            root[section] = .object(settings)
            overridden.append("\(section).\(setting)")
        }
        let bytes = try JSONValue.object(root).encoded()
        return Result(config: try ConfigCodec.decode(bytes), overridden: overridden)
    }
}

extension Substring {
    fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}

/// A JSON value, enough to edit a config generically.
indirect enum JSONValue: Codable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) { self = .string(s) } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    static func from(_ config: StewardConfig) throws(ConfigStoreError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(config))
        } catch {
            throw .invalidJSON("\(error)")
        }
    }

    func encoded() throws(ConfigStoreError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(self)) } catch { throw .invalidJSON("\(error)") }
    }

    /// `raw` read as the same kind of value as `existing`; nil when it cannot be.
    static func parse(_ raw: String, like existing: JSONValue) -> JSONValue? {
        switch existing {
        case .bool: return raw == "true" ? .bool(true) : raw == "false" ? .bool(false) : nil
        case .number: return Double(raw).map(JSONValue.number)
        case .string: return .string(raw)
        case .null, .array, .object:
            return try? JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8))
        }
    }
}
