/// Mattermost's `{"status":"OK"}` body (exact bytes, no trailing newline).
public enum StatusOK {
    public static let json = #"{"status":"OK"}"#
}

/// `GET /api/v4/system/ping` answer.
public struct PingResponse: Sendable, Codable, Equatable {
    public var status: String
    public var version: String?
    public var databaseStatus: String?

    public init(status: String, version: String? = nil, databaseStatus: String? = nil) {
        self.status = status
        self.version = version
        self.databaseStatus = databaseStatus
    }

    enum CodingKeys: String, CodingKey {
        case status
        case version = "ServerVersion"
        case databaseStatus = "database_status"
    }

    public var json: String {
        var w = JSONWriter()
        w.object { o in
            if let version { o.field("ServerVersion", version) }
            o.field("status", status)
            if let databaseStatus { o.field("database_status", databaseStatus) }
        }
        return w.output
    }
}

/// Version strings reported in `X-Version-ID` and ping.
public enum StewardVersion {
    public static let version = "0.1.0"
    /// `<version>.<buildNumber>.<configHash>.<licensed>` like Mattermost's `X-Version-ID`.
    public static let versionID = "\(version).steward.0.false"
}
