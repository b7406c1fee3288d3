import FoundationEssentials
import StewardModel
import Store

/// One run of the bulk export over one snapshot: each section in Mattermost's order, page by page.
/// The shapes and rules (what is skipped, how roles are written) are Mattermost's `BulkExport`
/// (server/channels/app/export.go and export_converters.go) and its import types; docs/jobs.md lists
/// where Steward differs.
struct BulkExport {
    let conn: any SQLConnection
    let schema: ExportSchema
    let options: BulkExportOptions
    var sink: ExportSink
    let ctx: JobContext
    var counts = ExportCounts()
    /// Rows to go, for progress: the users, channels and posts counted at the start.
    private var total: Int64 = 1
    private var done: Int64 = 0

    init(conn: any SQLConnection, schema: ExportSchema, options: BulkExportOptions, sink: ExportSink, ctx: JobContext) {
        self.conn = conn
        self.schema = schema
        self.options = options
        self.sink = sink
        self.ctx = ctx
    }

    mutating func writeVersion(generatorVersion: String, created: String) throws {
        var w = JSONWriter()
        w.object { o in
            o.field("type", "version")
            o.field("version", 1)
            o.object("info") { i in
                i.field("generator", "steward")
                i.field("version", generatorVersion)
                i.field("created", created)
            }
        }
        try sink.append(w.bytes)
    }

    mutating func run() throws {
        counts.absentTables = ["Teams", "Channels", "Users", "TeamMembers", "ChannelMembers", "Posts", "Reactions", "FileInfo",
                               "Preferences", "Emoji", "Schemes", "Bots"].filter { !schema.has($0) }
        for table in ["Users", "Channels", "Posts"] where schema.has(table) {
            total += try conn.first("SELECT count(*) FROM \(table)") { $0.int64(0) } ?? 0
        }
        let flags = try flaggedPosts()
        if schema.has("Teams") {
            try teams()
            if schema.has("Channels") { try channels() }
        }
        if schema.has("Users") {
            try users()
            if schema.has("Bots") { try bots() }
        }
        if schema.has("Posts") && schema.has("Channels") && schema.has("Users") {
            if schema.has("Teams") { try posts(direct: false, flags: flags) }
        }
        if schema.has("Emoji") { try emoji() }
        if schema.has("Channels") && schema.has("ChannelMembers") && schema.has("Users") {
            let skipped = try directChannels()
            if schema.has("Posts") { try posts(direct: true, flags: flags, skippedChannels: skipped) }
        }
    }

    mutating func advance(_ rows: Int) throws {
        try ctx.checkCancelled()
        done += Int64(rows)
        ctx.progress(Int(min(99, done * 100 / max(total, 1))))
    }

    /// Each page of `sql`'s rows in `key` order, handed to `body` until a short page (keyset
    /// paging: `sql` ends in `AND <key> > ?` with no ORDER BY, so every page is an index range).
    mutating func eachPage<T>(_ sql: String, key: String, keyOf: (T) -> String, _ map: (any SQLRow) throws -> T,
                                      _ body: (inout BulkExport, [T]) throws -> Void) throws {
        var after = ""
        while true {
            let rows = try conn.all(sql + " ORDER BY \(key) LIMIT \(options.pageSize)", [.text(after)], map)
            try body(&self, rows)
            guard let last = rows.last, rows.count == options.pageSize else { return }
            after = keyOf(last)
        }
    }

    // MARK: teams and channels

    private mutating func teams() throws {
        let scheme = schema.has("Schemes") && schema.has("Teams", "SchemeId")
        let sql = """
            SELECT T.Id, T.Name, T.DisplayName, T.Type, \(schema.column("Teams", "T", "Description", or: "''")),
            \(schema.flag("Teams", "T", "AllowOpenInvite")), \(scheme ? "S.Name" : "NULL")
            FROM Teams T \(scheme ? "LEFT JOIN Schemes S ON S.Id = T.SchemeId" : "")
            WHERE COALESCE(T.DeleteAt, 0) = 0 AND T.Id > ?
            """
        try eachPage(sql, key: "T.Id", keyOf: { $0.id }, { r in
            (id: r.string(0) ?? "", name: r.string(1) ?? "", display: r.string(2) ?? "", type: r.string(3) ?? "",
             description: r.string(4) ?? "", open: r.int64(5) != 0, scheme: r.string(6))
        }) { me, rows in
            for t in rows {
                try me.sink.line("team") { o in
                    o.field("name", t.name)
                    o.field("display_name", t.display)
                    o.field("type", t.type)
                    o.field("description", t.description)
                    o.field("allow_open_invite", t.open)
                    if let s = t.scheme { o.field("scheme", s) }
                }
            }
            me.counts.teams += rows.count
        }
    }

    var archivedFilter: String { options.includeArchivedChannels ? "" : " AND COALESCE(C.DeleteAt, 0) = 0" }

