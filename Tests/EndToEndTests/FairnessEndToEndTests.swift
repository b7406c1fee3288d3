import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Fairness under load and the operator-facing guards around it: places kept for administrators,
/// per-listener caps, throttled denial entries, the descriptor budget at startup, and socket files
/// only in directories nobody else can swap entries of.
@Suite("Fairness and guards", .serialized)
struct FairnessEndToEndTests {
    let dir = Paths.makeTempDir("fair")

    func opsDaemon(_ edit: (inout StewardConfig) -> Void = { _ in }) throws -> DaemonProcess {
        TestUsers.ensure
        var config = try DaemonProcess.configWithOpenListener(dataDir: dir).config
        edit(&config)
        return try DaemonProcess(dataDir: dir, config: config)
    }

    /// Idle connections held by a user, as many as the daemon admits: returns how many it got (a
    /// refused connection gets a 503 at once). The connections stay open until the process exits.
    func holdConnections(as user: String, socket: String, max: Int) throws -> (Process, admitted: () -> Int) {
        let script = """
            import socket, sys, time
            held = []
            for i in range(\(max)):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                s.settimeout(0.3)
                try:
                    if s.recv(64).startswith(b"HTTP/1.1 503"):
                        break
                except socket.timeout:
                    held.append(s)
            print(len(held), flush=True)
            time.sleep(60)
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.tool("runuser")!)
        p.arguments = ["-u", user, "--", Paths.tool("python3") ?? "/usr/bin/python3", "-c", script, socket]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let handle = out.fileHandleForReading
        return (p, {
            let line = String(decoding: handle.availableData, as: UTF8.self)
            return Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        })
    }

    /// Observers filling every place they may take leave the administrators' share: root still
    /// gets in. (Before, caps were per uid plus one shared total, and root got a 503.)
    @Test(.enabled(if: Paths.isRoot, "needs root to create users"))
    func observersCannotTakeThePlacesKeptForAdministrators() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try opsDaemon { c in
            c.serviceSettings.maxConnections = 12
            c.serviceSettings.maxConnectionsPerUid = 12
            c.serviceSettings.reservedAdminConnections = 3
        }
        let (observer, admitted) = try holdConnections(as: TestUsers.observer, socket: dir + "/pub/ops.sock", max: 20)
        defer { observer.terminate(); observer.waitUntilExit() }
        #expect(admitted() == 9, "12 places less the 3 kept for administrators")
        for _ in 0..<3 {
            #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status == 200, "root gets a kept place")
        }
        #expect(daemon.logLines(containing: "connection refused", "kept for administrators").count >= 1)
    }

    /// A listener's own caps hold on that listener only: the other one still admits.
    @Test(.enabled(if: Paths.isRoot, "needs root to create users"))
    func perListenerCapsHoldOnTheirListener() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try opsDaemon { c in
            c.serviceSettings.listeners[1].maxConnectionsPerUid = 2
            c.serviceSettings.listeners[1].maxConnections = 4
        }
        let (observer, admitted) = try holdConnections(as: TestUsers.observer, socket: dir + "/pub/ops.sock", max: 10)
        defer { observer.terminate(); observer.waitUntilExit() }
        #expect(admitted() == 2, "the listener's per-uid cap")
        let (nobody, nobodyAdmitted) = try holdConnections(as: TestUsers.nobody, socket: dir + "/pub/ops.sock", max: 10)
        defer { nobody.terminate(); nobody.waitUntilExit() }
        #expect(nobodyAdmitted() == 2, "the listener's total (4) is reached with two uids")
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status == 200, "the default listener is not affected")
    }

    /// A denied peer in a loop writes a few entries, then one summary with the count — not one
    /// warning per request, which would drive journald into rate-limiting and drop real entries.
    @Test(.enabled(if: Paths.isRoot, "needs root to create users"))
    func deniedPeersInALoopAreSummarised() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try opsDaemon()
        let uid = try #require(TestUsers.uid(of: TestUsers.nobody))
        let script = """
            import socket, sys
            for i in range(60):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                s.sendall(b"DELETE /api/v4/server_busy HTTP/1.1\\r\\nHost: _\\r\\nConnection: close\\r\\n\\r\\n")
                assert s.recv(64).startswith(b"HTTP/1.1 403"), "denied"
                s.close()
            """
        let r = try Command.runAs(TestUsers.nobody, Paths.tool("python3") ?? "/usr/bin/python3", ["-c", script, dir + "/pub/ops.sock"])
        #expect(r.status == 0, "\(r.stderr)")
        let full = daemon.logLines(containing: "access denied", "peer_uid=\"\(uid)\"", "decision=\"deny\"")
        #expect(full.count == 5, "the first five in full, got \(full.count)")
        // The summary comes once the interval (10 s) is over.
        #expect(eventually(timeout: 40) {
            !daemon.logLines(containing: "55 more entries suppressed", "peer_uid=\"\(uid)\"").isEmpty
        }, "\(daemon.logLines(containing: "suppressed"))")
        // Privileged actions are never throttled.
        for _ in 0..<20 { _ = try UnixHTTP.post(daemon.socket, "/api/v4/caches/invalidate") }
        #expect(daemon.logLines(containing: "privileged action", "POST /api/v4/caches/invalidate").count == 20)
    }

    /// Caps that cannot fit the descriptor limit are refused at startup, naming the numbers; the
    /// soft limit is raised towards the hard one when that is enough.
    @Test func capsMustFitTheDescriptorLimit() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let prlimit = try #require(Paths.tool("prlimit"))
        try DaemonProcess.writeConfig(DaemonProcess.config(dataDir: dir), dataDir: dir)
        let refused = try Command.run(prlimit, ["--nofile=512:512", Paths.stewardd, "--data-dir", dir], timeout: 30)
        #expect(refused.status == 78)
        #expect(refused.stderr.contains("descriptor limit") && refused.stderr.contains("MaxConnections"), "\(refused.stderr)")

        var small = DaemonProcess.config(dataDir: dir)
        small.serviceSettings.maxConnections = 100
        try DaemonProcess.writeConfig(small, dataDir: dir)
        let daemon = try DaemonProcess(dataDir: dir, launcher: [prlimit, "--nofile=256:4096"])
        let limits = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        let soft = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        #expect(soft >= 300, "soft limit raised to the budget: \(line)")
    }
}

/// Listener sockets are created only where nobody else can swap directory entries, and never by
/// following a link put in their place.
@Suite("Socket files", .serialized, .enabled(if: Paths.isRoot, "needs root to create users and chown"))
struct SocketFileEndToEndTests {
    let dir = Paths.makeTempDir("sockdir")

    func start(listenerIn sub: String, mode: mode_t, owner: String?) throws -> (DaemonProcess, String) {
        TestUsers.ensure
        let d = dir + "/" + sub
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        chmod(d, mode)
        if let owner, let uid = TestUsers.uid(of: owner) { chown(d, uid, UInt32.max) }
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.listeners.append(ListenerSettings(name: "x.sock", path: d + "/x.sock", mode: "0666"))
        let daemon = try DaemonProcess(dataDir: dir, config: config, wait: false)
        return (daemon, d)
    }

    @Test func refusesDirectoriesOthersCanChange() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (sub, mode, owner, why) in [("open", mode_t(0o777), nil as String?, "writable by others without the sticky bit"),
                                        ("theirs", mode_t(0o755), TestUsers.nobody, "not by root or the daemon's user")] {
            let (daemon, d) = try start(listenerIn: sub, mode: mode, owner: owner)
            #expect(daemon.waitForExit() != 0, "\(sub)")
            #expect(daemon.log.contains("refusing to create a socket in \(d)") && daemon.log.contains(why), "\(daemon.log)")
            #expect(!FileManager.default.fileExists(atPath: d + "/x.sock"))
        }
        // A sticky world-writable directory (like /tmp) is fine.
        let (daemon, d) = try start(listenerIn: "sticky", mode: 0o1777, owner: nil)
        try daemon.waitUntilServing(d + "/x.sock")
        var st = stat()
        #expect(lstat(d + "/x.sock", &st) == 0 && st.st_mode & 0o777 == 0o666)
    }

    /// A link put where the socket goes is refused and its target left alone; a link swapped in
    /// while the daemon binds and sets the mode is never followed (the mode is set on a private
    /// name through the directory's descriptor, then renamed into place).
    @Test func linksAtTheSocketPathAreNeverFollowed() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/target"
        #expect(FileManager.default.createFile(atPath: target, contents: Data("secret".utf8), attributes: [.posixPermissions: 0o600]))
        let d = dir + "/race"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        chmod(d, 0o1777)
        #expect(symlink(target, d + "/x.sock") == 0)
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.listeners.append(ListenerSettings(name: "x.sock", path: d + "/x.sock", mode: "0666"))
        let refused = try DaemonProcess(dataDir: dir, config: config, wait: false)
        #expect(refused.waitForExit() != 0)
        #expect(refused.log.contains("is not a socket"), "\(refused.log)")

        // Now race: a process of another user keeps putting the link back while the daemon starts.
        unlink(d + "/x.sock")
        let racer = Process()
        racer.executableURL = URL(fileURLWithPath: Paths.tool("runuser")!)
        racer.arguments = ["-u", TestUsers.nobody, "--", "/bin/sh", "-c",
                           "end=$(($(date +%s)+60)); while [ $(date +%s) -lt $end ]; do ln -s \(target) \(d)/x.sock 2>/dev/null; done"]
        try racer.run()
        defer { racer.terminate(); racer.waitUntilExit() }
        for _ in 0..<10 {
            let daemon = try DaemonProcess(dataDir: dir, config: config, wait: false)
            _ = try? daemon.waitUntilServing(d + "/x.sock", timeout: 5)
            daemon.stop()
            var st = stat()
            #expect(stat(target, &st) == 0 && st.st_mode & 0o777 == 0o600 && st.st_uid == 0, "the link's target kept its mode and owner")
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "secret")
    }
}
