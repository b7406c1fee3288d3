import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `stewardctl job download` against the built stewardd (issue 10, item 9): the daemon's file name
/// lands as a base name in the working directory, an existing file is kept unless --force, and the
/// bytes are the artifact's. The file is streamed (see `aLargeDownloadIsStreamed`).
@Suite("stewardctl job download", .serialized)
struct DownloadEndToEndTests {
    let dir = Paths.makeTempDir("download")

    func read(_ path: String) -> [UInt8]? { (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init) }

    func listing(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    /// A finished db_backup job's id.
    func backup(_ d: DaemonProcess) throws -> String {
        let r = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"db_backup"}"#)
        let id = try #require(r.json()["id"] as? String, "\(r.text)")
        #expect(eventually(timeout: 30) { (try? UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)"))?.json()["status"] as? String == "success" })
        return id
    }

    /// The artifact in the jobs directory with this file name, wherever the daemon keeps it there.
    func artifact(named name: String) -> [UInt8]? {
        let jobs = dir + "/steward-jobs"
        let found = FileManager.default.enumerator(atPath: jobs)?.compactMap { $0 as? String }.first { $0.split(separator: "/").last.map(String.init) == name }
        return found.flatMap { read(jobs + "/" + $0) }
    }

    @Test func theBaseNameLandsInTheWorkingDirectoryAndAnExistingFileIsKeptWithoutForce() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let id = try backup(d)
        let work = dir + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false)

        let first = try Command.stewardctl(["job", "download", id], socket: d.socket, in: work)
        #expect(first.status == 0, "\(first.stderr)")
        let saved = listing(work)
        #expect(saved.count == 1, "one file, no temporary left: \(saved)")
        let name = try #require(saved.first)
        #expect(name.hasPrefix("db_backup-") && name.hasSuffix("-\(id).db"))
        let bytes = try #require(read(work + "/" + name))
        #expect(bytes == artifact(named: name), "the bytes are the artifact's")
        #expect(bytes.starts(with: Array("SQLite format 3".utf8)))
        #expect(first.stdout == "Saved \(name) (\(bytes.count) bytes)\n")
        var st = stat()
        #expect(stat(work + "/" + name, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(first.stderr.isEmpty, "no progress bar when stderr is not a terminal: \(first.stderr)")

        try Data("precious".utf8).write(to: URL(fileURLWithPath: work + "/" + name))
        let refused = try Command.stewardctl(["job", "download", id], socket: d.socket, in: work)
        #expect(refused.status == 1)
        #expect(refused.stderr == "Error: \(name) already exists; use --force to replace it\n")
        #expect(read(work + "/" + name) == Array("precious".utf8), "kept intact")
        #expect(listing(work) == [name])
        let forced = try Command.stewardctl(["job", "download", id, "--force"], socket: d.socket, in: work)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(read(work + "/" + name) == bytes, "replaced with --force")

        // -o is taken as given; a link there is refused like any file, and --force replaces the
        // link itself, never what it points to.
        try FileManager.default.createDirectory(atPath: work + "/sub", withIntermediateDirectories: false)
        let copy = try Command.stewardctl(["job", "download", id, "-o", "sub/copy.db", "--json"], socket: d.socket, in: work)
        #expect(copy.status == 0 && read(work + "/sub/copy.db") == bytes, "\(copy.stderr)")
        #expect(copy.stdout == #"{"file":"sub/copy.db","size_bytes":\#(bytes.count)}"# + "\n")
        try Data("victim".utf8).write(to: URL(fileURLWithPath: dir + "/victim"))
        #expect(symlink(dir + "/victim", work + "/link") == 0)
        #expect(try Command.stewardctl(["job", "download", id, "-o", "link"], socket: d.socket, in: work).status == 1)
        #expect(try Command.stewardctl(["job", "download", id, "-o", "link", "--force"], socket: d.socket, in: work).status == 0)
        #expect(read(dir + "/victim") == Array("victim".utf8), "the link's target is untouched")
        #expect(lstat(work + "/link", &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && read(work + "/link") == bytes)
    }
}

/// `job download` from a daemon that sends what stewardd never does (a Python stand-in): file
/// names with directories, dots and control characters, a body cut short, a large body.
@Suite("stewardctl job download from a hostile daemon", .serialized)
struct HostileDownloadEndToEndTests {
    let dir = Paths.makeTempDir("fake-daemon")
    static let bigSize = 96 << 20

    static func file(_ name: String, _ body: String = "payload") -> FakeDaemon.Answer {
        FakeDaemon.Answer(headers: [("Content-Disposition", name)], body: Array(body.utf8))
    }

