import FoundationEssentials
import StewardModel
import Store

struct ExportUser {
    var id, username, email, authService: String
    var authData: String?
    var nickname, firstName, lastName, position, roles, locale: String
    var deleteAt: Int64
    var notifyProps: [String: String]
}

struct ExportTeamMember {
    var teamId, team, roles: String
}

struct ExportChannelMember {
    var channelId, name, roles: String
    var schemeAdmin, schemeUser, schemeGuest: Bool
    var notifyProps: [String: String]
    var counters: ExportCounters
}

/// A membership's message counters, in the order the SQL selects them.
struct ExportCounters {
    var mentionCount, mentionCountRoot, urgentMentionCount, msgCount, msgCountRoot, lastViewedAt: Int64

    init(_ r: any SQLRow, from i: Int32) {
        mentionCount = r.int64(i)
        mentionCountRoot = r.int64(i + 1)
        urgentMentionCount = r.int64(i + 2)
        msgCount = r.int64(i + 3)
        msgCountRoot = r.int64(i + 4)
        lastViewedAt = r.int64(i + 5)
    }

    /// The fields with Mattermost's keys (`urgend_mention_count` is its spelling); `onlyNonZero`
    /// as for the participants of a direct channel.
    func write(_ o: inout JSONWriter.ObjectWriter, onlyNonZero: Bool) {
        for (key, value) in [("mention_count", mentionCount), ("mention_count_root", mentionCountRoot),
                             ("urgend_mention_count", urgentMentionCount), ("msg_count", msgCount),
                             ("msg_count_root", msgCountRoot), ("last_viewed_at", lastViewedAt)] where !onlyNonZero || value != 0 {
            o.field(key, value)
        }
    }
}

/// A JSON object of strings from the store (`NotifyProps`): empty when it is not one.
enum ExportStrings {
    static func map(_ text: String?) -> [String: String] {
        guard let text, !text.isEmpty, text != "{}" else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}

/// The lines of the export, field by field in the order of Mattermost's import types
/// (app/imports/import_types.go), which its `encoding/json` writes in declaration order.
enum ExportLines {
    /// A membership's roles as Mattermost's converters write them: the explicit roles, then the
    /// scheme roles the flags grant (`team_admin team_user`).
    static func roles(_ explicit: String, admin: Bool, user: Bool, guest: Bool, scope: String) -> String {
        var parts = explicit.split(separator: " ").map(String.init)
        if admin { parts.append(scope + "_admin") }
        if user { parts.append(scope + "_user") }
        if guest { parts.append(scope + "_guest") }
        return parts.joined(separator: " ")
    }

    static func line(_ type: String, _ body: (inout JSONWriter.ObjectWriter) -> Void) -> [UInt8] {
        var w = JSONWriter()
        w.object { o in
            o.field("type", type)
            o.object(type, body)
        }
        return w.bytes
    }

    /// Preference `category/name` → the user line's key, in the order the keys appear.
    static let leadingPreferences: [(String, String)] = [
        ("advanced_settings/feature_enabled_markdown_preview", "feature_enabled_markdown_preview"),
        ("advanced_settings/formatting", "formatting"),
        ("sidebar_settings/show_unread_section", "show_unread_section"),
    ]
    static let middlePreferences: [(String, String)] = [
        ("advanced_settings/send_on_ctrl_enter", "send_on_ctrl_enter"),
        ("advanced_settings/code_block_ctrl_enter", "code_block_ctrl_enter"),
        ("advanced_settings/join_leave", "show_join_leave"),
        ("advanced_settings/unread_scroll_position", "show_unread_scroll_position"),
        ("advanced_settings/sync_drafts", "sync_drafts"),
        ("sidebar_settings/limit_visible_dms_gms", "limit_visible_dms_gms"),
        ("display_settings/name_format", "name_format"),
    ]
    static let trailingPreferences: [(String, String)] = [
        ("theme/", "theme"),
        ("display_settings/use_military_time", "military_time"),
        ("display_settings/collapse_previews", "link_previews"),
        ("display_settings/message_display", "message_display"),
        ("display_settings/collapse_consecutive_messages", "collapse_consecutive_messages"),
        ("display_settings/colorize_usernames", "colorize_usernames"),
        ("display_settings/channel_display_mode", "channel_display_mode"),
        ("tutorial_step/", "tutorial_step"),
    ]

