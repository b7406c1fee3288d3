import StewardModel
import Store

/// A post as the export reads it: a root post, a reply or a direct post.
struct ExportPost {
    var id: String
    var user: String
    var type: String
    var message: String
    var props: [UInt8]
    var createAt: Int64
    var editAt: Int64
    var isPinned: Bool
    var hasReactions: Bool
    var hasFiles: Bool
    /// Root posts: the team and channel names; direct posts: the channel id in `channel`.
    var team = ""
    var channel = ""
    var rootId = ""
}

/// What hangs off the posts of one page: their replies, reactions, attachment paths.
struct PostChildren {
    var replies: [String: [ExportPost]] = [:]
    var reactions: [String: [(user: String, emoji: String, createAt: Int64)]] = [:]
    var files: [String: [String]] = [:]
}

extension BulkExport {
    /// Post columns from index `from`: Id, user name, Type, Message, Props, CreateAt, EditAt,
    /// IsPinned, HasReactions, FileIds.
    private var postColumns: String {
        let p = "Posts"
        return """
            P.Id, U.Username, COALESCE(P.Type, ''), COALESCE(P.Message, ''), \(schema.column(p, "P", "Props", or: "NULL")),
            COALESCE(P.CreateAt, 0), COALESCE(\(schema.column(p, "P", "EditAt", or: "0")), 0), \(schema.flag(p, "P", "IsPinned")),
            \(schema.has(p, "HasReactions") ? schema.flag(p, "P", "HasReactions") : "1"), \(schema.column(p, "P", "FileIds", or: "NULL"))
            """
    }

    private mutating func post(_ r: any SQLRow, from i: Int32) -> ExportPost {
        let props: [UInt8]
        if let text = r.string(i + 4), !text.isEmpty {
            if let compact = CompactJSON.object(text) {
                props = compact
            } else {
                counts.invalidProps += 1
                props = Array("{}".utf8)
            }
        } else {
            props = Array("{}".utf8)
        }
        let fileIds = r.string(i + 9) ?? ""
        return ExportPost(id: r.string(i) ?? "", user: r.string(i + 1) ?? "", type: r.string(i + 2) ?? "", message: r.string(i + 3) ?? "",
                          props: props, createAt: r.int64(i + 5), editAt: r.int64(i + 6), isPinned: r.int64(i + 7) != 0,
                          hasReactions: r.int64(i + 8) != 0, hasFiles: !(fileIds.isEmpty || fileIds == "[]" || fileIds == "null"))
    }

    /// `post` lines (root posts of team channels) or `direct_post` lines, each with its thread.
    mutating func posts(direct: Bool, flags: [String: [String]], skippedChannels: Set<String> = []) throws {
        let sql: String
        if direct {
            sql = """
                SELECT \(postColumns), C.Id FROM Posts P JOIN Channels C ON C.Id = P.ChannelId JOIN Users U ON U.Id = P.UserId
                WHERE COALESCE(P.RootId, '') = '' AND COALESCE(P.DeleteAt, 0) = 0 AND C.Type IN ('D', 'G')\(archivedFilter) AND P.Id > ?
                """
        } else {
            sql = """
                SELECT \(postColumns), T.Name, C.Name FROM Posts P JOIN Channels C ON C.Id = P.ChannelId JOIN Teams T ON T.Id = C.TeamId
                JOIN Users U ON U.Id = P.UserId
                WHERE COALESCE(P.RootId, '') = '' AND COALESCE(P.DeleteAt, 0) = 0 AND C.Type IN ('O', 'P')
                AND COALESCE(T.DeleteAt, 0) = 0\(archivedFilter) AND P.Id > ?
                """
        }
        var after = ""
        while true {
            var roots: [ExportPost] = []
            try conn.query(sql + " ORDER BY P.Id LIMIT \(options.pageSize)", [.text(after)]) { r in
                var p = post(r, from: 0)
                if direct {
                    p.channel = r.string(10) ?? ""
                } else {
                    p.team = r.string(10) ?? ""
                    p.channel = r.string(11) ?? ""
                }
                roots.append(p)
            }
            guard let last = roots.last else { return }
            after = last.id
            let pageFull = roots.count == options.pageSize
            if direct { roots.removeAll { skippedChannels.contains($0.channel) } }
            let children = try children(of: roots)
            let members = direct ? try channelMemberNames(Array(Set(roots.map(\.channel)))) : [:]
            for root in roots {
                let replies = children.replies[root.id] ?? []
                let line = direct
                    ? ExportLines.directPost(root, members: members[root.channel] ?? [], replies: replies, children: children, flags: flags)
                    : ExportLines.post(root, replies: replies, children: children, flags: flags)
                try sink.append(line)
                counts.replies += replies.count
                counts.attachments += (children.files[root.id]?.count ?? 0) + replies.reduce(0) { $0 + (children.files[$1.id]?.count ?? 0) }
                counts.reactions += (children.reactions[root.id]?.count ?? 0) + replies.reduce(0) { $0 + (children.reactions[$1.id]?.count ?? 0) }
            }
            if direct { counts.directPosts += roots.count } else { counts.posts += roots.count }
            try advance(roots.count + roots.reduce(0) { $0 + (children.replies[$1.id]?.count ?? 0) })
            guard pageFull else { return }
        }
    }