    func routes() -> [String: FakeDaemon.Answer] {
        let abs = dir + "/abs/x"
        return [
            "/jobs/up/download": Self.file(#"attachment;filename="../../evil""#, "EVIL-ONE"),
            "/jobs/abs/download": Self.file(#"attachment; filename="\#(abs)""#, "EVIL-TWO"),
            "/jobs/ext/download": Self.file("attachment; filename*=UTF-8''..%2F..%2Fstar", "STAR"),
            // A combining mark after each slash makes "/" part of a larger Character.
            "/jobs/mark/download": Self.file("attachment; filename*=UTF-8''sub%2F%CC%81..%2F%CC%81mark", "MARK"),
            "/jobs/dots/download": Self.file(#"attachment; filename="..""#),
            "/jobs/hidden/download": Self.file(#"attachment; filename=".profile""#),
            "/jobs/ctl/download": Self.file("attachment; filename=\"a\u{1b}]0;x\u{7}b\""),
            "/jobs/short/download": FakeDaemon.Answer(
                headers: [("Content-Disposition", #"attachment; filename="short.bin""#)], body: Array("0123456789".utf8), contentLength: 1000),
            "/jobs/big/download": FakeDaemon.Answer(
                headers: [("Content-Disposition", #"attachment; filename="big.bin""#)], bodyBytes: Self.bigSize),
            "/jobs/endless/download": FakeDaemon.Answer(
                headers: [("Content-Disposition", #"attachment; filename="endless.bin""#)], bodyBytes: 1 << 40),
        ]
    }


    @Test func fileNamesAreReducedToABaseNameInTheWorkingDirectory() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fake = try FakeDaemon(directory: dir, routes: routes())
        let work = dir + "/a/b/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/abs", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: work + "/sub", withIntermediateDirectories: false)
        for (id, name, body) in [("up", "evil", "EVIL-ONE"), ("abs", "x", "EVIL-TWO"), ("ext", "star", "STAR"), ("mark", "\u{301}mark", "MARK")] {
            let r = try Command.stewardctl(["job", "download", id], socket: fake.socket, in: work)
            #expect(r.status == 0, "\(id): \(r.stderr)")
            #expect(try String(contentsOfFile: work + "/" + name, encoding: .utf8) == body, "\(id) lands as \(name) in the working directory")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/a/evil") && !FileManager.default.fileExists(atPath: dir + "/evil"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/abs/x") && !FileManager.default.fileExists(atPath: dir + "/star"))
        for id in ["dots", "hidden", "ctl"] {
            let r = try Command.stewardctl(["job", "download", id], socket: fake.socket, in: work)
            #expect(r.status == 1 && r.stderr.contains("give one with -o"), "\(id): \(r.stderr)")
            #expect(CLIEscapingEndToEndTests.inert(r.stderr), "\(r.stderr.debugDescription)")
        }
        #expect(try Command.stewardctl(["job", "download", "dots", "-o", "chosen"], socket: fake.socket, in: work).status == 0)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []).sorted() == ["chosen", "evil", "star", "sub", "x", "\u{301}mark"])
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: work + "/sub")) ?? []).isEmpty)
    }

    @Test func aShortBodyIsAnErrorAndLeavesNoFile() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fake = try FakeDaemon(directory: dir, routes: routes())
        let work = dir + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false)
        let r = try Command.stewardctl(["job", "download", "short"], socket: fake.socket, in: work)
        #expect(r.status == 1)
        #expect(r.stderr.contains("ended after 10 of 1000 bytes"), "\(r.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []).isEmpty, "no partial file, not even a temporary one")
    }

    /// Interrupted (Ctrl-C), it removes its temporary file and dies of the signal.
    @Test func anInterruptedDownloadLeavesNoFile() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fake = try FakeDaemon(directory: dir, routes: routes())
        let work = dir + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // The test's threads block most signals and children inherit the mask: unblock, then exec.
        p.arguments = ["python3", "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, signal.valid_signals()); os.execv(sys.argv[1], sys.argv[1:])",
                       Paths.stewardctl, "job", "download", "endless", "--socket", fake.socket]
        p.currentDirectoryURL = URL(fileURLWithPath: work)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        #expect(eventually { listing(work).contains { $0.hasSuffix(".part") } }, "writing under a temporary name: \(listing(work))")
        kill(p.processIdentifier, SIGINT)
        #expect(eventually { !p.isRunning })
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGINT)
        #expect(listing(work).isEmpty, "nothing left: \(listing(work))")
    }

    func listing(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    /// The body is streamed to disk: stewardctl's peak RSS stays far below the file's size (the old
    /// client held the body two or three times over).
    @Test func aLargeDownloadIsStreamed() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fake = try FakeDaemon(directory: dir, routes: routes())
        let r = try Command.run("/usr/bin/env", ["python3", "-c", """
            import resource, subprocess, sys
            p = subprocess.run(sys.argv[1:])
            print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
            """, Paths.stewardctl, "job", "download", "big", "--socket", fake.socket], in: dir)
        // The last line is the wrapper's; stewardctl's own output comes before it.
        let parts = (r.stdout.split(separator: "\n").last ?? "").split(separator: " ").compactMap { Int($0) }
        #expect(parts.count == 2 && parts.first == 0, "\(r.stdout) \(r.stderr)")
        let rss = try #require(parts.last)
        #expect(rss < Self.bigSize / 2, "peak RSS \(rss >> 20) MiB for a \(Self.bigSize >> 20) MiB download")
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: dir + "/big.bin"))
        defer { try? handle.close() }
        #expect(try handle.seekToEnd() == UInt64(Self.bigSize))
        try handle.seek(toOffset: UInt64(Self.bigSize - 4096))
        #expect(Array(try handle.read(upToCount: 4096) ?? Data()) == FakeDaemon.generated(4096), "the last bytes are the daemon's")
    }
}
