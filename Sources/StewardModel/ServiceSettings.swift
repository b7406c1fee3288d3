/// One socket the daemon serves on. Under systemd, `Name` is matched against `LISTEN_FDNAMES`.
public struct ListenerSettings: Sendable, Equatable, Codable {
    public var name: String
    public var path: String
    /// Octal file mode, e.g. "0600" (what `mmctl --local` requires) or "0660" with a group.
    public var mode: String
    /// Group that owns the socket file; empty keeps the daemon's group.
    public var group: String
    /// Connections this listener holds at most (0: `ServiceSettings.MaxConnections`). Places kept
    /// for administrators are never taken by another peer, whatever this says.
    public var maxConnections: Int
    /// Connections one uid holds at most on this listener (0: `ServiceSettings.MaxConnectionsPerUid`).
    public var maxConnectionsPerUid: Int

    public init(name: String, path: String, mode: String = "0600", group: String = "", maxConnections: Int = 0, maxConnectionsPerUid: Int = 0) {
        self.name = name
        self.path = path
        self.mode = mode
        self.group = group
        self.maxConnections = maxConnections
        self.maxConnectionsPerUid = maxConnectionsPerUid
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", path = "Path", mode = "Mode", group = "Group"
        case maxConnections = "MaxConnections", maxConnectionsPerUid = "MaxConnectionsPerUid"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(path, forKey: .path)
        try c.encode(mode, forKey: .mode)
        try c.encode(group, forKey: .group)
        // Written only when set, so a config that never used them round-trips unchanged.
        if maxConnections != 0 { try c.encode(maxConnections, forKey: .maxConnections) }
        if maxConnectionsPerUid != 0 { try c.encode(maxConnectionsPerUid, forKey: .maxConnectionsPerUid) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decodeIfPresent(String.self, forKey: .path) ?? ""
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        if name.isEmpty { name = path.split(separator: "/").last.map(String.init) ?? "" }
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "0600"
        group = try c.decodeIfPresent(String.self, forKey: .group) ?? ""
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? 0
        maxConnectionsPerUid = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerUid) ?? 0
    }

    /// The mode as a number, `nil` when it is not octal or grants anything beyond rw for owner/group/other.
    public var modeBits: UInt32? {
        guard let bits = UInt32(mode, radix: 8), bits & ~0o666 == 0 else { return nil }
        return bits
    }
}

public struct ServiceSettings: Sendable, Equatable, Codable {
    public var listeners = [ListenerSettings(name: "steward.sock", path: "/run/steward/steward.sock")]
    public var maximumPayloadSizeBytes = 300_000
    public var maximumURLLength = 2048
    public var maximumHeaderBytes = 16_384
    public var readHeaderTimeoutSeconds = 10
    public var idleTimeoutSeconds = 60
    /// How long a client may go without taking any of an answer (a download it stopped reading)
    /// before it is hung up on.
    public var writeTimeoutSeconds = 30
    public var maxConnections = 512
    public var maxConnectionsPerUid = 64
    /// Of `MaxConnections`, the places only peers holding `manage_system` may take, so peers with
    /// less (observers, any group member of an open listener) can never lock root out. Unset: an
    /// eighth of `MaxConnections`, at least 1 and at most 32 (`reservedAdmin`).
    public var reservedAdminConnections: Int?

    /// The places kept for administrators, as in force.
    public var reservedAdmin: Int {
        reservedAdminConnections ?? (maxConnections > 1 ? max(1, min(32, maxConnections / 8)) : 0)
    }
    public var shutdownTimeoutSeconds = 10
    /// Directories `POST /config/migrate` may read and write besides the config's and the store's.
    public var configMigrateDirectories: [String] = []

    public init() {}

    /// The allowed values of the numeric settings, checked by `validate()` at load and at reload,
    /// so no accepted value can trap or misbehave where it is used (README, "Setting ranges").
    public enum Ranges {
        /// A request body is held in memory whole before it is handled: a limit, not a formality.
        public static let payloadBytes = 1...(1 << 30)
        /// The parser adds to these limits, and unparsed input is allowed to grow to a whole
        /// request head (a `ByteBuffer`, at most 4 GiB): 1 MiB, Go's `DefaultMaxHeaderBytes`. The
        /// URL is part of the head, so the same bound serves for `MaximumURLLength`.
        public static let headerBytes = 1...(1 << 20)
        /// Seconds become `TimeAmount`s and deadlines (nanoseconds, capped silently by NIO, so a
        /// huge value means no timeout at all); a day is already far past any sane timeout.
        public static let timeoutSeconds = 1...86_400
        /// Each connection may use three descriptors (`DescriptorBudget` multiplies), and Linux
        /// never grants more than about 2^30 (`fs.nr_open`).
        public static let connections = 1...1_000_000
    }