    /// The replies of `roots` (by Id), and the reactions and files of the roots and the replies.
    private mutating func children(of roots: [ExportPost]) throws -> PostChildren {
        var out = PostChildren()
        guard !roots.isEmpty else { return out }
        var replies: [String: [ExportPost]] = [:]
        try IDChunks.query(conn, """
            SELECT \(postColumns), P.RootId FROM Posts P JOIN Users U ON U.Id = P.UserId
            WHERE P.RootId IN (%@) AND COALESCE(P.DeleteAt, 0) = 0 ORDER BY P.RootId, P.Id
            """, roots.map(\.id)) { r in
            var p = post(r, from: 0)
            p.rootId = r.string(10) ?? ""
            replies[p.rootId, default: []].append(p)
        }
        out.replies = replies
        let all = roots + replies.values.joined()
        let withReactions = all.filter(\.hasReactions).map(\.id)
        if schema.has("Reactions"), !withReactions.isEmpty {
            try IDChunks.query(conn, """
                SELECT X.PostId, U.Username, X.EmojiName, COALESCE(X.CreateAt, 0) FROM Reactions X JOIN Users U ON U.Id = X.UserId
                WHERE X.PostId IN (%@) AND COALESCE(\(schema.column("Reactions", "X", "DeleteAt", or: "0")), 0) = 0
                ORDER BY X.PostId, X.CreateAt
                """, withReactions) { r in
                out.reactions[r.string(0) ?? "", default: []].append((user: r.string(1) ?? "", emoji: r.string(2) ?? "", createAt: r.int64(3)))
            }
        }
        let withFiles = all.filter(\.hasFiles).map(\.id)
        if schema.has("FileInfo"), !withFiles.isEmpty {
            try IDChunks.query(conn, """
                SELECT F.PostId, COALESCE(F.Path, '') FROM FileInfo F
                WHERE F.PostId IN (%@) AND COALESCE(\(schema.column("FileInfo", "F", "DeleteAt", or: "0")), 0) = 0
                ORDER BY F.PostId, F.CreateAt
                """, withFiles) { r in
                out.files[r.string(0) ?? "", default: []].append(r.string(1) ?? "")
            }
        }
        return out
    }