    private mutating func channels() throws {
        let scheme = schema.has("Schemes") && schema.has("Channels", "SchemeId")
        let sql = """
            SELECT C.Id, T.Name, C.Name, C.DisplayName, C.Type, \(schema.column("Channels", "C", "Header", or: "''")),
            \(schema.column("Channels", "C", "Purpose", or: "''")), \(scheme ? "S.Name" : "NULL"), COALESCE(C.DeleteAt, 0)
            FROM Channels C JOIN Teams T ON T.Id = C.TeamId \(scheme ? "LEFT JOIN Schemes S ON S.Id = C.SchemeId" : "")
            WHERE C.Type IN ('O', 'P') AND COALESCE(T.DeleteAt, 0) = 0\(archivedFilter) AND C.Id > ?
            """
        try eachPage(sql, key: "C.Id", keyOf: { $0.id }, { r in
            (id: r.string(0) ?? "", team: r.string(1) ?? "", name: r.string(2) ?? "", display: r.string(3) ?? "",
                 type: r.string(4) ?? "", header: r.string(5) ?? "", purpose: r.string(6) ?? "", scheme: r.string(7), deleteAt: r.int64(8))
        }) { me, rows in
            for c in rows {
                try me.sink.line("channel") { o in
                    o.field("team", c.team)
                    o.field("name", c.name)
                    o.field("display_name", c.display)
                    o.field("type", c.type)
                    o.field("header", c.header)
                    o.field("purpose", c.purpose)
                    if let s = c.scheme { o.field("scheme", s) }
                    o.field("deleted_at", c.deleteAt)
                }
            }
            me.counts.channels += rows.count
            try me.advance(rows.count)
        }
    }

    // MARK: users and bots

    private mutating func users() throws {
        let u = "Users"
        let notBot = schema.has("Bots") ? " AND NOT EXISTS (SELECT 1 FROM Bots B WHERE B.UserId = U.Id)" : ""
        let sql = """
            SELECT U.Id, U.Username, \(schema.column(u, "U", "Email", or: "''")), \(schema.column(u, "U", "AuthService", or: "''")),
            \(schema.column(u, "U", "AuthData", or: "NULL")), \(schema.column(u, "U", "Nickname", or: "''")),
            \(schema.column(u, "U", "FirstName", or: "''")), \(schema.column(u, "U", "LastName", or: "''")),
            \(schema.column(u, "U", "Position", or: "''")), \(schema.column(u, "U", "Roles", or: "''")),
            \(schema.column(u, "U", "Locale", or: "''")), COALESCE(\(schema.column(u, "U", "DeleteAt", or: "0")), 0),
            \(schema.column(u, "U", "NotifyProps", or: "NULL"))
            FROM Users U WHERE U.Id > ?\(notBot)
            """
        try eachPage(sql, key: "U.Id", keyOf: { $0.id }, { r in
                ExportUser(id: r.string(0) ?? "", username: r.string(1) ?? "", email: r.string(2) ?? "", authService: r.string(3) ?? "",
                           authData: r.string(4), nickname: r.string(5) ?? "", firstName: r.string(6) ?? "", lastName: r.string(7) ?? "",
                           position: r.string(8) ?? "", roles: r.string(9) ?? "", locale: r.string(10) ?? "", deleteAt: r.int64(11),
                           notifyProps: ExportStrings.map(r.string(12)))
        }) { me, rows in
            let ids = rows.map(\.id)
            let prefs = try me.preferences(of: ids)
            let teams = try me.teamMemberships(of: ids)
            let channels = try me.channelMemberships(of: ids)
            for user in rows {
                let line = ExportLines.user(user, preferences: prefs[user.id] ?? [:], teams: teams[user.id] ?? [], channels: channels[user.id] ?? [:])
                try me.sink.append(line)
            }
            me.counts.users += rows.count
            try me.advance(rows.count)
        }
    }

    /// The preferences the user line carries, by user, then by `category/name`.
    private func preferences(of users: [String]) throws -> [String: [String: String]] {
        guard schema.has("Preferences"), !users.isEmpty else { return [:] }
        var out: [String: [String: String]] = [:]
        try IDChunks.query(conn, """
            SELECT UserId, Category, Name, Value FROM Preferences WHERE UserId IN (%@) AND Category IN
            ('theme', 'display_settings', 'advanced_settings', 'sidebar_settings', 'tutorial_step', 'notifications', 'favorite_channel')
            """, users) { r in
            let category = r.string(1) ?? "", name = r.string(2) ?? ""
            // Any tutorial step counts (Mattermost keys it by the user id).
            let key = category == "tutorial_step" ? "tutorial_step/" : category + "/" + name
            out[r.string(0) ?? "", default: [:]][key] = r.string(3) ?? ""
        }
        return out
    }

