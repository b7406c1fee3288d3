import Foundation
import StewardModel
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What a connected process can do to the daemon by what it sends: each attack of the
/// hostile-peers issue, against the built stewardd over a real socket, with the daemon's memory
/// read from /proc and a second client served meanwhile.
@Suite("Hostile peers", .serialized)
struct HostilePeerEndToEndTests {
    let dir = Paths.makeTempDir("hostile")
    static let mib = 1024 * 1024
    /// The bound: streaming 200 MiB of an attack grows the daemon by less than this. Under
    /// a sanitizer (scripts/sanitize) its allocator and shadow memory add their own growth, so the
    /// bound is looser there — still far below the hundreds of MiB an unbounded buffer would take.
    static var rssBound: Int {
        ProcessInfo.processInfo.environment["STEWARD_SANITIZER"] != nil ? 32 * mib : 8 * mib
    }

    /// A chunk-size line `-1` used to leave the parser neither failing nor advancing, so everything
    /// sent afterwards was buffered. Now: 400 at once, the rest discarded up to the lingering bound,
    /// then the connection closes; memory stays flat and another client is answered meanwhile.
    @Test func signedChunkSizeIsRefusedAndNothingPilesUp() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let before = try #require(ProcessMemory.rss(daemon.process.processIdentifier))
        let c = try UnixConnection(path: daemon.socket)
        try c.send("POST /api/v4/jobs HTTP/1.1\r\nHost: _\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n")
        let answer = try c.readResponse()
        #expect(answer.status == 400)
        #expect(answer.json()["id"] as? String == "api.context.bad_request.app_error")

        let flood = Flood.send(c, total: 200 * Self.mib, block: Array(repeating: UInt8(ascii: "a"), count: Self.mib),
                               daemon: daemon, rssLimit: 4 * Self.rssBound)
        #expect(flood.sent < 200 * Self.mib, "the daemon hangs up at the lingering bound (64 MiB), not after 200 MiB (sent \(flood.sent))")
        #expect(flood.pings > 0 && flood.failedPings == 0, "another client is answered meanwhile: \(flood)")
        let after = try #require(ProcessMemory.rss(daemon.process.processIdentifier))
        #expect(after - before < Self.rssBound, "RSS grew from \(before) to \(after)")
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status == 200)
    }

    /// Requests pipelined by a client that never reads its answers: once the answers waiting for it
    /// pass the outbox bound, the daemon stops reading from it (backpressure), so the client's sends
    /// block instead of the daemon's memory growing; at WriteTimeoutSeconds it is hung up on.
    @Test func pipeliningWithoutReadingIsPausedThenHungUpOn() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Long enough that a daemon that kept reading would show it (every 18-byte request queues a
        // ~400-byte answer); short enough for a test.
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.writeTimeoutSeconds = 10
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        let before = try #require(ProcessMemory.rss(daemon.process.processIdentifier))
        let c = try UnixConnection(path: daemon.socket)
        var block: [UInt8] = []
        while block.count < Self.mib { block += Array("GET /x HTTP/1.1\r\n\r\n".utf8) }
        let flood = Flood.send(c, total: 200 * Self.mib, block: block, daemon: daemon, rssLimit: 4 * Self.rssBound)
        #expect(flood.sent < 200 * Self.mib, "the daemon stops reading, then hangs up (sent \(flood.sent))")
        #expect(flood.pings > 0 && flood.failedPings == 0, "another client is answered meanwhile: \(flood)")
        let after = try #require(ProcessMemory.rss(daemon.process.processIdentifier))
        #expect(after - before < Self.rssBound, "RSS grew from \(before) to \(after)")
        // The client takes nothing: the write timeout ends the connection (a send then fails).
        #expect(eventually(timeout: 30) { Flood.peerClosed(c) }, "hung up on after WriteTimeoutSeconds")
    }

    /// Clients that write the whole body before reading (Python's http.client, and so requests and
    /// httpx) still read an early answer: the daemon lingers — shuts its write side and discards
    /// input — instead of closing with unread input, which reset the connection and lost the answer.
    @Test func earlyAnswersReachClientsThatWriteTheWholeBodyFirst() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        for size in [1 * Self.mib, 8 * Self.mib] {
            let r = try PythonClient.post(socket: daemon.socket, path: "/api/v4/jobs", bodyBytes: size)
            #expect(r.status == 0, "\(size) bytes: \(r.stderr)")
            #expect(r.stdout.hasPrefix("413 "), "\(size) bytes: \(r.stdout)")
            #expect(r.stdout.contains("api.context.request_body_too_large"), "\(r.stdout)")
        }
        // A client that never stops sending is closed at the lingering bound.
        let c = try UnixConnection(path: daemon.socket)
        try c.send("POST /api/v4/jobs HTTP/1.1\r\nHost: _\r\nContent-Length: 999999999\r\n\r\n")
        #expect(try c.readResponse().status == 413)
        let flood = Flood.send(c, total: 512 * Self.mib, block: Array(repeating: 0x7b, count: Self.mib),
                               daemon: daemon, rssLimit: 4 * Self.rssBound)
        #expect(flood.sent < 512 * Self.mib, "closed at the lingering bound, sent \(flood.sent)")
        #expect(flood.sent >= 32 * Self.mib, "but not before a client that writes its body first could finish, sent \(flood.sent)")
    }

    /// A peer without permission gets its 403 at the request's head: with a body still arriving
    /// (Python writes it all first), it reads the 403, and the body is never parsed.
    @Test(.enabled(if: Paths.isRoot, "needs root to create users"))
    func deniedPeersReadTheir403BeforeSendingTheBody() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        TestUsers.ensure
        let (config, ops) = try DaemonProcess.configWithOpenListener(dataDir: dir)
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        // Under the body limit, so only the access check can refuse it; not valid JSON, so a 400
        // would show that the body was parsed before the check.
        let r = try PythonClient.post(socket: ops, path: "/api/v4/jobs", bodyBytes: 250_000, as: TestUsers.nobody)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("403 "), "\(r.stdout)")
        _ = daemon
    }
}

