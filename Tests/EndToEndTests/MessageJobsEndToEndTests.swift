import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// data_retention and message_export on a store with Mattermost-like tables.
@Suite("Message jobs end to end", .serialized)
struct MessageJobsEndToEndTests {
    let dir = Paths.makeTempDir("msgjobs")
    static let day: Int64 = 86_400_000

    /// `old` posts 400 days old and `new` posts 10 days old, each with one reaction, one file row and
    /// one thread row; returns now (ms).
    @discardableResult
    func seed(old: Int, new: Int) throws -> Int64 {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let r = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            db, old, new, now, day = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), 86400000
            c = sqlite3.connect(db)
            c.executescript('''
              CREATE TABLE IF NOT EXISTS Posts (Id TEXT PRIMARY KEY, CreateAt INTEGER, UserId TEXT, ChannelId TEXT, RootId TEXT, Message TEXT);
              CREATE TABLE IF NOT EXISTS Reactions (UserId TEXT, PostId TEXT, EmojiName TEXT, PRIMARY KEY (PostId, UserId, EmojiName));
              CREATE TABLE IF NOT EXISTS FileInfo (Id TEXT PRIMARY KEY, PostId TEXT);
              CREATE TABLE IF NOT EXISTS Threads (PostId TEXT PRIMARY KEY);
              CREATE TABLE IF NOT EXISTS Channels (Id TEXT PRIMARY KEY, Name TEXT);
              CREATE TABLE IF NOT EXISTS Users (Id TEXT PRIMARY KEY, Username TEXT);
              INSERT OR IGNORE INTO Channels VALUES ('c1', 'town-square');
              INSERT OR IGNORE INTO Users VALUES ('u1', 'alice');''')
            rows = [(f'old{i}', now - 400 * day + i, 'u1', 'c1', '', f'old message {i}') for i in range(old)]
            rows += [(f'new{i}', now - 10 * day + i, 'u1', 'c1', '', f'new, "quoted" {i}') for i in range(new)]
            c.executemany('INSERT INTO Posts VALUES (?,?,?,?,?,?)', rows)
            c.executemany('INSERT INTO Reactions VALUES (?,?,?)', [('u1', r[0], 'smile') for r in rows])
            c.executemany('INSERT INTO FileInfo VALUES (?,?)', [('f' + r[0], r[0]) for r in rows])
            c.executemany('INSERT INTO Threads VALUES (?)', [(r[0],) for r in rows])
            c.commit()
            """, dir + "/steward.db", "\(old)", "\(new)", "\(now)"])
        guard r.status == 0 else { throw HTTPTestError(description: r.stderr) }
        return now
    }

    func counts() throws -> [String: Int] {
        let r = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys, json
            c = sqlite3.connect(sys.argv[1])
            q = lambda s: c.execute(s).fetchone()[0]
            print(json.dumps({
              'old': q("SELECT count(*) FROM Posts WHERE Id LIKE 'old%'"), 'new': q("SELECT count(*) FROM Posts WHERE Id LIKE 'new%'"),
              'orphan_reactions': q('SELECT count(*) FROM Reactions WHERE PostId NOT IN (SELECT Id FROM Posts)'),
              'posts_without_reaction': q('SELECT count(*) FROM Posts WHERE Id NOT IN (SELECT PostId FROM Reactions)'),
              'orphan_files': q('SELECT count(*) FROM FileInfo WHERE PostId NOT IN (SELECT Id FROM Posts)'),
              'orphan_threads': q('SELECT count(*) FROM Threads WHERE PostId NOT IN (SELECT Id FROM Posts)'),
              'quick_check': 1 if q('PRAGMA quick_check') == 'ok' else 0}))
            """, dir + "/steward.db"])
        return try JSONDecoder().decode([String: Int].self, from: Data(r.stdout.utf8))
    }

    func runJob(_ d: DaemonProcess, _ body: String) throws -> Job {
        let r = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: body)
        let job = try JSONDecoder().decode(Job.self, from: Data(r.body))
        var last = job
        _ = try eventually(timeout: 30) {
            last = try JSONDecoder().decode(Job.self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)").body))
            return last.status.isFinished
        }
        return last
    }

    @Test func retentionDeletesExactlyTheOldRows() throws {
        try seed(old: 700, new: 300)
        var config = DaemonProcess.config(dataDir: dir)
        config.dataRetentionSettings.batchSize = 100
        let d = try DaemonProcess(dataDir: dir, config: config)
        let job = try runJob(d, #"{"type":"data_retention"}"#)
        #expect(job.status == .success)
        #expect(job.data["posts_deleted"] == "700" && job.data["reactions_deleted"] == "700")
        #expect(job.data["file_infos_deleted"] == "700" && job.data["threads_deleted"] == "700")
        let c = try counts()
        #expect(c["old"] == 0 && c["new"] == 300)
        #expect(c["orphan_reactions"] == 0 && c["orphan_files"] == 0 && c["orphan_threads"] == 0 && c["posts_without_reaction"] == 0)
        let logs = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)/logs").text
        #expect(logs.contains("deleted 700 of 700 posts"))
    }

    @Test func killDuringRetentionNeverLeavesAPartialBatch() throws {
        try seed(old: 20_000, new: 100)
        var config = DaemonProcess.config(dataDir: dir)
        config.dataRetentionSettings.batchSize = 50
        var d: DaemonProcess? = try DaemonProcess(dataDir: dir, config: config)
        let r = try UnixHTTP.post(d!.socket, "/api/v4/jobs", body: #"{"type":"data_retention"}"#)
        let id = try JSONDecoder().decode(Job.self, from: Data(r.body)).id
        // Kill once some batches are done and many remain.
        _ = try eventually(timeout: 20) {
            let job = try JSONDecoder().decode(Job.self, from: Data(try UnixHTTP.get(d!.socket, "/api/v4/jobs/\(id)").body))
            return job.progress >= 5
        }
        kill(d!.process.processIdentifier, SIGKILL)
        d!.process.waitUntilExit()
        d = nil
        let c = try counts()
        #expect(c["quick_check"] == 1)
        #expect(c["old"]! > 0 && c["old"]! < 20_000, "killed midway: \(c)")
        #expect(c["old"]! % 50 == 0, "whole batches only: \(c["old"]!) old posts left")
        #expect(c["orphan_reactions"] == 0 && c["posts_without_reaction"] == 0 && c["orphan_files"] == 0 && c["orphan_threads"] == 0)
        #expect(c["new"] == 100)
        let restarted = try DaemonProcess(dataDir: dir)
        let after = try JSONDecoder().decode(Job.self, from: Data(try UnixHTTP.get(restarted.socket, "/api/v4/jobs/\(id)").body))
        #expect(after.status == .error && after.data["error"]?.contains("interrupted") == true)
        #expect(try runJob(restarted, #"{"type":"data_retention"}"#).status == .success)
        #expect(try counts()["old"] == 0)
    }

    @Test func exportContainsExactlyTheWindow() throws {
        let now = try seed(old: 5, new: 5)
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let start = now - 11 * Self.day, end = now - 10 * Self.day + 3  // new0, new1, new2
        let job = try runJob(d, #"{"type":"message_export","data":{"start_time":"\#(start)","end_time":"\#(end)"}}"#)
        #expect(job.status == .success && job.data["messages_exported"] == "3")
        let zip = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(job.id)/download")
        #expect(zip.headers["content-type"] == "application/zip")
        let name = "message_export-\(job.createAt)-\(job.id).zip"
        #expect(zip.headers["content-disposition"] == "attachment;filename=\"\(name)\"; filename*=UTF-8''\(name)")
        try Data(zip.body).write(to: URL(fileURLWithPath: dir + "/export.zip"))
        let csv = try Command.run("/usr/bin/env", ["python3", "-c",
            "import zipfile,sys,csv,io; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; rows=list(csv.reader(io.StringIO(z.read('messages.csv').decode()))); print([r[0] for r in rows[1:]], rows[1][3], rows[1][5], rows[1][6])",
            dir + "/export.zip"])
        #expect(csv.stdout == "['new0', 'new1', 'new2'] town-square alice new, \"quoted\" 0\n", "\(csv.stderr)")
        let missing = try runJob(d, #"{"type":"message_export"}"#)
        #expect(missing.status == .error && missing.data["error"]?.contains("start_time") == true)
        #expect(missing.progress == -1)
    }
}