    /// `notifications/email_interval` is stored in seconds and exported by name.
    static func emailInterval(_ seconds: String?) -> String? {
        switch seconds {
        case "30": return "immediately"
        case "900": return "fifteen"
        case "3600": return "hour"
        default: return nil
        }
    }

    static func user(_ u: ExportUser, preferences: [String: String], teams: [ExportTeamMember],
                     channels: [String: [ExportChannelMember]]) -> [UInt8] {
        func prefs(_ list: [(String, String)], _ o: inout JSONWriter.ObjectWriter) {
            for (pref, key) in list { if let v = preferences[pref], !v.isEmpty { o.field(key, v) } }
        }
        return line("user") { o in
            o.field("username", u.username)
            o.field("email", u.email)
            // Mattermost writes null for no auth service: its importer refuses an empty string.
            o.nullable("auth_service", u.authService.isEmpty ? nil : u.authService)
            if let data = u.authData, !data.isEmpty { o.field("auth_data", data) }
            o.field("nickname", u.nickname)
            o.field("first_name", u.firstName)
            o.field("last_name", u.lastName)
            o.field("position", u.position)
            o.field("roles", u.roles)
            o.field("locale", u.locale)
            prefs(leadingPreferences, &o)
            o.field("delete_at", u.deleteAt)
            prefs(middlePreferences, &o)
            if teams.isEmpty {
                o.raw("teams", "null")
            } else {
                o.array("teams", teams) { w, t in
                    w.object { to in
                        to.field("name", t.team)
                        to.field("roles", t.roles)
                        if let theme = preferences["theme/" + t.teamId], !theme.isEmpty { to.field("theme", theme) }
                        to.array("channels", channels[t.teamId] ?? []) { w, c in
                            w.object { co in
                                co.field("name", c.name)
                                co.field("roles", c.roles)
                                co.object("notify_props") { n in
                                    n.nullable("desktop", c.notifyProps["desktop"])
                                    n.nullable("mobile", c.notifyProps["push"])
                                    n.nullable("mark_unread", c.notifyProps["mark_unread"])
                                }
                                co.field("favorite", preferences["favorite_channel/" + c.channelId] != nil)
                                c.counters.write(&co, onlyNonZero: false)
                            }
                        }
                    }
                }
            }
            prefs(trailingPreferences, &o)
            if let interval = emailInterval(preferences["notifications/email_interval"]) { o.field("email_interval", interval) }
            o.object("notify_props") { n in
                let p = u.notifyProps
                n.nullable("desktop", p["desktop"])
                n.nullable("desktop_sound", p["desktop_sound"])
                n.nullable("email", p["email"])
                n.nullable("mobile", p["push"])
                n.nullable("mobile_push_status", p["push_status"])
                n.nullable("channel", p["channel"])
                n.nullable("comments", p["comments"])
                n.nullable("mention_keys", p["mention_keys"])
            }
        }
    }

    private static func strings(_ o: inout JSONWriter.ObjectWriter, _ key: String, _ values: [String]) {
        o.array(key, values) { w, s in w.string(s) }
    }

    private static func reactions(_ o: inout JSONWriter.ObjectWriter, _ list: [(user: String, emoji: String, createAt: Int64)]) {
        o.array("reactions", list) { w, r in
            w.object { ro in
                ro.field("user", r.user)
                ro.field("create_at", r.createAt)
                ro.field("emoji_name", r.emoji)
            }
        }
    }

