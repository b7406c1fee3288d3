/// One parent/child relation: rows of `childTable` whose `childForeignKey` matches no `parentKey` of
/// `parentTable` are orphans (Mattermost's `relationalCheckConfig`).
public struct Relation: Sendable, Equatable, Hashable {
    /// A filter on the child's `Type` column (only the Teams → Channels check uses one).
    public enum TypeFilter: Sendable, Equatable, Hashable {
        case notIn([String])
        case isIn([String])
    }

    public var parentTable: String
    public var parentKey: String
    public var childTable: String
    public var childForeignKey: String
    /// The child's own id column, reported as `child_id`; nil when it has none.
    public var childIdColumn: String?
    /// Mattermost's `canParentIdBeEmpty`: an empty or NULL foreign key is not an orphan.
    public var skipEmpty: Bool
    public var typeFilter: TypeFilter?

    public init(parent: String, parentKey: String = "Id", child: String, foreignKey: String, childId: String?,
                skipEmpty: Bool = false, typeFilter: TypeFilter? = nil) {
        self.parentTable = parent
        self.parentKey = parentKey
        self.childTable = child
        self.childForeignKey = foreignKey
        self.childIdColumn = childId
        self.skipEmpty = skipEmpty
        self.typeFilter = typeFilter
    }
}

/// One entry of the result array: usually one relation; Teams → Channels is two, concatenated.
public struct IntegrityCheck: Sendable, Equatable {
    public var parts: [Relation]

    public init(_ parts: [Relation]) { self.parts = parts }

    public var parentName: String { parts[0].parentTable }
    public var childName: String { parts[0].childTable }
    public var parentIdAttr: String { parts[0].childForeignKey }
    public var childIdAttr: String { parts[0].childIdColumn ?? "" }
    public var name: String { "\(childName).\(parentIdAttr) → \(parentName)" }
}

/// Mattermost's relational integrity checks, in the order of its `CheckRelationalIntegrity`.
public enum MattermostRelations {
    private static func r(_ parent: String, _ child: String, _ fk: String, _ childId: String?, skipEmpty: Bool = false) -> IntegrityCheck {
        IntegrityCheck([Relation(parent: parent, child: child, foreignKey: fk, childId: childId, skipEmpty: skipEmpty)])
    }

    public static let checks: [IntegrityCheck] = [
        r("Channels", "CommandWebhooks", "ChannelId", "Id"),
        r("Channels", "ChannelMemberHistory", "ChannelId", nil),
        r("Channels", "ChannelMembers", "ChannelId", nil),
        r("Channels", "IncomingWebhooks", "ChannelId", "Id"),
        r("Channels", "OutgoingWebhooks", "ChannelId", "Id"),
        r("Channels", "Posts", "ChannelId", "Id"),
        r("Channels", "FileInfo", "ChannelId", "Id"),
        r("Commands", "CommandWebhooks", "CommandId", "Id"),
        r("Posts", "FileInfo", "PostId", "Id"),
        r("Posts", "Posts", "RootId", "Id", skipEmpty: true),
        r("Posts", "Reactions", "PostId", nil),
        r("Teams", "Threads", "ThreadTeamId", "PostId"),
        r("Schemes", "Channels", "SchemeId", "Id", skipEmpty: true),
        r("Schemes", "Teams", "SchemeId", "Id", skipEmpty: true),
        r("Sessions", "Audits", "SessionId", "Id", skipEmpty: true),
        IntegrityCheck([
            Relation(parent: "Teams", child: "Channels", foreignKey: "TeamId", childId: "Id", typeFilter: .notIn(["D", "G"])),
            Relation(parent: "Teams", child: "Channels", foreignKey: "TeamId", childId: "Id", skipEmpty: true, typeFilter: .isIn(["D", "G"])),
        ]),
        r("Teams", "Commands", "TeamId", "Id"),
        r("Teams", "IncomingWebhooks", "TeamId", "Id"),
        r("Teams", "OutgoingWebhooks", "TeamId", "Id"),
        r("Teams", "TeamMembers", "TeamId", nil),
        r("Users", "Audits", "UserId", "Id", skipEmpty: true),
        r("Users", "CommandWebhooks", "UserId", "Id"),
        r("Users", "ChannelMemberHistory", "UserId", nil),
        r("Users", "ChannelMembers", "UserId", nil),
        r("Users", "Channels", "CreatorId", "Id", skipEmpty: true),
        r("Users", "Commands", "CreatorId", "Id"),
        r("Users", "Compliances", "UserId", "Id"),
        r("Users", "Emoji", "CreatorId", "Id"),
        r("Users", "FileInfo", "CreatorId", "Id"),
        r("Users", "IncomingWebhooks", "UserId", "Id"),
        r("Users", "OAuthAccessData", "UserId", "Token"),
        r("Users", "OAuthApps", "CreatorId", "Id"),
        r("Users", "OAuthAuthData", "UserId", "Code"),
        r("Users", "OutgoingWebhooks", "CreatorId", "Id"),
        r("Users", "Posts", "UserId", "Id"),
        r("Users", "Preferences", "UserId", nil),
        r("Users", "Reactions", "UserId", nil),
        r("Users", "Sessions", "UserId", "Id"),
        r("Users", "Status", "UserId", nil),
        r("Users", "TeamMembers", "UserId", nil),
        r("Users", "UserAccessTokens", "UserId", "Id"),
    ]
}

/// Steward's own relations, checked after Mattermost's 41 on a store that has their tables (so
/// Steward's own store always has something real checked). Each job's log lines belong to a job.
public enum StewardRelations {
    public static let checks: [IntegrityCheck] = [
        IntegrityCheck([Relation(parent: "Jobs", child: "JobLogs", foreignKey: "JobId", childId: nil)]),
    ]
}