    enum CodingKeys: String, CodingKey {
        case listeners = "Listeners"
        case maximumPayloadSizeBytes = "MaximumPayloadSizeBytes"
        case maximumURLLength = "MaximumURLLength"
        case maximumHeaderBytes = "MaximumHeaderBytes"
        case readHeaderTimeoutSeconds = "ReadHeaderTimeoutSeconds"
        case idleTimeoutSeconds = "IdleTimeoutSeconds"
        case writeTimeoutSeconds = "WriteTimeoutSeconds"
        case maxConnections = "MaxConnections"
        case maxConnectionsPerUid = "MaxConnectionsPerUid"
        case reservedAdminConnections = "ReservedAdminConnections"
        case shutdownTimeoutSeconds = "ShutdownTimeoutSeconds"
        case configMigrateDirectories = "ConfigMigrateDirectories"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ServiceSettings()
        listeners = try c.decodeIfPresent([ListenerSettings].self, forKey: .listeners) ?? d.listeners
        maximumPayloadSizeBytes = try c.decodeIfPresent(Int.self, forKey: .maximumPayloadSizeBytes) ?? d.maximumPayloadSizeBytes
        maximumURLLength = try c.decodeIfPresent(Int.self, forKey: .maximumURLLength) ?? d.maximumURLLength
        maximumHeaderBytes = try c.decodeIfPresent(Int.self, forKey: .maximumHeaderBytes) ?? d.maximumHeaderBytes
        readHeaderTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .readHeaderTimeoutSeconds) ?? d.readHeaderTimeoutSeconds
        idleTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .idleTimeoutSeconds) ?? d.idleTimeoutSeconds
        writeTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .writeTimeoutSeconds) ?? d.writeTimeoutSeconds
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
        maxConnectionsPerUid = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerUid) ?? d.maxConnectionsPerUid
        reservedAdminConnections = try c.decodeIfPresent(Int.self, forKey: .reservedAdminConnections)
        shutdownTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .shutdownTimeoutSeconds) ?? d.shutdownTimeoutSeconds
        configMigrateDirectories = try c.decodeIfPresent([String].self, forKey: .configMigrateDirectories) ?? []
    }

    func validate() throws(ConfigValidationError) {
        if listeners.isEmpty {
            throw ConfigValidationError(setting: "ServiceSettings.Listeners", reason: "at least one listener is required")
        }
        var seen = Set<String>()
        for (i, l) in listeners.enumerated() {
            let key = "ServiceSettings.Listeners[\(i)]"
            if !l.path.hasPrefix("/") {
                throw ConfigValidationError(setting: key + ".Path", reason: "must be an absolute path, got '\(l.path)'")
            }
            if l.path.utf8.count > 107 {
                throw ConfigValidationError(setting: key + ".Path", reason: "longer than a unix socket path may be (107 bytes)")
            }
            if l.modeBits == nil {
                throw ConfigValidationError(setting: key + ".Mode", reason: "must be an octal mode within 0666, got '\(l.mode)'")
            }
            if !seen.insert(l.name).inserted || l.name.isEmpty {
                throw ConfigValidationError(setting: key + ".Name", reason: "names must be unique and non-empty")
            }
            // 0 stands for the service-wide value.
            try ConfigValidationError.check(l.maxConnections, in: 0...Ranges.connections.upperBound, key + ".MaxConnections")
            try ConfigValidationError.check(l.maxConnectionsPerUid, in: 0...Ranges.connections.upperBound, key + ".MaxConnectionsPerUid")
        }
        func check(_ value: Int, _ range: ClosedRange<Int>, _ name: String) throws(ConfigValidationError) {
            try ConfigValidationError.check(value, in: range, "ServiceSettings." + name)
        }
        try check(maximumPayloadSizeBytes, Ranges.payloadBytes, "MaximumPayloadSizeBytes")
        try check(maximumURLLength, Ranges.headerBytes, "MaximumURLLength")
        try check(maximumHeaderBytes, Ranges.headerBytes, "MaximumHeaderBytes")
        try check(readHeaderTimeoutSeconds, Ranges.timeoutSeconds, "ReadHeaderTimeoutSeconds")
        try check(idleTimeoutSeconds, Ranges.timeoutSeconds, "IdleTimeoutSeconds")
        try check(writeTimeoutSeconds, Ranges.timeoutSeconds, "WriteTimeoutSeconds")
        try check(shutdownTimeoutSeconds, Ranges.timeoutSeconds, "ShutdownTimeoutSeconds")
        try check(maxConnections, Ranges.connections, "MaxConnections")
        try check(maxConnectionsPerUid, Ranges.connections, "MaxConnectionsPerUid")
        if let r = reservedAdminConnections {
            // MaxConnections is at least 1 here, so the range is never empty.
            try ConfigValidationError.check(
                r, in: 0...(maxConnections - 1), "ServiceSettings.ReservedAdminConnections", why: "less than MaxConnections, so others keep a place")
        }
        for (i, d) in configMigrateDirectories.enumerated() where !d.hasPrefix("/") {
            throw ConfigValidationError(setting: "ServiceSettings.ConfigMigrateDirectories[\(i)]", reason: "must be an absolute path, got '\(d)'")
        }
    }
}