/// The daemon's resident memory, from /proc.
enum ProcessMemory {
    static func rss(_ pid: Int32) -> Int? { field("VmRSS:", pid) }

    /// The peak RSS since the process started.
    static func peak(_ pid: Int32) -> Int? { field("VmHWM:", pid) }

    private static func field(_ name: String, _ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }
}

/// Sends without reading, as an attacker would.
enum Flood {
    struct Outcome {
        /// Bytes the daemon took.
        var sent: Int
        /// Pings another client made meanwhile, and how many of them were not answered 200.
        var pings: Int
        var failedPings: Int
    }

    /// Sends `block` repeatedly until `total` bytes went out, the peer hung up, the daemon's RSS grew
    /// by `rssLimit` (the attack succeeded: no point in going on), or a send made no progress for
    /// `stallSeconds`. Meanwhile another client pings the daemon on fresh connections.
    static func send(_ c: UnixConnection, total: Int, block: [UInt8], daemon: DaemonProcess, rssLimit: Int,
                     stallSeconds: Int = 20) -> Outcome {
        var tv = timeval(tv_sec: stallSeconds, tv_usec: 0)
        setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let pid = daemon.process.processIdentifier
        let start = ProcessMemory.rss(pid) ?? 0
        let done = Atomic<Bool>(false)
        let pings = Atomic<Int>(0), failed = Atomic<Int>(0)
        let socket = daemon.socket
        let pinger = Thread {
            while !done.load(ordering: .relaxed) {
                let ok = (try? UnixHTTP.get(socket, "/api/v4/system/ping"))?.status == 200
                pings.add(1, ordering: .relaxed)
                if !ok { failed.add(1, ordering: .relaxed) }
                usleep(50_000)
            }
        }
        pinger.start()
        var sent = 0
        var nextCheck = 1 << 20
        while sent < total {
            let n = block.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, min($0.count, total - sent), Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
            if sent >= nextCheck {
                nextCheck += 1 << 20
                if (ProcessMemory.rss(pid) ?? 0) - start > rssLimit { break }
            }
        }
        // Let the pinger run a little past the end, so "meanwhile" covers a paused connection too.
        usleep(200_000)
        done.store(true, ordering: .relaxed)
        while !pinger.isFinished { usleep(10_000) }
        return Outcome(sent: sent, pings: pings.load(ordering: .relaxed), failedPings: failed.load(ordering: .relaxed))
    }

    /// True when the daemon has closed the connection: a send fails with EPIPE or ECONNRESET.
    static func peerClosed(_ c: UnixConnection) -> Bool {
        var byte: UInt8 = 0x0a
        let n = Glibc.send(c.fd, &byte, 1, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        return n < 0 && (errno == EPIPE || errno == ECONNRESET)
    }
}

/// Python's http.client over a unix socket: it writes the whole request, body included, before it
/// reads anything — the pattern of requests, httpx and most scripted clients.
enum PythonClient {
    static let script = """
        import http.client, socket, sys
        class UnixConnection(http.client.HTTPConnection):
            def __init__(self, path):
                super().__init__("localhost", timeout=60)
                self.unix_path = path
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(60)
                self.sock.connect(self.unix_path)
        c = UnixConnection(sys.argv[1])
        c.request("POST", sys.argv[2], body=b"x" * int(sys.argv[3]), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        print(r.status, r.read().decode())
        """

    /// Runs the script (as `user` when given); stdout is "STATUS BODY".
    static func post(socket: String, path: String, bodyBytes: Int, as user: String? = nil) throws -> CommandResult {
        let python = Paths.tool("python3") ?? "/usr/bin/python3"
        let args = ["-c", script, socket, path, String(bodyBytes)]
        if let user { return try Command.runAs(user, python, args) }
        return try Command.run(python, args)
    }
}
