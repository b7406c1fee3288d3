import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `export_process` and `/api/v4/exports`, through the calls mmctl's export commands make
/// (`export create`, `list`, `download` with its resume, `delete`, `job list|show|cancel`).
@Suite("Bulk export end to end", .serialized)
struct ExportEndToEndTests {
    let dir = Paths.makeTempDir("export")

    /// A small Mattermost database in which every rule of the export has a row to apply to:
    /// a deleted team, an archived channel, a deleted reply, a reply whose root is deleted, a post
    /// by a user who does not exist, a direct channel that lost a member, deleted reactions, files
    /// and emoji, props written with whitespace.
    func seedHandMade() throws {
        let r = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.executescript('''
            CREATE TABLE Teams (Id TEXT PRIMARY KEY, Name TEXT, DisplayName TEXT, Type TEXT, Description TEXT, AllowOpenInvite BOOLEAN, SchemeId TEXT, DeleteAt BIGINT);
            CREATE TABLE Schemes (Id TEXT PRIMARY KEY, Name TEXT);
            CREATE TABLE Channels (Id TEXT PRIMARY KEY, TeamId TEXT, Type TEXT, Name TEXT, DisplayName TEXT, Header TEXT, Purpose TEXT, SchemeId TEXT, DeleteAt BIGINT);
            CREATE TABLE Users (Id TEXT PRIMARY KEY, Username TEXT, Email TEXT, AuthService TEXT, AuthData TEXT, Nickname TEXT, FirstName TEXT,
              LastName TEXT, Position TEXT, Roles TEXT, Locale TEXT, DeleteAt BIGINT, NotifyProps TEXT);
            CREATE TABLE TeamMembers (TeamId TEXT, UserId TEXT, Roles TEXT, DeleteAt BIGINT, SchemeUser BOOLEAN, SchemeAdmin BOOLEAN, SchemeGuest BOOLEAN, PRIMARY KEY (TeamId, UserId));
            CREATE TABLE ChannelMembers (ChannelId TEXT, UserId TEXT, Roles TEXT, NotifyProps TEXT, MsgCount BIGINT, MentionCount BIGINT, LastViewedAt BIGINT,
              SchemeUser BOOLEAN, SchemeAdmin BOOLEAN, SchemeGuest BOOLEAN, PRIMARY KEY (ChannelId, UserId));
            CREATE TABLE Posts (Id TEXT PRIMARY KEY, CreateAt BIGINT, EditAt BIGINT, DeleteAt BIGINT, IsPinned BOOLEAN, UserId TEXT, ChannelId TEXT, RootId TEXT,
              Message TEXT, Type TEXT, Props TEXT, FileIds TEXT, HasReactions BOOLEAN);
            CREATE TABLE Reactions (UserId TEXT, PostId TEXT, EmojiName TEXT, CreateAt BIGINT, DeleteAt BIGINT, PRIMARY KEY (PostId, UserId, EmojiName));
            CREATE TABLE FileInfo (Id TEXT PRIMARY KEY, PostId TEXT, CreateAt BIGINT, DeleteAt BIGINT, Path TEXT);
            CREATE TABLE Preferences (UserId TEXT, Category TEXT, Name TEXT, Value TEXT, PRIMARY KEY (UserId, Category, Name));
            CREATE TABLE Emoji (Id TEXT PRIMARY KEY, Name TEXT, DeleteAt BIGINT);
            INSERT INTO Schemes VALUES ('s1', 'strict');
            INSERT INTO Teams VALUES ('t1', 'alpha', 'Alpha', 'O', 'Team A', 1, 's1', 0), ('t2', 'gone', 'Gone', 'I', '', 0, NULL, 5);
            INSERT INTO Channels VALUES ('c1', 't1', 'O', 'town-square', 'Town Square', 'hdr', 'purp', NULL, 0),
              ('c2', 't1', 'P', 'secret', 'Secret', '', '', NULL, 0), ('c3', 't1', 'O', 'old', 'Old', '', '', NULL, 7),
              ('c4', 't2', 'O', 'x', 'X', '', '', NULL, 0),
              ('d1', '', 'D', 'u1__u2', '', 'dm header', '', NULL, 0), ('d2', '', 'D', 'u1__u3', '', '', '', NULL, 0),
              ('g1', '', 'G', 'hash', '', '', '', NULL, 0);
            INSERT INTO Users VALUES ('u1', 'alice', 'alice@example.com', '', NULL, 'al', 'Alice', 'A', 'boss', 'system_admin system_user', 'en', 0,
              '{"desktop":"all","push":"mention","email":"true","channel":"true","comments":"never","mention_keys":"alice"}'),
              ('u2', 'bob', 'bob@example.com', 'gitlab', 'bob-gl', '', 'Bob', 'B', '', 'system_user', 'de', 9, '{}'),
              ('u3', 'carol', 'carol@example.com', '', NULL, '', '', '', '', 'system_user', 'fr', 0, NULL);
            INSERT INTO TeamMembers VALUES ('t1', 'u1', '', 0, 1, 1, 0), ('t1', 'u2', '', 0, 1, 0, 0), ('t2', 'u3', '', 0, 1, 0, 0), ('t1', 'u3', '', 4, 1, 0, 0);
            INSERT INTO ChannelMembers VALUES ('c1', 'u1', '', '{"desktop":"default","push":"all","mark_unread":"all"}', 4, 1, 100, 1, 0, 0),
              ('c2', 'u1', '', '{}', 0, 0, 0, 1, 1, 0), ('c3', 'u1', '', '{}', 0, 0, 0, 1, 0, 0), ('c1', 'u2', '', '{}', 0, 0, 0, 1, 0, 0),
              ('d1', 'u1', '', '{}', 2, 0, 50, 1, 0, 0), ('d1', 'u2', '', '{}', 0, 0, 0, 1, 0, 0), ('d2', 'u1', '', '{}', 0, 0, 0, 1, 0, 0),
              ('g1', 'u1', '', '{}', 0, 0, 0, 1, 0, 0), ('g1', 'u2', '', '{}', 0, 0, 0, 1, 0, 0), ('g1', 'u3', '', '{}', 0, 0, 0, 1, 0, 0);
            INSERT INTO Posts VALUES
              ('p1', 1000, 0, 0, 1, 'u1', 'c1', '', 'hello <world> & "friends"' || char(10) || 'line2', '', '{ "a" : [1, 2],' || char(10) || ' "b": "x y" }', '["f1"]', 1),
              ('r1', 1100, 1200, 0, 0, 'u2', 'c1', 'p1', 'a reply', '', '{}', '[]', 1),
              ('r2', 1150, 0, 99, 0, 'u2', 'c1', 'p1', 'a deleted reply', '', '{}', '[]', 0),
              ('p2', 2000, 0, 0, 0, 'u1', 'c3', '', 'in an archived channel', '', '{}', '[]', 0),
              ('p3', 3000, 0, 0, 0, 'u1', 'c4', '', 'in a deleted team', '', '{}', '[]', 0),
              ('p4', 4000, 0, 9, 0, 'u1', 'c1', '', 'deleted root', '', '{}', '[]', 0),
              ('r3', 4100, 0, 0, 0, 'u1', 'c1', 'p4', 'reply to a deleted root', '', '{}', '[]', 0),
              ('p5', 5000, 0, 0, 0, 'nobody', 'c1', '', 'by a user who does not exist', '', '{}', '[]', 0),
              ('p6', 6000, 0, 0, 0, 'u2', 'c2', '', 'bad props', 'system_join_channel', '{"unterminated', '', 0),
              ('dp1', 7000, 0, 0, 0, 'u1', 'd1', '', 'direct', '', '{}', '[]', 1),
              ('dp2', 7100, 0, 0, 0, 'u1', 'd2', '', 'in a broken direct channel', '', '{}', '[]', 0),
              ('gp1', 8000, 0, 0, 0, 'u3', 'g1', '', 'group', '', '{}', '[]', 0),
              ('gr1', 8100, 0, 0, 0, 'u1', 'g1', 'gp1', 'group reply', '', '{}', '[]', 0);
            INSERT INTO Reactions VALUES ('u2', 'p1', 'smile', 10, 0), ('u3', 'p1', 'tada', 5, 0), ('u1', 'p1', 'gone', 7, 3), ('u1', 'r1', '+1', 20, 0),
              ('u2', 'dp1', 'heart', 30, 0);
            INSERT INTO FileInfo VALUES ('f1', 'p1', 1, 0, '20240101/teams/t1/channels/c1/users/u1/f1/a.png'), ('f2', 'p1', 2, 8, 'deleted.png');
            INSERT INTO Preferences VALUES ('u2', 'flagged_post', 'p1', 'true'), ('u1', 'favorite_channel', 'c1', 'true'),
              ('u1', 'theme', '', '{"sidebarBg":"#fff"}'), ('u1', 'display_settings', 'use_military_time', 'true'),
              ('u1', 'notifications', 'email_interval', '900'), ('u2', 'favorite_channel', 'd1', 'true');
            INSERT INTO Emoji VALUES ('e1', 'party', 0), ('e2', 'old', 6);
            ''')
            c.commit()
            """, dir + "/steward.db"])
        guard r.status == 0 else { throw HTTPTestError(description: r.stderr) }
    }

    /// mmctl's `export create`: `POST /jobs` with a whole Job (empty fields included).
    func create(_ d: DaemonProcess, data: String = #"{"include_attachments":"true"}"#) throws -> Job {
        let body = #"{"id":"","type":"export_process","priority":0,"create_at":0,"start_at":0,"last_activity_at":0,"status":"","progress":0,"data":\#(data)}"#
        let r = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: body)
        #expect(r.status == 201, "\(r.text)")
        return try JSONDecoder().decode(Job.self, from: Data(r.body))
    }

    func finished(_ d: DaemonProcess, _ job: Job) throws -> Job {
        var last = job
        _ = try eventually(timeout: 60) {
            last = try JSONDecoder().decode(Job.self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)").body))
            return last.status.isFinished
        }
        return last
    }

    /// The lines of `import.jsonl` in the zip `bytes`, as JSON objects, through Python's zipfile (an
    /// independent reader of the archive).
    func lines(ofZip bytes: [UInt8]) throws -> [String] {
        let path = dir + "/read-\(UUID().uuidString).zip"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            assert z.namelist() == ['import.jsonl'], z.namelist()
            sys.stdout.write(z.read('import.jsonl').decode('utf-8'))
            """, path])
        guard r.status == 0 else { throw HTTPTestError(description: r.stderr) }
        #expect(r.stdout.hasSuffix("\n"))
        return r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    func object(_ line: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
    }

    @Test func handMadeDatabaseExportsWhatMattermostWould() throws {
        try seedHandMade()
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let job = try finished(d, try create(d))
        #expect(job.status == .success, "\(job.data)")
        let name = "\(job.id)_export.zip"
        #expect(job.data["export_file"] == name)
        // Downloaded under /exports, as Mattermost's; the jobs route serves message_export and Steward's types.
        #expect(job.data["is_downloadable"] == nil)
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)/download").status == 400)
        #expect(job.data["posts_exported"] == "2" && job.data["replies_exported"] == "2" && job.data["direct_posts_exported"] == "2")
        #expect(job.data["skipped_direct_channels"] == "1" && job.data["invalid_props"] == "1" && job.data["attachments_listed"] == "1")

        let list = try UnixHTTP.get(d.socket, "/api/v4/exports")
        #expect(list.status == 200 && list.text == #"["\#(name)"]"#)
        let download = try UnixHTTP.get(d.socket, "/api/v4/exports/\(name)")
        #expect(download.status == 200 && download.headers["content-type"] == "application/zip" && download.headers["accept-ranges"] == "bytes")
        let lines = try lines(ofZip: download.body)
        let types = try lines.map { try object($0)["type"] as! String }
        #expect(types == ["version", "team", "channel", "channel", "user", "user", "user", "post", "post", "emoji",
                          "direct_channel", "direct_channel", "direct_post", "direct_post"])
        let version = try object(lines[0])
        #expect(version["version"] as? Int == 1 && (version["info"] as? [String: Any])?["generator"] as? String == "steward")
        // Field order and escapes are Go's encoding/json of Mattermost's import types.
        #expect(lines[1] == #"{"type":"team","team":{"name":"alpha","display_name":"Alpha","type":"O","description":"Team A","allow_open_invite":true,"scheme":"strict"}}"#)
        #expect(lines[2] == #"{"type":"channel","channel":{"team":"alpha","name":"town-square","display_name":"Town Square","type":"O","header":"hdr","purpose":"purp","deleted_at":0}}"#)
        #expect(lines[7] == """
            {"type":"post","post":{"team":"alpha","channel":"town-square","user":"alice","type":"","message":"hello \\u003cworld\\u003e \\u0026 \\"friends\\"\\nline2",\
            "props":{"a":[1,2],"b":"x y"},"create_at":1000,"edit_at":0,"flagged_by":["bob"],\
            "reactions":[{"user":"carol","create_at":5,"emoji_name":"tada"},{"user":"bob","create_at":10,"emoji_name":"smile"}],\
            "replies":[{"user":"bob","type":"","message":"a reply","props":{},"create_at":1100,"edit_at":1200,"flagged_by":[],\
            "reactions":[{"user":"alice","create_at":20,"emoji_name":"+1"}],"is_pinned":false}],\
            "attachments":[{"path":"20240101/teams/t1/channels/c1/users/u1/f1/a.png"}],"is_pinned":true}}
            """)
        // Props that are not JSON become {}, so the line still parses.
        let bad = try object(lines[8])["post"] as! [String: Any]
        #expect(bad["message"] as? String == "bad props" && (bad["props"] as? [String: Any])?.isEmpty == true)
        let alice = try object(lines[4])["user"] as! [String: Any]
        #expect(alice["username"] as? String == "alice" && alice["auth_service"] is NSNull && alice["military_time"] as? String == "true")
        #expect(alice["email_interval"] as? String == "fifteen" && alice["theme"] as? String == ##"{"sidebarBg":"#fff"}"##)
        let teams = alice["teams"] as! [[String: Any]]
        #expect(teams.count == 1 && teams[0]["name"] as? String == "alpha" && teams[0]["roles"] as? String == "team_admin team_user")
        let channels = teams[0]["channels"] as! [[String: Any]]
        #expect(channels.map { $0["name"] as! String } == ["secret", "town-square"], "the archived channel is left out")
        #expect(channels[1]["favorite"] as? Bool == true && channels[1]["msg_count"] as? Int == 4)
        #expect((channels[1]["notify_props"] as? [String: Any])?["mobile"] as? String == "all")
        #expect((alice["notify_props"] as? [String: Any])?["mention_keys"] as? String == "alice")
        let bob = try object(lines[5])["user"] as! [String: Any]
        #expect(bob["auth_service"] as? String == "gitlab" && bob["auth_data"] as? String == "bob-gl" && bob["delete_at"] as? Int == 9)
        let carol = try object(lines[6])["user"] as! [String: Any]
        #expect(carol["teams"] is NSNull, "carol's only team is deleted and her other membership is")
        #expect(lines[9] == #"{"type":"emoji","emoji":{"name":"party","image":"emoji/e1/image"}}"#)
        let dm = try object(lines[10])["direct_channel"] as! [String: Any]
        #expect((dm["participants"] as! [[String: Any]]).map { $0["username"] as! String } == ["alice", "bob"])
        #expect(dm["favorited_by"] as? [String] == ["bob"] && dm["header"] as? String == "dm header")
        let group = try object(lines[11])["direct_channel"] as! [String: Any]
        #expect((group["participants"] as! [[String: Any]]).count == 3)
        let direct = try object(lines[12])["direct_post"] as! [String: Any]
        #expect(direct["channel_members"] as? [String] == ["alice", "bob"] && direct["message"] as? String == "direct")
        #expect((direct["reactions"] as? [[String: Any]])?.first?["emoji_name"] as? String == "heart")
        let groupPost = try object(lines[13])["direct_post"] as! [String: Any]
        #expect(groupPost["channel_members"] as? [String] == ["alice", "bob", "carol"])
        #expect((groupPost["replies"] as? [[String: Any]])?.map { $0["message"] as! String } == ["group reply"])

        // Archived channels on request.
        let archived = try finished(d, try create(d, data: #"{"include_archived_channels":"true"}"#))
        #expect(archived.status == .success && archived.data["channels_exported"] == "3" && archived.data["posts_exported"] == "3")
    }

    @Test func downloadResumesWithRangeAndDeleteRemovesTheFile() throws {
        try seedHandMade()
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let job = try finished(d, try create(d))
        let name = "\(job.id)_export.zip"
        let whole = try UnixHTTP.get(d.socket, "/api/v4/exports/\(name)").body
        #expect(whole.count > 1000)
        // mmctl's resume: what it has, then `Range: bytes=<size>-`.
        let cut = whole.count / 3
        let first = try UnixHTTP.request(d.socket, "GET", "/api/v4/exports/\(name)", headers: ["Range": "bytes=0-\(cut - 1)"])
        #expect(first.status == 206 && first.body.count == cut && first.headers["content-range"] == "bytes 0-\(cut - 1)/\(whole.count)")
        let rest = try UnixHTTP.request(d.socket, "GET", "/api/v4/exports/\(name)", headers: ["Range": "bytes=\(cut)-"])
        #expect(rest.status == 206 && rest.headers["content-range"] == "bytes \(cut)-\(whole.count - 1)/\(whole.count)")
        #expect(first.body + rest.body == whole)
        let suffix = try UnixHTTP.request(d.socket, "GET", "/api/v4/exports/\(name)", headers: ["Range": "bytes=-10"])
        #expect(suffix.status == 206 && suffix.body == Array(whole.suffix(10)))
        let past = try UnixHTTP.request(d.socket, "GET", "/api/v4/exports/\(name)", headers: ["Range": "bytes=\(whole.count)-"])
        #expect(past.status == 416 && past.headers["content-range"] == "bytes */\(whole.count)")
        #expect(past.json()["id"] as? String == "api.file.range_not_satisfiable.app_error")
        // Several ranges: the whole file, as Go's ServeContent would not split it here either.
        let several = try UnixHTTP.request(d.socket, "GET", "/api/v4/exports/\(name)", headers: ["Range": "bytes=0-1,5-9"])
        #expect(several.status == 200 && several.body == whole)
        // Deleting: the file goes, the job stays.
        let del = try UnixHTTP.delete(d.socket, "/api/v4/exports/\(name)")
        #expect(del.status == 200 && del.text == #"{"status":"OK"}"#)
        #expect(try UnixHTTP.get(d.socket, "/api/v4/exports").text == "[]")
        let gone = try UnixHTTP.get(d.socket, "/api/v4/exports/\(name)")
        #expect(gone.status == 404 && gone.json()["id"] as? String == "api.export.export_not_found.app_error")
        #expect(try UnixHTTP.delete(d.socket, "/api/v4/exports/\(name)").status == 404, "a typo is not a deletion")
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)").status == 200)
    }

    @Test func exportNamesAreConfinedToTheExportsDirectory() throws {
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        #expect(try UnixHTTP.get(d.socket, "/api/v4/exports").text == "[]", "no exports directory yet")
        let exports = dir + "/steward-jobs/export_process"
        try FileManager.default.createDirectory(atPath: exports, withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: URL(fileURLWithPath: dir + "/outside.zip"))
        try FileManager.default.createSymbolicLink(atPath: exports + "/link.zip", withDestinationPath: dir + "/outside.zip")
        try Data("partial".utf8).write(to: URL(fileURLWithPath: exports + "/.x_export.zip.partial"))
        try FileManager.default.createDirectory(atPath: exports + "/dir.zip", withIntermediateDirectories: true)
        try Data("zip".utf8).write(to: URL(fileURLWithPath: exports + "/a_export.zip"))
        #expect(try UnixHTTP.get(d.socket, "/api/v4/exports").text == #"["a_export.zip"]"#, "links, directories and staging files are not exports")
        #expect(try UnixHTTP.get(d.socket, "/api/v4/exports/link.zip").status == 404)
        #expect(try UnixHTTP.delete(d.socket, "/api/v4/exports/link.zip").status == 404)
        #expect(FileManager.default.fileExists(atPath: dir + "/outside.zip"))
        for bad in ["..%2Foutside.zip", ".x_export.zip.partial", "a%20b.zip", "a_export.txt", ".zip"] {
            let r = try UnixHTTP.get(d.socket, "/api/v4/exports/\(bad)")
            #expect(r.status == 400 && r.json()["id"] as? String == "api.context.invalid_url_param.app_error", "\(bad): \(r.status)")
        }
        #expect(try UnixHTTP.get(d.socket, "/api/v4/exports/../outside.zip").status == 404, "more segments: no route")
        #expect(try UnixHTTP.get(d.socket, "/api/v4/exports/a_export.zip").text == "zip")
    }

    @Test func mmctlJobCommandsWork() throws {
        try seedHandMade()
        var config = DaemonProcess.config(dataDir: dir)
        config.jobSettings.runJobs = false
        let d = try DaemonProcess(dataDir: dir, config: config)
        let job = try create(d, data: "{}")
        // export job list / show / cancel.
        let list = try UnixHTTP.get(d.socket, "/api/v4/jobs/type/export_process?page=0&per_page=200")
        #expect(list.status == 200 && list.text.contains(job.id))
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)").status == 200)
        let cancel = try UnixHTTP.post(d.socket, "/api/v4/jobs/\(job.id)/cancel")
        #expect(cancel.status == 200 && cancel.text == #"{"status":"OK"}"#)
        let canceled = try JSONDecoder().decode(Job.self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)").body))
        #expect(canceled.status == .canceled)
        // Newer mmctl sends more keys; all accepted, none other.
        let newer = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"export_process","data":{"include_attachments":"true","include_roles_and_schemes":"true","include_archived_channels":"true","include_profile_pictures":"true"}}"#)
        #expect(newer.status == 201)
        let unknown = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"export_process","data":{"export_dir":"/etc"}}"#)
        #expect(unknown.status == 400)
    }

    /// A Mattermost-shaped database from tools/mmdb/realistic.py (full column sets, orphans in every
    /// relation): every line is of a documented type and parses, and the counts are the tables'
    /// counted by Mattermost's rules in independent SQL.
    @Test func realisticDatabaseRoundTrips() throws {
        let db = dir + "/steward.db"
        let gen = try Command.run("/usr/bin/env", ["python3", Paths.packageRoot.path + "/tools/mmdb/realistic.py", db, "--posts", "6000", "--seed", "7"])
        guard gen.status == 0 else { throw HTTPTestError(description: gen.stderr) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let job = try finished(d, try create(d))
        #expect(job.status == .success, "\(job.data)")
        let lines = try lines(ofZip: try UnixHTTP.get(d.socket, "/api/v4/exports/\(job.id)_export.zip").body)
        let path = dir + "/lines.jsonl"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        let check = try Command.run("/usr/bin/env", ["python3", "-c", """
            import json, sqlite3, sys, collections
            c = sqlite3.connect(sys.argv[1])
            q = lambda s: c.execute(s).fetchone()[0]
            documented = {'version', 'team', 'channel', 'user', 'bot', 'post', 'emoji', 'direct_channel', 'direct_post'}
            got = collections.Counter(); replies = reactions = 0; order = []
            for line in open(sys.argv[2]):
                d = json.loads(line)
                t = d['type']
                assert t in documented, t
                assert t == 'version' or isinstance(d[t], dict), line[:200]
                if not order or order[-1] != t: order.append(t)
                got[t] += 1
                if t in ('post', 'direct_post'):
                    p = d[t]
                    rs = p['replies'] or []
                    replies += len(rs)
                    reactions += len(p.get('reactions') or []) + sum(len(r.get('reactions') or []) for r in rs)
            assert order == ['version', 'team', 'channel', 'user', 'post', 'emoji', 'direct_channel', 'direct_post'], order
            live_team = "SELECT Id FROM Teams WHERE DeleteAt = 0"
            want = {
              'team': q(live_team.replace('Id', 'count(*)', 1)),
              'channel': q(f"SELECT count(*) FROM Channels WHERE Type IN ('O','P') AND DeleteAt = 0 AND TeamId IN ({live_team})"),
              'user': q("SELECT count(*) FROM Users"),
              'post': q(f'''SELECT count(*) FROM Posts P WHERE RootId = '' AND DeleteAt = 0 AND UserId IN (SELECT Id FROM Users)
                 AND ChannelId IN (SELECT Id FROM Channels WHERE Type IN ('O','P') AND DeleteAt = 0 AND TeamId IN ({live_team}))'''),
              'emoji': q("SELECT count(*) FROM Emoji WHERE DeleteAt = 0"),
            }
            for k, v in want.items():
                assert got[k] == v, (k, got[k], v)
            # Direct posts: roots in live D/G channels that kept their members, by existing users.
            assert got['direct_post'] > 0 and got['direct_channel'] > 0
            assert replies > 0 and reactions > 0
            print(json.dumps({'lines': sum(got.values()), 'replies': replies}))
            """, db, path])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(job.data["users_exported"] == "\(lines.filter { $0.hasPrefix(#"{"type":"user""#) }.count)")
    }
}
