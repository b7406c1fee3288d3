import Foundation
import StewardModel
import Testing

@Suite struct ConfigTests {
    @Test func emptyDocumentTakesDefaults() throws {
        let c = try JSONDecoder().decode(StewardConfig.self, from: Data("{}".utf8))
        #expect(c == StewardConfig.production)
        #expect(c.serviceSettings.listeners.first?.path == "/run/steward/steward.sock")
        #expect(c.serviceSettings.listeners.first?.mode == "0600")
        #expect(c.sqlSettings.dataSource == "/var/lib/steward/steward.db")
        #expect(c.localAuthorizationSettings.rules == LocalAuthorizationSettings.defaultRules)
        try c.validate()
    }

    @Test func defaultPolicyIsTheSpecs() {
        let rules = LocalAuthorizationSettings.defaultRules
        #expect(rules[0].uids == [0] && rules[0].daemonUser && rules[0].roles == ["system_admin"])
        #expect(rules[1].groups == ["steward-admin"] && rules[1].roles == ["system_admin"])
        #expect(rules[2].groups == ["steward"] && rules[2].roles == ["observer"])
    }

    @Test func developmentConfigLivesInTheDataDir() throws {
        let c = StewardConfig.development(dataDir: "/tmp/x")
        #expect(c.serviceSettings.listeners == [ListenerSettings(name: "steward.sock", path: "/tmp/x/steward.sock")])
        #expect(c.sqlSettings.dataSource == "/tmp/x/steward.db")
    }

    @Test(arguments: [
        (#"{"ServiceSettings":{"Listeners":[{"Path":"relative.sock"}]}}"#, "ServiceSettings.Listeners[0].Path"),
        (#"{"ServiceSettings":{"Listeners":[{"Path":"/a.sock","Mode":"0777"}]}}"#, "ServiceSettings.Listeners[0].Mode"),
        (#"{"ServiceSettings":{"Listeners":[{"Path":"/a.sock","Mode":"rw"}]}}"#, "ServiceSettings.Listeners[0].Mode"),
        (#"{"ServiceSettings":{"Listeners":[]}}"#, "ServiceSettings.Listeners"),
        (#"{"ServiceSettings":{"MaximumPayloadSizeBytes":0}}"#, "ServiceSettings.MaximumPayloadSizeBytes"),
        (#"{"SqlSettings":{"DriverName":"mysql"}}"#, "SqlSettings.DriverName"),
        // postgres with the default DataSource (a file path, not a DSN).
        (#"{"SqlSettings":{"DriverName":"postgres"}}"#, "SqlSettings.DataSource"),
        (#"{"SqlSettings":{"DriverName":"postgres","DataSource":"postgres://u:p@h:0/db"}}"#, "SqlSettings.DataSource"),
        (#"{"LogSettings":{"Level":"loud"}}"#, "LogSettings.Level"),
        (#"{"LocalAuthorizationSettings":{"Rules":[{"Uids":[5],"Roles":["king"]}]}}"#, "LocalAuthorizationSettings.Rules[0].Roles"),
        (#"{"LocalAuthorizationSettings":{"Rules":[{"Uids":[5],"Permissions":["fly"]}]}}"#, "LocalAuthorizationSettings.Rules[0].Permissions"),
        (#"{"LocalAuthorizationSettings":{"Rules":[{"Roles":["observer"]}]}}"#, "LocalAuthorizationSettings.Rules[0]"),
        (#"{"LocalAuthorizationSettings":{"Rules":[{"Uids":[65534],"Roles":["observer"]}]}}"#, "LocalAuthorizationSettings.Rules[0]"),
    ])
    func validationNamesTheSetting(json: String, setting: String) throws {
        let c = try JSONDecoder().decode(StewardConfig.self, from: Data(json.utf8))
        #expect(throws: ConfigValidationError.self) { try c.validate() }
        do {
            try c.validate()
        } catch {
            #expect(error.setting == setting)
        }
    }

    @Test func roundTripsThroughJSON() throws {
        var c = StewardConfig.development(dataDir: "/srv/steward")
        c.serviceSettings.listeners.append(ListenerSettings(name: "ops", path: "/run/steward/ops.sock", mode: "0660", group: "steward"))
        c.localAuthorizationSettings.rules.append(PolicyRule(users: ["alice"], permissions: ["manage_system"]))
        let back = try JSONDecoder().decode(StewardConfig.self, from: try JSONEncoder().encode(c))
        #expect(back == c)
    }

    @Test func rolesNestAsTheSpecSays() {
        #expect(BuiltinRole.systemAdmin.permissions == Set(Permission.all))
        #expect(BuiltinRole.observer.permissions.isSubset(of: BuiltinRole.jobOperator.permissions))
        #expect(!BuiltinRole.observer.permissions.contains(.manageSystem))
        #expect(!BuiltinRole.jobOperator.permissions.contains(.manageSystem))
        #expect(BuiltinRole.observer.permissions.contains(.readServerBusy))
    }
}
