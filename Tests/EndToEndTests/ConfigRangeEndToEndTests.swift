import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Numeric settings out of their range (issue 10, item 7) against the built stewardd: a reload with
/// one is refused and the running config kept, and a start with one exits 78 naming it. Before the
/// ranges, all three values below were accepted: the busy timeout trapped at the next start (SIGILL
/// in `Int32(…)`), the read timeout meant no timeout at all, and the header limit let any peer kill
/// the daemon with one chunked request (`limit + 1` overflowed on a trailer).
@Suite("Config ranges end to end", .serialized)
struct ConfigRangeEndToEndTests {
    let dir = Paths.makeTempDir("ranges")

    static let outOfRange: [(setting: String, apply: @Sendable (inout StewardConfig) -> Void)] = [
        ("SqlSettings.BusyTimeoutMilliseconds", { $0.sqlSettings.busyTimeoutMilliseconds = 99_999_999_999 }),
        ("ServiceSettings.ReadHeaderTimeoutSeconds", { $0.serviceSettings.readHeaderTimeoutSeconds = 1_000_000_000_000_000 }),
        ("ServiceSettings.MaximumHeaderBytes", { $0.serviceSettings.maximumHeaderBytes = Int.max }),
    ]

    /// A chunked request whose trailer has not ended: the parser checks what it holds against the
    /// header limit plus one.
    static let chunkedTrailer = "POST /api/v4/caches/invalidate HTTP/1.1\r\nHost: _\r\nContent-Type: application/json\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1"

    @Test func aReloadOutOfRangeIsRefusedAndTheRunningConfigKept() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = DaemonProcess.config(dataDir: dir)
        let daemon = try DaemonProcess(dataDir: dir, config: good)
        for (setting, apply) in Self.outOfRange {
            var bad = good
            apply(&bad)
            try DaemonProcess.writeConfig(bad, dataDir: dir)
            let refused = try UnixHTTP.post(daemon.socket, "/api/v4/config/reload")
            #expect(refused.status == 500, "\(setting): \(refused.status) \(refused.text)")
            #expect(refused.json()["id"] as? String == "api.config.reload_config.app_error")
            #expect((refused.json()["detailed_error"] as? String)?.contains(setting) == true, "\(refused.text)")
            let cli = try Command.stewardctl(["config", "reload"], socket: daemon.socket)
            #expect(cli.status == 1 && cli.stderr.contains(setting), "\(cli.stderr)")
            daemon.signal(SIGHUP)
            #expect(eventually { daemon.logLines(containing: "configuration reload failed", setting).count >= 3 },
                    "the HTTP reload, stewardctl's and SIGHUP's are each refused: \(daemon.log)")
        }
        #expect(daemon.process.isRunning)
        let running = try JSONDecoder().decode(StewardConfig.self, from: Data(try UnixHTTP.get(daemon.socket, "/api/v4/config").body))
        #expect(running == good, "the running config is the one it started with")

        // The header limit in force is still 16384: a longer head is a 431, and the trailer that
        // overflowed `Int.max + 1` is within bounds.
        let long = try UnixHTTP.get(daemon.socket, "/api/v4/system/ping?pad=" + String(repeating: "x", count: 20_000))
        #expect(long.status == 431 || long.status == 414, "\(long.status)")
        let c = try UnixConnection(path: daemon.socket)
        try c.send(Self.chunkedTrailer)
        usleep(200_000)
        #expect(daemon.process.isRunning, "a chunked trailer does not kill the daemon")
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status == 200)
    }

    @Test(arguments: 0..<outOfRange.count)
    func aStartOutOfRangeExits78NamingTheSetting(_ index: Int) throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (setting, apply) = Self.outOfRange[index]
        var config = DaemonProcess.config(dataDir: dir)
        apply(&config)
        let daemon = try DaemonProcess(dataDir: dir, config: config, wait: false)
        #expect(daemon.waitForExit(timeout: 10) == 78, "\(setting): \(daemon.log)")
        #expect(daemon.log.contains(setting), "\(daemon.log)")
    }
}
