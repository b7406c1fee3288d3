/// The local authorization policy: rules that grant roles or permissions to peers.
public struct LocalAuthorizationSettings: Sendable, Equatable, Codable {
    public var rules: [PolicyRule]
    /// A file of further rules (a JSON array of rules) kept beside the config — in the database
    /// store, in `ConfigurationFiles`. A plain file name; empty for none.
    public var rulesFile: String = ""

    /// The default policy: uid 0 and the daemon's own uid are `system_admin`; group `steward-admin`
    /// is `system_admin`; group `steward` is `observer`.
    public static let defaultRules: [PolicyRule] = [
        PolicyRule(uids: [0], daemonUser: true, roles: [BuiltinRole.systemAdmin.rawValue]),
        PolicyRule(groups: ["steward-admin"], roles: [BuiltinRole.systemAdmin.rawValue]),
        PolicyRule(groups: ["steward"], roles: [BuiltinRole.observer.rawValue]),
    ]

    public init(rules: [PolicyRule] = LocalAuthorizationSettings.defaultRules) { self.rules = rules }

    enum CodingKeys: String, CodingKey { case rules = "Rules", rulesFile = "RulesFile" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rules = try c.decodeIfPresent([PolicyRule].self, forKey: .rules) ?? Self.defaultRules
        rulesFile = try c.decodeIfPresent(String.self, forKey: .rulesFile) ?? ""
    }

    func validate() throws(ConfigValidationError) {
        if !rulesFile.isEmpty, rulesFile.contains("/") || rulesFile.hasPrefix(".") || rulesFile.utf8.count > 64 {
            throw ConfigValidationError(
                setting: "LocalAuthorizationSettings.RulesFile",
                reason: "must be a plain file name (no '/', not starting with '.', at most 64 bytes), got '\(rulesFile)'")
        }
        try Self.validate(rules, setting: "LocalAuthorizationSettings.Rules")
    }

    /// Checks rules from the config or from the rules file; `setting` prefixes the error path.
    public static func validate(_ rules: [PolicyRule], setting: String) throws(ConfigValidationError) {
        let known = Set(Permission.all.map(\.rawValue))
        for (i, rule) in rules.enumerated() {
            let key = "\(setting)[\(i)]"
            for role in rule.roles where BuiltinRole(rawValue: role) == nil {
                throw ConfigValidationError(setting: key + ".Roles", reason: "unknown role '\(role)'")
            }
            for p in rule.permissions where !known.contains(p) {
                throw ConfigValidationError(setting: key + ".Permissions", reason: "unknown permission '\(p)'")
            }
            if rule.roles.isEmpty && rule.permissions.isEmpty {
                throw ConfigValidationError(setting: key, reason: "grants nothing: give it Roles or Permissions")
            }
            if rule.uids.isEmpty && rule.users.isEmpty && rule.groups.isEmpty && rule.gids.isEmpty && !rule.daemonUser {
                throw ConfigValidationError(setting: key, reason: "matches nobody: give it Uids, Users, Gids, Groups or DaemonUser")
            }
            if rule.uids.contains(65534) || rule.gids.contains(65534) {
                throw ConfigValidationError(setting: key, reason: "the overflow id 65534 is never an identity")
            }
        }
    }
}

/// Grants `roles` and `permissions` to a peer that matches any of the selectors.
public struct PolicyRule: Sendable, Equatable, Codable {
    public var uids: [UInt32]
    public var users: [String]
    public var gids: [UInt32]
    public var groups: [String]
    /// Matches the uid the daemon runs as.
    public var daemonUser: Bool
    public var roles: [String]
    public var permissions: [String]

    public init(
        uids: [UInt32] = [], users: [String] = [], gids: [UInt32] = [], groups: [String] = [],
        daemonUser: Bool = false, roles: [String] = [], permissions: [String] = []
    ) {
        self.uids = uids
        self.users = users
        self.gids = gids
        self.groups = groups
        self.daemonUser = daemonUser
        self.roles = roles
        self.permissions = permissions
    }

    enum CodingKeys: String, CodingKey {
        case uids = "Uids", users = "Users", gids = "Gids", groups = "Groups", daemonUser = "DaemonUser"
        case roles = "Roles", permissions = "Permissions"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uids = try c.decodeIfPresent([UInt32].self, forKey: .uids) ?? []
        users = try c.decodeIfPresent([String].self, forKey: .users) ?? []
        gids = try c.decodeIfPresent([UInt32].self, forKey: .gids) ?? []
        groups = try c.decodeIfPresent([String].self, forKey: .groups) ?? []
        daemonUser = try c.decodeIfPresent(Bool.self, forKey: .daemonUser) ?? false
        roles = try c.decodeIfPresent([String].self, forKey: .roles) ?? []
        permissions = try c.decodeIfPresent([String].self, forKey: .permissions) ?? []
    }

    /// Writes only the selectors and grants a rule uses, so config files stay readable.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if !uids.isEmpty { try c.encode(uids, forKey: .uids) }
        if !users.isEmpty { try c.encode(users, forKey: .users) }
        if !gids.isEmpty { try c.encode(gids, forKey: .gids) }
        if !groups.isEmpty { try c.encode(groups, forKey: .groups) }
        if daemonUser { try c.encode(daemonUser, forKey: .daemonUser) }
        if !roles.isEmpty { try c.encode(roles, forKey: .roles) }
        if !permissions.isEmpty { try c.encode(permissions, forKey: .permissions) }
    }
}
