import Foundation
import StewardModel
import Testing

/// `ClusterSettings.NodeName`: shown and logged, so short and printable; empty is the host name.
@Suite struct ClusterSettingsTests {
    func load(_ json: String) throws -> StewardConfig {
        try JSONDecoder().decode(StewardConfig.self, from: Data(json.utf8))
    }

    @Test func namesAreShortAndPrintable() throws {
        let named = try load(#"{"ClusterSettings":{"NodeName":"node-a.example"}}"#)
        try named.validate()
        #expect(named.clusterSettings.effectiveNodeName == "node-a.example")
        for bad in ["node a", "tab\tname", String(repeating: "n", count: 65), "ünicode"] {
            let config = try load(#"{"ClusterSettings":{"NodeName":\#(JSONWriter.quote(bad))}}"#)
            #expect(throws: ConfigValidationError.self, "\(bad)") { try config.validate() }
        }
        try load(#"{"ClusterSettings":{"NodeName":"\#(String(repeating: "n", count: 64))"}}"#).validate()
    }

    @Test func emptyIsTheHostName() throws {
        let config = try load("{}")
        try config.validate()
        #expect(config.clusterSettings.nodeName == "")
        #expect(config.clusterSettings.effectiveNodeName == ClusterSettings.hostName && !ClusterSettings.hostName.isEmpty)
    }
}