    private static func attachments(_ o: inout JSONWriter.ObjectWriter, _ paths: [String]) {
        o.array("attachments", paths) { w, path in w.object { a in a.field("path", path) } }
    }

    /// The fields every post kind starts with: type, message, props, create_at, edit_at.
    private static func body(_ o: inout JSONWriter.ObjectWriter, _ p: ExportPost) {
        o.field("type", p.type)
        o.field("message", p.message)
        o.raw("props", bytes: p.props)
        o.field("create_at", p.createAt)
        o.field("edit_at", p.editAt)
    }

    private static func replies(_ o: inout JSONWriter.ObjectWriter, _ replies: [ExportPost], _ children: PostChildren, _ flags: [String: [String]]) {
        if replies.isEmpty { return o.raw("replies", "null") }
        o.array("replies", replies) { w, r in
            w.object { ro in
                ro.field("user", r.user)
                body(&ro, r)
                strings(&ro, "flagged_by", flags[r.id] ?? [])
                if r.hasReactions { reactions(&ro, children.reactions[r.id] ?? []) }
                if r.hasFiles { attachments(&ro, children.files[r.id] ?? []) }
                ro.field("is_pinned", r.isPinned)
            }
        }
    }

    static func post(_ p: ExportPost, replies list: [ExportPost], children: PostChildren, flags: [String: [String]]) -> [UInt8] {
        line("post") { o in
            o.field("team", p.team)
            o.field("channel", p.channel)
            o.field("user", p.user)
            body(&o, p)
            strings(&o, "flagged_by", flags[p.id] ?? [])
            reactions(&o, p.hasReactions ? children.reactions[p.id] ?? [] : [])
            replies(&o, list, children, flags)
            if p.hasFiles { attachments(&o, children.files[p.id] ?? []) }
            o.field("is_pinned", p.isPinned)
        }
    }

    /// A direct post. Mattermost's exporter leaves a direct post's own reactions null; they are
    /// written here (its importer reads them), null only when the post has none.
    static func directPost(_ p: ExportPost, members: [String], replies list: [ExportPost], children: PostChildren,
                           flags: [String: [String]]) -> [UInt8] {
        line("direct_post") { o in
            strings(&o, "channel_members", members)
            o.field("user", p.user)
            body(&o, p)
            strings(&o, "flagged_by", flags[p.id] ?? [])
            if p.hasReactions, let list = children.reactions[p.id], !list.isEmpty { reactions(&o, list) } else { o.raw("reactions", "null") }
            replies(&o, list, children, flags)
            if p.hasFiles { attachments(&o, children.files[p.id] ?? []) } else { o.raw("attachments", "null") }
            o.field("is_pinned", p.isPinned)
        }
    }

    static func directChannel(participants: [ExportChannelMember], favoritedBy: [String], header: String) -> [UInt8] {
        line("direct_channel") { o in
            o.array("participants", participants) { w, m in
                w.object { po in
                    po.field("username", m.name)
                    po.object("notify_props") { n in
                        n.nullable("desktop", m.notifyProps["desktop"])
                        n.nullable("mobile", m.notifyProps["push"])
                        n.nullable("mark_unread", m.notifyProps["mark_unread"])
                        if let v = m.notifyProps["email"] { n.field("email", v) }
                        if let v = m.notifyProps["ignore_channel_mentions"] { n.field("ignore_channel_mentions", v) }
                        if let v = m.notifyProps["channel_auto_follow_threads"] { n.field("channel_auto_follow_threads", v) }
                    }
                    if m.schemeUser { po.field("scheme_user", true) }
                    if m.schemeAdmin { po.field("scheme_admin", true) }
                    if m.schemeGuest { po.field("scheme_guest", true) }
                    m.counters.write(&po, onlyNonZero: true)
                }
            }
            if !favoritedBy.isEmpty { strings(&o, "favorited_by", favoritedBy) }
            o.field("header", header)
        }
    }
}