    /// The user names of each channel's members, sorted (a channel of one lists it twice: a DM
    /// with oneself, as Mattermost writes it).
    private func channelMemberNames(_ channels: [String]) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        try IDChunks.query(conn, """
            SELECT CM.ChannelId, U.Username FROM ChannelMembers CM JOIN Users U ON U.Id = CM.UserId
            WHERE CM.ChannelId IN (%@) ORDER BY CM.ChannelId, U.Username
            """, channels) { r in
            out[r.string(0) ?? "", default: []].append(r.string(1) ?? "")
        }
        for (k, v) in out where v.count == 1 { out[k] = v + v }
        return out
    }

    /// Who flagged which post: post id → user names, read once (Mattermost's Preferences has no
    /// index by name, so reading them page by page would scan the table once per page).
    func flaggedPosts() throws -> [String: [String]] {
        guard schema.has("Preferences"), schema.has("Users") else { return [:] }
        var out: [String: [String]] = [:]
        try conn.query("""
            SELECT Pr.Name, U.Username FROM Preferences Pr JOIN Users U ON U.Id = Pr.UserId
            WHERE Pr.Category = 'flagged_post' ORDER BY Pr.Name, U.Username
            """, []) { r in
            out[r.string(0) ?? "", default: []].append(r.string(1) ?? "")
        }
        return out
    }

    // MARK: direct and group channels

    /// `direct_channel` lines; returns the channels skipped as Mattermost skips them (no members, or
    /// a direct channel between two users that has lost one of its two members), whose posts are
    /// then skipped too.
    mutating func directChannels() throws -> Set<String> {
        var skipped: Set<String> = []
        let favorites = try favoriteDirectChannels()
        let cm = "ChannelMembers"
        let sql = """
            SELECT C.Id, COALESCE(C.Name, ''), C.Type, \(schema.column("Channels", "C", "Header", or: "''"))
            FROM Channels C WHERE C.Type IN ('D', 'G') AND COALESCE(C.DeleteAt, 0) = 0 AND C.Id > ?
            """
        try eachPage(sql, key: "C.Id", keyOf: { $0.id }, { r in
            (id: r.string(0) ?? "", name: r.string(1) ?? "", type: r.string(2) ?? "", header: r.string(3) ?? "")
        }) { me, rows in
            var members: [String: [ExportChannelMember]] = [:]
            try IDChunks.query(me.conn, """
                SELECT CM.ChannelId, U.Username, \(me.schema.column(cm, "CM", "NotifyProps", or: "NULL")), \(me.schema.flag(cm, "CM", "SchemeAdmin")),
                \(me.schema.flag(cm, "CM", "SchemeUser")), \(me.schema.flag(cm, "CM", "SchemeGuest")), \(me.counters(cm, "CM"))
                FROM ChannelMembers CM JOIN Users U ON U.Id = CM.UserId WHERE CM.ChannelId IN (%@) ORDER BY CM.ChannelId, U.Username
                """, rows.map(\.id)) { r in
                members[r.string(0) ?? "", default: []].append(ExportChannelMember(
                    channelId: r.string(0) ?? "", name: r.string(1) ?? "", roles: "",
                    schemeAdmin: r.int64(3) != 0, schemeUser: r.int64(4) != 0, schemeGuest: r.int64(5) != 0,
                    notifyProps: ExportStrings.map(r.string(2)), counters: ExportCounters(r, from: 6)))
            }
            for c in rows {
                var list = members[c.id] ?? []
                if c.type == "D" {
                    let ends = c.name.split(separator: "_", omittingEmptySubsequences: true)
                    let twoUsers = ends.count == 2 && ends[0] != ends[1]
                    if twoUsers && list.count != 2 { list = [] }
                    if !twoUsers && list.count == 1 { list.append(list[0]) }
                }
                guard !list.isEmpty else {
                    skipped.insert(c.id)
                    continue
                }
                try me.sink.append(ExportLines.directChannel(participants: list, favoritedBy: favorites[c.id] ?? [], header: c.header))
                me.counts.directChannels += 1
            }
            me.counts.skippedDirectChannels = skipped.count
        }
        return skipped
    }

    /// Direct and group channels marked favourite: channel id → user names.
    private func favoriteDirectChannels() throws -> [String: [String]] {
        guard schema.has("Preferences") else { return [:] }
        var out: [String: [String]] = [:]
        try conn.query("""
            SELECT Pr.Name, U.Username FROM Preferences Pr JOIN Users U ON U.Id = Pr.UserId JOIN Channels C ON C.Id = Pr.Name
            WHERE Pr.Category = 'favorite_channel' AND Pr.Value = 'true' AND C.Type IN ('D', 'G') ORDER BY Pr.Name, U.Username
            """, []) { r in
            out[r.string(0) ?? "", default: []].append(r.string(1) ?? "")
        }
        return out
    }
}
