/// One node in `GET /api/v4/cluster/status`: Mattermost's `ClusterInfo` fields (`id` is the node
/// name; Steward has no config hash or address to report: empty, as Mattermost's are on a node
/// that has not said), then Steward's own: when the node last heartbeated (ms) and whether its
/// lease still holds.
public struct ClusterInfo: Sendable, Equatable, Codable {
    public var id: String
    public var version: String
    public var schemaVersion: String
    public var configHash: String
    public var ipAddress: String
    public var hostname: String
    public var lastHeartbeatAt: Int64
    public var alive: Bool

    public init(id: String, version: String, schemaVersion: String, hostname: String, lastHeartbeatAt: Int64, alive: Bool) {
        self.id = id
        self.version = version
        self.schemaVersion = schemaVersion
        self.configHash = ""
        self.ipAddress = ""
        self.hostname = hostname
        self.lastHeartbeatAt = lastHeartbeatAt
        self.alive = alive
    }

    enum CodingKeys: String, CodingKey {
        case id, version, hostname, alive
        case schemaVersion = "schema_version", configHash = "config_hash", ipAddress = "ipaddress", lastHeartbeatAt = "last_heartbeat_at"
    }

    /// A node list as the route answers it, in Mattermost's key order.
    public static func json(_ nodes: [ClusterInfo]) -> String {
        var w = JSONWriter()
        w.array(nodes) { w, n in
            w.object { o in
                o.field("id", n.id)
                o.field("version", n.version)
                o.field("schema_version", n.schemaVersion)
                o.field("config_hash", n.configHash)
                o.field("ipaddress", n.ipAddress)
                o.field("hostname", n.hostname)
                o.field("last_heartbeat_at", n.lastHeartbeatAt)
                o.field("alive", n.alive)
            }
        }
        return w.output
    }
}
