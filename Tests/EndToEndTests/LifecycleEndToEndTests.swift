import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// stewardd as a service: listeners, signals, notify protocol, timeouts and connection caps.
@Suite("Lifecycle", .serialized)
struct LifecycleEndToEndTests {
    @Test func staleSocketFileIsReplaced() throws {
        let dir = Paths.makeTempDir("stale")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        makeStaleSocket(at: dir + "/steward.sock")
        #expect(FileManager.default.fileExists(atPath: dir + "/steward.sock"))
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status == 200)
    }

    @Test func refusesToStartWhenALiveDaemonAnswers() throws {
        let dir = Paths.makeTempDir("live")
        let other = Paths.makeTempDir("live2")
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: other)
        }
        let first = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        var config = DaemonProcess.config(dataDir: other)
        config.serviceSettings.listeners = [ListenerSettings(name: "steward.sock", path: first.socket)]
        let second = try DaemonProcess(dataDir: other, config: config, wait: false)
        #expect(second.waitForExit() == 73)
        #expect(second.log.contains("another daemon is answering"))
        #expect(try UnixHTTP.get(first.socket, "/api/v4/system/ping").status == 200)
    }

    @Test func refusesToRemoveAFileThatIsNotASocket() throws {
        let dir = Paths.makeTempDir("notsock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("precious".utf8).write(to: URL(fileURLWithPath: dir + "/steward.sock"))
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir), wait: false)
        #expect(daemon.waitForExit() == 73)
        #expect(try String(contentsOfFile: dir + "/steward.sock", encoding: .utf8) == "precious")
    }

    @Test func invalidConfigStopsStartupNamingTheSetting() throws {
        let dir = Paths.makeTempDir("badconf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.listeners[0].mode = "0777"
        let daemon = try DaemonProcess(dataDir: dir, config: config, wait: false)
        #expect(daemon.waitForExit() == 78)
        #expect(daemon.log.contains("ServiceSettings.Listeners[0].Mode"))
    }

    @Test func sigtermWithAnIdleKeepAliveConnectionStopsPromptly() throws {
        let dir = Paths.makeTempDir("sigterm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notify = try NotifyListener(path: dir + "/notify.sock")
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir), environment: ["NOTIFY_SOCKET": notify.path])
        let idle = try UnixConnection(path: daemon.socket)
        try idle.send("GET /api/v4/system/ping HTTP/1.1\r\nHost: _\r\n\r\n")
        #expect(try idle.readResponse().status == 200)

        let started = Date()
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) == 0)
        // Well inside the 60 s idle timeout: the idle connection was closed, not waited out.
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(idle.waitForClose())
        #expect(notify.waitFor("STOPPING=1") != nil)
        #expect(!FileManager.default.fileExists(atPath: daemon.socket), "socket file removed on clean exit")
    }

    @Test func sigtermLetsARequestInFlightFinish() throws {
        let dir = Paths.makeTempDir("inflight")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let c = try UnixConnection(path: daemon.socket)
        try c.send("POST /api/v4/caches/invalidate HTTP/1.1\r\nHost: _\r\nContent-Length: 2\r\n\r\n{")
        usleep(100_000)
        daemon.signal(SIGTERM)
        // The socket file goes once accepting has stopped; open connections are told right after.
        #expect(eventually { !FileManager.default.fileExists(atPath: daemon.socket) })
        usleep(200_000)
        try c.send("}")
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(r.headers["connection"] == "close")
        #expect(daemon.waitForExit() == 0)
    }

    @Test func notifyProtocolReadyReloadStopping() throws {
        let dir = Paths.makeTempDir("notify")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notify = try NotifyListener(path: dir + "/notify.sock")
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir), environment: ["NOTIFY_SOCKET": notify.path])
        let ready = try #require(notify.waitFor("READY=1"))
        #expect(ready.contains("STATUS=Serving on \(daemon.socket)"))

        daemon.signal(SIGHUP)
        let reloading = try #require(notify.waitFor("RELOADING=1"))
        let usec = reloading.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst(15)) }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        #expect(usec != nil && usec! <= UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000)
        let readyAgain = try #require(notify.waitFor("configuration reloaded"))
        #expect(readyAgain.contains("READY=1"))

        daemon.signal(SIGTERM)
        #expect(notify.waitFor("STOPPING=1") != nil)
        #expect(daemon.waitForExit() == 0)
    }

    @Test func watchdogIsFedWhenRequested() throws {
        let dir = Paths.makeTempDir("watchdog")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notify = try NotifyListener(path: dir + "/notify.sock")
        let daemon = try DaemonProcess(
            dataDir: dir, config: DaemonProcess.config(dataDir: dir),
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        #expect(notify.waitFor("WATCHDOG=1", timeout: 3) != nil)
        daemon.stop()
    }

    @Test func sighupWithABrokenConfigKeepsTheRunningOne() throws {
        let dir = Paths.makeTempDir("sighup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = DaemonProcess.config(dataDir: dir)
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        let longish = "/api/v4/system/ping?pad=" + String(repeating: "x", count: 200)
        #expect(try UnixHTTP.get(daemon.socket, longish).status == 200)

        try Data("{ this is not json".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        daemon.signal(SIGHUP)
        #expect(eventually { !daemon.logLines(containing: "configuration reload failed", JournalMessageIDs.reloadFailed).isEmpty })
        #expect(try UnixHTTP.get(daemon.socket, longish).status == 200)

        // A valid change is applied live.
        config.serviceSettings.maximumURLLength = 100
        try DaemonProcess.writeConfig(config, dataDir: dir)
        daemon.signal(SIGHUP)
        #expect(eventually { !daemon.logLines(containing: "configuration reloaded").isEmpty })
        #expect(try UnixHTTP.get(daemon.socket, longish).status == 414)
    }

    @Test func slowClientsTimeOutWithoutDelayingOthers() throws {
        let dir = Paths.makeTempDir("slow")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = DaemonProcess.config(dataDir: dir)
        // Long enough that the other request is surely answered first, even on a loaded machine.
        config.serviceSettings.readHeaderTimeoutSeconds = 3
        config.serviceSettings.idleTimeoutSeconds = 3
        let daemon = try DaemonProcess(dataDir: dir, config: config)

        let slow = try UnixConnection(path: daemon.socket)
        try slow.send("GET /api/v4/sys")
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status == 200)
        // Answered while the slow client still holds its half request: nobody waited for it.
        #expect(slow.isOpen, "the other request was answered before the slow client was dealt with")
        #expect(slow.waitForClose(), "a request that does not arrive in time is hung up on")

        let idle = try UnixConnection(path: daemon.socket)
        try idle.send("GET /api/v4/system/ping HTTP/1.1\r\nHost: _\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        #expect(idle.waitForClose(), "an idle keep-alive connection is closed after IdleTimeoutSeconds")
    }

    @Test func internalErrorsDoNotLeakDetails() throws {
        let dir = Paths.makeTempDir("leak")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        // Make the store unopenable: recycle must fail, answer a generic error, and keep serving.
        try FileManager.default.removeItem(atPath: dir + "/steward.db")
        try FileManager.default.createDirectory(atPath: dir + "/steward.db", withIntermediateDirectories: false)
        let r = try UnixHTTP.post(daemon.socket, "/api/v4/database/recycle")
        #expect(r.status == 500)
        #expect(r.json()["id"] as? String == "api.database.recycle.app_error")
        #expect(r.json()["detailed_error"] as? String == "")
        #expect(!r.text.contains(dir) && !r.text.lowercased().contains("sqlite"))
        #expect(!daemon.logLines(containing: "unexpected error", "request_id=\"\(r.json()["request_id"] as? String ?? "")\"").isEmpty)
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").status == 200, "the old connections keep serving")
    }

    @Test(.enabled(if: Paths.isRoot, "needs root to create the group"))
    func groupListenerIsOwnedByItsGroup() throws {
        TestUsers.ensure
        let dir = Paths.makeTempDir("group")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.listeners.append(
            ListenerSettings(name: "ops.sock", path: dir + "/ops.sock", mode: "0660", group: TestUsers.observerGroup))
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        defer { daemon.stop() }
        var st = stat()
        #expect(lstat(dir + "/ops.sock", &st) == 0)
        #expect(st.st_mode & 0o777 == 0o660)
        let gid = try Command.run(Paths.tool("getent")!, ["group", TestUsers.observerGroup]).stdout.split(separator: ":")[2]
        #expect(String(st.st_gid) == gid)
        // Gate 1 in action: a member of the group connects, anyone else is refused by the file mode.
        #expect(try Command.stewardctl(["system", "getbusy"], socket: dir + "/ops.sock", as: TestUsers.observer).status == 0)
        #expect(try Command.stewardctl(["system", "ping"], socket: dir + "/ops.sock", as: TestUsers.nobody).status == 77)
    }

    @Test func connectionCapPerUID() throws {
        let dir = Paths.makeTempDir("caps")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.maxConnectionsPerUid = 3
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        var held: [UnixConnection] = []
        // The pings that waited for the daemon to start count until the daemon has seen them close
        // (on a loaded machine, a moment later): retry until three places are ours.
        #expect(eventually(timeout: 20) {
            held = []
            for _ in 0..<3 {
                guard let c = try? UnixConnection(path: daemon.socket),
                      (try? c.send("GET /api/v4/system/ping HTTP/1.1\r\nHost: _\r\n\r\n")) != nil,
                      (try? c.readResponse())?.status == 200 else { return false }
                held.append(c)
            }
            return true
        })
        let refused = try UnixConnection(path: daemon.socket)
        let r = try refused.readResponse()
        #expect(r.status == 503)
        #expect(r.json()["id"] as? String == "api.context.too_many_connections.app_error")
        held.removeLast()
        #expect(eventually { (try? UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status) == 200 })
    }

    @Test(.enabled(if: Paths.tool("systemd-socket-activate") != nil, "systemd-socket-activate is not installed"))
    func socketActivation() throws {
        let dir = Paths.makeTempDir("activate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/activated.sock"
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.listeners = [ListenerSettings(name: "steward.sock", path: path)]
        let notify = try NotifyListener(path: dir + "/notify.sock")
        let daemon = try DaemonProcess(
            dataDir: dir, config: config,
            launcher: [Paths.tool("systemd-socket-activate")!, "-l", path, "--fdname=steward.sock", "-E", "NOTIFY_SOCKET=\(notify.path)"],
            waitFor: path)
        #expect(try UnixHTTP.get(path, "/api/v4/server_busy").status == 200)
        #expect(!daemon.logLines(containing: "listening", "socket_activated=\"true\"").isEmpty)
        #expect(notify.waitFor("READY=1") != nil)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0)
        // The socket belongs to whoever passed it: we do not remove it.
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
