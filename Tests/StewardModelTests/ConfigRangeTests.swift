import Foundation
import StewardModel
import Testing

/// Every numeric setting has a declared range, checked by `validate()` (at load and at reload): the
/// ends pass, one past either end fails naming the setting and the range, and values that trapped or
/// misbehaved later (a busy timeout past Int32, a header limit of Int.max that the parser adds 1 to)
/// are refused. The bounds are written out here on purpose, not taken from `Ranges`, so widening
/// one is a visible change.
@Suite struct ConfigRangeTests {
    struct Setting: CustomStringConvertible, Sendable {
        var name: String
        var range: ClosedRange<Int>
        /// The document with `value` in place of the setting.
        var document: @Sendable (Int) -> String
        var description: String { name }
    }

    static func plain(_ section: String, _ key: String, _ range: ClosedRange<Int>) -> Setting {
        Setting(name: "\(section).\(key)", range: range) { #"{"\#(section)":{"\#(key)":\#($0)}}"# }
    }

    static func listener(_ key: String, _ range: ClosedRange<Int>) -> Setting {
        Setting(name: "ServiceSettings.Listeners[0].\(key)", range: range) {
            #"{"ServiceSettings":{"Listeners":[{"Path":"/run/a.sock","\#(key)":\#($0)}]}}"#
        }
    }

    static let settings: [Setting] = [
        plain("ServiceSettings", "MaximumPayloadSizeBytes", 1...1_073_741_824),
        plain("ServiceSettings", "MaximumURLLength", 1...1_048_576),
        plain("ServiceSettings", "MaximumHeaderBytes", 1...1_048_576),
        plain("ServiceSettings", "ReadHeaderTimeoutSeconds", 1...86_400),
        plain("ServiceSettings", "IdleTimeoutSeconds", 1...86_400),
        plain("ServiceSettings", "WriteTimeoutSeconds", 1...86_400),
        plain("ServiceSettings", "ShutdownTimeoutSeconds", 1...86_400),
        plain("ServiceSettings", "MaxConnections", 1...1_000_000),
        plain("ServiceSettings", "MaxConnectionsPerUid", 1...1_000_000),
        // Below the default MaxConnections (512): the reserve must leave a place for others.
        plain("ServiceSettings", "ReservedAdminConnections", 0...511),
        listener("MaxConnections", 0...1_000_000),
        listener("MaxConnectionsPerUid", 0...1_000_000),
        plain("SqlSettings", "MaxReaders", 1...64),
        plain("SqlSettings", "BusyTimeoutMilliseconds", 0...86_400_000),
        plain("IntegritySettings", "MaxRecordsPerRelation", 0...1_000_000),
        plain("IntegritySettings", "ScanThreads", 0...16),
        plain("JobSettings", "MaxConcurrentJobs", 1...32),
        plain("JobSettings", "BackupsToKeep", 1...10_000),
        plain("DataRetentionSettings", "MessageRetentionDays", 1...36_500),
        plain("DataRetentionSettings", "BatchSize", 1...100_000),
    ]

    static func error(_ document: String) throws -> ConfigValidationError? {
        let config = try JSONDecoder().decode(StewardConfig.self, from: Data(document.utf8))
        do {
            try config.validate()
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: settings)
    func theEndsOfTheRangePass(_ s: Setting) throws {
        for value in [s.range.lowerBound, s.range.upperBound] {
            let e = try Self.error(s.document(value))
            #expect(e == nil, "\(s.name) = \(value): \(String(describing: e))")
        }
    }

    @Test(arguments: settings)
    func onePastEitherEndFailsNamingTheSettingAndTheRange(_ s: Setting) throws {
        // Int.max and Int.min too: nothing wraps on the way to the check.
        for value in [s.range.lowerBound - 1, s.range.upperBound + 1, Int.max, Int.min] {
            let e = try Self.error(s.document(value))
            #expect(e?.setting == s.name, "\(s.name) = \(value): \(String(describing: e))")
            let reason = e?.reason ?? ""
            #expect(reason.hasPrefix("must be \(s.range.lowerBound) to \(s.range.upperBound)") && reason.hasSuffix(", got \(value)"), "\(reason)")
        }
    }

    /// The values issue 10 found accepted and trapping or misbehaving later.
    @Test(arguments: [
        ("SqlSettings", "BusyTimeoutMilliseconds", 99_999_999_999),  // Int32(…) trapped at start
        ("ServiceSettings", "ReadHeaderTimeoutSeconds", 1_000_000_000_000_000),  // silently no timeout
        ("ServiceSettings", "MaximumHeaderBytes", Int.max),  // `limit + 1` trapped on a chunked trailer
        ("ServiceSettings", "MaxConnections", Int.max / 2),  // `3 * MaxConnections` trapped at start
        ("IntegritySettings", "MaxRecordsPerRelation", Int.max),  // `2 * limit` in the orphan collector
    ])
    func valuesThatUsedToTrapAreRefused(section: String, key: String, value: Int) throws {
        let e = try Self.error(#"{"\#(section)":{"\#(key)":\#(value)}}"#)
        #expect(e?.setting == "\(section).\(key)", "\(String(describing: e))")
    }

    /// A numeric setting added without a range (and a row above) fails here: every number the
    /// encoder writes is in the table.
    @Test func everyNumericSettingIsInTheTable() throws {
        var config = StewardConfig()
        // Written only when set: set them, so they are listed.
        config.serviceSettings.listeners[0].maxConnections = 1
        config.serviceSettings.listeners[0].maxConnectionsPerUid = 1
        config.serviceSettings.reservedAdminConnections = 1
        let document = try JSONDecoder().decode(JSON.self, from: JSONEncoder().encode(config))
        var numeric: Set<String> = []
        func walk(_ value: JSON, _ path: String) {
            switch value {
            case .object(let o): for (k, v) in o { walk(v, path.isEmpty ? k : "\(path).\(k)") }
            // Arrays of numbers are ids (Uids, Gids), typed UInt32 by the decoder.
            case .array(let a): for (i, v) in a.enumerated() { walk(v, "\(path)[\(i)]") }
            case .number: if !path.hasSuffix("]") { numeric.insert(path) }
            case .other: break
            }
        }
        walk(document, "")
        #expect(numeric == Set(Self.settings.map(\.name)))
    }
}

/// Just enough of JSON to find the numbers in a document (JSONDecoder never reads `true` as 1).
private indirect enum JSON: Decodable {
    case object([String: JSON]), array([JSON]), number, other

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() || (try? c.decode(Bool.self)) != nil || (try? c.decode(String.self)) != nil {
            self = .other
        } else if (try? c.decode(Double.self)) != nil {
            self = .number
        } else if let a = try? c.decode([JSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSON].self))
        }
    }
}