    private func teamMemberships(of users: [String]) throws -> [String: [ExportTeamMember]] {
        guard schema.has("TeamMembers"), schema.has("Teams"), !users.isEmpty else { return [:] }
        let tm = "TeamMembers"
        var out: [String: [ExportTeamMember]] = [:]
        try IDChunks.query(conn, """
            SELECT TM.UserId, T.Id, T.Name, \(schema.column(tm, "TM", "Roles", or: "''")), \(schema.flag(tm, "TM", "SchemeAdmin")),
            \(schema.flag(tm, "TM", "SchemeUser")), \(schema.flag(tm, "TM", "SchemeGuest"))
            FROM TeamMembers TM JOIN Teams T ON T.Id = TM.TeamId
            WHERE TM.UserId IN (%@) AND COALESCE(T.DeleteAt, 0) = 0 AND COALESCE(\(schema.column(tm, "TM", "DeleteAt", or: "0")), 0) = 0
            ORDER BY TM.UserId, T.Name
            """, users) { r in
            out[r.string(0) ?? "", default: []].append(ExportTeamMember(
                teamId: r.string(1) ?? "", team: r.string(2) ?? "",
                roles: ExportLines.roles(r.string(3) ?? "", admin: r.int64(4) != 0, user: r.int64(5) != 0, guest: r.int64(6) != 0, scope: "team")))
        }
        return out
    }

    /// Channel memberships by user, then by team id.
    private func channelMemberships(of users: [String]) throws -> [String: [String: [ExportChannelMember]]] {
        guard schema.has("ChannelMembers"), schema.has("Channels"), !users.isEmpty else { return [:] }
        let cm = "ChannelMembers"
        var out: [String: [String: [ExportChannelMember]]] = [:]
        try IDChunks.query(conn, """
            SELECT CM.UserId, C.TeamId, C.Id, C.Name, \(schema.column(cm, "CM", "Roles", or: "''")), \(schema.flag(cm, "CM", "SchemeAdmin")),
            \(schema.flag(cm, "CM", "SchemeUser")), \(schema.flag(cm, "CM", "SchemeGuest")), \(schema.column(cm, "CM", "NotifyProps", or: "NULL")),
            \(counters(cm, "CM"))
            FROM ChannelMembers CM JOIN Channels C ON C.Id = CM.ChannelId
            WHERE CM.UserId IN (%@) AND C.Type IN ('O', 'P')\(archivedFilter)
            ORDER BY CM.UserId, C.Name
            """, users) { r in
            let member = ExportChannelMember(
                channelId: r.string(2) ?? "", name: r.string(3) ?? "",
                roles: ExportLines.roles(r.string(4) ?? "", admin: r.int64(5) != 0, user: r.int64(6) != 0, guest: r.int64(7) != 0, scope: "channel"),
                schemeAdmin: r.int64(5) != 0, schemeUser: r.int64(6) != 0, schemeGuest: r.int64(7) != 0,
                notifyProps: ExportStrings.map(r.string(8)), counters: ExportCounters(r, from: 9))
            out[r.string(0) ?? "", default: [:]][r.string(1) ?? "", default: []].append(member)
        }
        return out
    }

    /// MentionCount, MentionCountRoot, UrgentMentionCount, MsgCount, MsgCountRoot, LastViewedAt.
    func counters(_ table: String, _ alias: String) -> String {
        ["MentionCount", "MentionCountRoot", "UrgentMentionCount", "MsgCount", "MsgCountRoot", "LastViewedAt"]
            .map { "COALESCE(\(schema.column(table, alias, $0, or: "0")), 0)" }.joined(separator: ", ")
    }

    private mutating func bots() throws {
        let sql = """
            SELECT B.UserId, U.Username, COALESCE(O.Username, B.OwnerId, ''), COALESCE(U.FirstName, ''),
            COALESCE(\(schema.column("Bots", "B", "Description", or: "''")), ''), COALESCE(\(schema.column("Bots", "B", "DeleteAt", or: "0")), 0)
            FROM Bots B JOIN Users U ON U.Id = B.UserId LEFT JOIN Users O ON O.Id = B.OwnerId WHERE B.UserId > ?
            """
        try eachPage(sql, key: "B.UserId", keyOf: { $0.id }, { r in
            (id: r.string(0) ?? "", username: r.string(1) ?? "", owner: r.string(2) ?? "", display: r.string(3) ?? "",
                 description: r.string(4) ?? "", deleteAt: r.int64(5))
        }) { me, rows in
            for b in rows {
                try me.sink.line("bot") { o in
                    o.field("username", b.username)
                    o.field("owner", b.owner)
                    o.field("display_name", b.display)
                    o.field("description", b.description)
                    o.field("delete_at", b.deleteAt)
                }
            }
            me.counts.bots += rows.count
        }
    }

    // MARK: emoji

    private mutating func emoji() throws {
        let sql = "SELECT E.Name, E.Id FROM Emoji E WHERE COALESCE(E.DeleteAt, 0) = 0 AND E.Name > ?"
        try eachPage(sql, key: "E.Name", keyOf: { $0.name }, { r in (name: r.string(0) ?? "", id: r.string(1) ?? "") }) { me, rows in
            for e in rows {
                try me.sink.line("emoji") { o in
                    o.field("name", e.name)
                    o.field("image", "emoji/\(e.id)/image")
                }
            }
            me.counts.emoji += rows.count
        }
    }
}
