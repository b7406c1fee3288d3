import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A job's files belong to the domain: their names come from the job's type, creation time and id,
/// never from job data; download and delete touch exactly that file, through the directories'
/// descriptors with no link followed; a failed or cancelled job leaves nothing; the jobs directory
/// is 0700 and never the store's.
@Suite("Job artifacts", .serialized)
struct JobArtifactsEndToEndTests {
    let dir = Paths.makeTempDir("artifacts")
    var jobsDir: String { dir + "/steward-jobs" }

    func start(_ extra: (inout StewardConfig) -> Void = { _ in }) throws -> DaemonProcess {
        var config = DaemonProcess.config(dataDir: dir)
        extra(&config)
        return try DaemonProcess(dataDir: dir, config: config)
    }

    func run(_ d: DaemonProcess, _ body: String) throws -> Job {
        let r = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: body)
        guard r.status == 201 else { throw HTTPTestError(description: "\(r.status) \(r.text)") }
        let id = try JSONDecoder().decode(Job.self, from: Data(r.body)).id
        var last: Job?
        _ = try eventually(timeout: 30) {
            last = try JSONDecoder().decode(Job.self, from: Data(try UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)").body))
            return last!.status.isFinished
        }
        return try #require(last)
    }

    func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: jobsDir + "/" + sub)) ?? []).sorted()
    }

    func sqlite(_ sql: String) throws {
        let r = try Command.run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", dir + "/steward.db", sql])
        guard r.status == 0 else { throw HTTPTestError(description: r.stderr) }
    }

    /// Data an older version stored as sent (`file`, `is_downloadable` written by the creator) names
    /// nothing: the forged job downloads nothing, and deleting it leaves the backup it named.
    @Test func storedDataCannotNameAnotherJobsFile() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var d: DaemonProcess? = try start()
        let backup = try run(d!, #"{"type":"db_backup"}"#)
        #expect(backup.status == .success)
        let name = "db_backup-\(backup.createAt)-\(backup.id).db"
        #expect(files("db_backup") == [name])
        #expect(backup.data["file"] == "db_backup/" + name && backup.data["is_downloadable"] == "true")
        let optimize = try run(d!, #"{"type":"db_optimize"}"#)
        d!.stop()
        d = nil
        try sqlite("UPDATE Jobs SET Data = '{\"file\":\"db_backup/\(name)\",\"is_downloadable\":\"true\"}' WHERE Id = '\(optimize.id)'")
        d = try start()
        let forged = try UnixHTTP.get(d!.socket, "/api/v4/jobs/\(optimize.id)/download")
        #expect(forged.status == 400 && forged.json()["id"] as? String == "api.job.unable_to_download_job", "\(forged.status)")
        #expect(!forged.body.starts(with: Array("SQLite format 3".utf8)))
        #expect(try UnixHTTP.delete(d!.socket, "/api/v4/jobs/\(optimize.id)").status == 200)
        #expect(files("db_backup") == [name], "deleting the forged job left the backup")
        #expect(try UnixHTTP.get(d!.socket, "/api/v4/jobs/\(backup.id)/download").status == 200)
    }

    /// Delete removes exactly the job's file; download of a job whose file is gone is a 404; a
    /// pending job downloads nothing.
    @Test func deleteRemovesExactlyThatJobsFile() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try start()
        let first = try run(d, #"{"type":"integrity_check"}"#)
        let second = try run(d, #"{"type":"integrity_check"}"#)
        #expect(files("integrity_check").count == 2)
        #expect(try UnixHTTP.delete(d.socket, "/api/v4/jobs/\(first.id)").status == 200)
        #expect(files("integrity_check") == ["integrity_check-\(second.createAt)-\(second.id).json"])
        unlink(jobsDir + "/integrity_check/integrity_check-\(second.createAt)-\(second.id).json")
        let gone = try UnixHTTP.get(d.socket, "/api/v4/jobs/\(second.id)/download")
        #expect(gone.status == 404 && gone.json()["id"] as? String == "api.job.unable_to_download_job")
    }

    /// A backup cancelled midway leaves no partial file, and the job has no `file`.
    @Test func aCancelledBackupLeavesNothing() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try start()
        let fill = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE Filler (Id INTEGER PRIMARY KEY, Blob TEXT)")
            c.executemany("INSERT INTO Filler (Blob) VALUES (?)", [("x" * 1000,)] * 4000); c.commit()
            """, dir + "/steward.db"])
        #expect(fill.status == 0)
        let r = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"db_backup","data":{"step_delay_ms":"2000"}}"#)
        let id = try #require(r.json()["id"] as? String)
        #expect(eventually(timeout: 20) { !files("db_backup").isEmpty }, "the backup started writing")
        #expect(try UnixHTTP.post(d.socket, "/api/v4/jobs/\(id)/cancel").status == 200)
        #expect(eventually(timeout: 20) {
            (try? UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)"))?.json()["status"] as? String == "canceled"
        })
        #expect(files("db_backup").isEmpty, "left behind: \(files("db_backup"))")
    }

    /// Nothing is written through a link: a type directory replaced by a symlink fails the job.
    @Test func aLinkInTheJobsDirectoryIsNotFollowed() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try start()
        let elsewhere = dir + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: jobsDir, withIntermediateDirectories: true)
        #expect(symlink(elsewhere, jobsDir + "/db_backup") == 0)
        let job = try run(d, #"{"type":"db_backup"}"#)
        #expect(job.status == .error && job.data["error"]?.contains("symbolic link") == true, "\(job.data)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
    }

    /// The jobs directory is the daemon's alone (0700, restricted when found looser), and a
    /// `JobSettings.Directory` that is the store's directory fails the job instead of writing there.
    @Test func theJobsDirectoryIsPrivateAndNeverTheStores() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: jobsDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var d: DaemonProcess? = try start()
        #expect(try run(d!, #"{"type":"integrity_check"}"#).status != .error)
        for path in [jobsDir, jobsDir + "/integrity_check"] {
            let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode == 0o700, "\(path): \(String(mode, radix: 8))")
        }
        d!.stop()
        d = try start { $0.jobSettings.directory = dir }
        let before = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        let job = try run(d!, #"{"type":"db_backup"}"#)
        #expect(job.status == .error && job.data["error"]?.contains("must not be the store's directory") == true, "\(job.data)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == before)
    }

    /// An export is streamed to disk: exporting 120 MB of posts raises the daemon's peak RSS by far
    /// less than the export's size (it was built in memory, three copies of it).
    @Test func anExportIsStreamedNotBuiltInMemory() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seeded = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys, random
            c = sqlite3.connect(sys.argv[1])
            c.execute("CREATE TABLE Posts (Id TEXT PRIMARY KEY, CreateAt INTEGER, UserId TEXT, ChannelId TEXT, Message TEXT)")
            text = ''.join(random.choice('abcdefghij ,"') for _ in range(4000))
            c.executemany("INSERT INTO Posts VALUES (?,?,?,?,?)", ((f'p{i:08}', 1000 + i, 'u', 'c', text[i % 2000:][:2000]) for i in range(60000)))
            c.commit()
            """, dir + "/steward.db"])
        #expect(seeded.status == 0, "\(seeded.stderr)")
        let d = try start()
        let before = try #require(ProcessMemory.peak(d.process.processIdentifier))
        let job = try run(d, #"{"type":"message_export","data":{"start_time":"0","end_time":"99999999"}}"#)
        #expect(job.status == .success && job.data["messages_exported"] == "60000", "\(job.data)")
        let after = try #require(ProcessMemory.peak(d.process.processIdentifier))
        let zip = try #require(files("message_export").first { $0.hasSuffix(".zip") })
        let size = try #require(FileManager.default.attributesOfItem(atPath: jobsDir + "/message_export/" + zip)[.size] as? Int)
        #expect(size > 120_000_000)
        #expect(after - before < 48 << 20, "peak RSS grew by \((after - before) >> 20) MiB for a \(size >> 20) MiB export")
    }
}
