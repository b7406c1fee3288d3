import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A typo by root never destroys data: `config migrate` refuses, touching nothing, a destination
/// that is the live store written as a file (the `sqlite://` forgotten), any SQLite file written as
/// a file, anything under the jobs directory, an existing file that is not a config, a path through
/// a symbolic link, and a referenced file that would land on the store.
@Suite("Config migrate safety", .serialized)
struct ConfigMigrateSafetyEndToEndTests {
    let dir = Paths.makeTempDir("migrate-safety")

    func migrate(_ d: DaemonProcess, _ from: String, _ to: String) throws -> HTTPResult {
        try UnixHTTP.post(d.socket, "/api/v4/config/migrate", body: #"{"from":"\#(from)","to":"\#(to)"}"#)
    }

    func expectRefused(_ r: HTTPResult, _ detail: String, _ note: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 400, "\(note): \(r.status) \(r.text)", sourceLocation: sourceLocation)
        #expect(r.json()["id"] as? String == "api.config.migrate_config.app_error", "\(note)", sourceLocation: sourceLocation)
        #expect((r.json()["detailed_error"] as? String)?.contains(detail) == true, "\(note): \(r.text)", sourceLocation: sourceLocation)
    }

    func identity(_ path: String) -> (UInt64, UInt64, Int64)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino), Int64(st.st_size))
    }

    func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// The issue's case: `stewardctl config migrate config.json /…/steward.db`.
    @Test func theLiveStoreIsNeverWrittenAsAFile() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let store = dir + "/steward.db"
        let before = try #require(identity(store))
        for target in [store, "steward.db", store + "-wal", store + "-shm"] {
            expectRefused(try migrate(d, "config.json", target), "the store the daemon runs on", target)
        }
        let cli = try Command.stewardctl(["config", "migrate", "config.json", store], socket: d.socket)
        #expect(cli.status == 1 && cli.stderr.contains("the store the daemon runs on"), "\(cli.stdout) \(cli.stderr)")
        // Another name of the same file (a hard link) is the store too.
        #expect(link(store, dir + "/alias.db") == 0)
        expectRefused(try migrate(d, "config.json", "alias.db"), "the store the daemon runs on", "hard link")
        let after = try #require(identity(store))
        #expect(after.0 == before.0 && after.1 == before.1, "the store's inode is the one the daemon opened")
        #expect(contents(store)?.starts(with: Array("SQLite format 3\0".utf8)) == true)
        #expect(try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#).status == 201, "the store still works")
        // Into the database store as a database: that is what sqlite:// is for.
        #expect(try migrate(d, "config.json", "sqlite://" + store).status == 200)
    }

    @Test func sqliteFilesJobsAndOtherFilesAreNotOverwritten() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let backup = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"db_backup"}"#)
        let id = try #require(backup.json()["id"] as? String)
        #expect(eventually(timeout: 30) {
            (try? UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)"))?.json()["status"] as? String == "success"
        })
        let backups = dir + "/steward-jobs/db_backup"
        let backupName = try #require(try FileManager.default.contentsOfDirectory(atPath: backups).first)
        let backupBytes = contents(backups + "/" + backupName)
        expectRefused(try migrate(d, "config.json", "steward-jobs/db_backup/" + backupName), "where jobs keep their files", "a backup as a file")
        expectRefused(try migrate(d, "config.json", "sqlite://steward-jobs/db_backup/" + backupName), "where jobs keep their files", "a backup as a database")
        expectRefused(try migrate(d, "config.json", "steward-jobs/new.json"), "where jobs keep their files", "a new file in the jobs directory")
        #expect(contents(backups + "/" + backupName) == backupBytes)
        #expect(!FileManager.default.fileExists(atPath: dir + "/steward-jobs/new.json"))

        #expect(FileManager.default.createFile(atPath: dir + "/other.db", contents: Data("SQLite format 3\0".utf8 + [UInt8](repeating: 0, count: 100))))
        expectRefused(try migrate(d, "config.json", "other.db"), "is an SQLite database", "an SQLite file as a file")
        let notes = Data("remember the milk\n".utf8)
        #expect(FileManager.default.createFile(atPath: dir + "/notes.txt", contents: notes))
        expectRefused(try migrate(d, "config.json", "notes.txt"), "is not a config file", "a text file")
        #expect(FileManager.default.createFile(atPath: dir + "/list.json", contents: Data("[1,2,3]".utf8)))
        expectRefused(try migrate(d, "config.json", "list.json"), "is not a config file", "JSON that is not a config")
        expectRefused(try migrate(d, "config.json", "sqlite://notes.txt"), "is not an SQLite database", "a text file as a database")
        #expect(contents(dir + "/notes.txt") == notes)
        #expect(contents(dir + "/list.json") == Data("[1,2,3]".utf8))
        // A config over a config, and a new file, are what migrate is for.
        #expect(try migrate(d, "config.json", "copy.json").status == 200)
        #expect(try migrate(d, "config.json", "copy.json").status == 200)
    }

    /// No component of either path may be a link: a directory link inside an allowed directory
    /// leads nowhere, and a referenced file cannot be named onto the store.
    @Test func linksAndReferencedFilesCannotRedirectTheWrite() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let real = dir + "/real"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        #expect(symlink(real, dir + "/via") == 0)
        expectRefused(try migrate(d, "config.json", "via/c.json"), "symbolic link", "a directory link")
        expectRefused(try migrate(d, "via/../config.json", "c.json"), "'..'", "a '..' component")
        #expect(try FileManager.default.contentsOfDirectory(atPath: real).isEmpty)

        // A config whose rules file is named like the store, migrated beside the store.
        let src = dir + "/src"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        var config = DaemonProcess.config(dataDir: dir)
        config.localAuthorizationSettings.rulesFile = "steward.db"
        let encoder = JSONEncoder()
        try encoder.encode(config).write(to: URL(fileURLWithPath: src + "/config.json"))
        try Data(#"{"Rules":[]}"#.utf8).write(to: URL(fileURLWithPath: src + "/steward.db"))
        let store = try #require(identity(dir + "/steward.db"))
        expectRefused(try migrate(d, "src/config.json", "moved.json"), "the store the daemon runs on", "a referenced file onto the store")
        let after = try #require(identity(dir + "/steward.db"))
        #expect(after.1 == store.1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/moved.json"))
    }
}
