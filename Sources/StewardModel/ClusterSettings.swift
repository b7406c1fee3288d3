#if canImport(Glibc)
import Glibc
#endif

/// `ClusterSettings`: this node's name among the nodes sharing one PostgreSQL store.
public struct ClusterSettings: Sendable, Equatable, Codable {
    /// Empty (the default): the host name.
    public var nodeName = ""

    public init() {}

    enum CodingKeys: String, CodingKey { case nodeName = "NodeName" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodeName = try c.decodeIfPresent(String.self, forKey: .nodeName) ?? ""
    }

    /// The name this node goes by: `NodeName`, else the host name.
    public var effectiveNodeName: String { nodeName.isEmpty ? Self.hostName : nodeName }

    /// The host name (`gethostname`), "localhost" when it has none.
    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    func validate() throws(ConfigValidationError) {
        // It is stored, logged and shown: printable ASCII, short.
        guard nodeName.utf8.count <= 64, nodeName.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw ConfigValidationError(setting: "ClusterSettings.NodeName", reason: "must be at most 64 printable ASCII characters without spaces, got '\(nodeName)'")
        }
    }
}
