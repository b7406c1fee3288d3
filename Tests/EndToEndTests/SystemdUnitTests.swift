import Foundation
import Testing

/// The shipped units pass `systemd-analyze verify` with no output, and score as low exposure.
@Suite("systemd units", .enabled(if: Paths.tool("systemd-analyze") != nil, "systemd-analyze is not installed"))
struct SystemdUnitTests {
    /// Copies of the units whose ExecStart points at the built binary (verify checks it exists).
    func stagedUnits() throws -> String {
        let dir = Paths.makeTempDir("units")
        for name in ["steward.service", "steward.socket", "steward-ops.socket"] {
            var text = try String(contentsOf: Paths.packageRoot.appendingPathComponent("systemd/" + name), encoding: .utf8)
            text = text.replacingOccurrences(of: "/usr/local/bin/stewardd", with: Paths.stewardd)
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test func verifyPrintsNothing() throws {
        let dir = try stagedUnits()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Command.run(
            Paths.tool("systemd-analyze")!,
            ["verify", "--man=no", dir + "/steward.service", dir + "/steward.socket", dir + "/steward-ops.socket"])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty && r.stderr.isEmpty, "\(r.stdout)\(r.stderr)")
    }

    @Test func serviceIsNotifyAndHardened() throws {
        let dir = try stagedUnits()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let unit = try String(contentsOfFile: dir + "/steward.service", encoding: .utf8)
        for directive in ["Type=notify", "WatchdogSec=", "ExecReload=", "ProtectSystem=strict", "NoNewPrivileges=yes"] {
            #expect(unit.contains(directive), "\(directive)")
        }
        let r = try Command.run(Paths.tool("systemd-analyze")!, ["security", "--offline=yes", "--threshold=30", dir + "/steward.service"])
        #expect(r.status == 0, "exposure above 3.0: \(r.stdout.suffix(200))")
        let socket = try String(contentsOfFile: dir + "/steward.socket", encoding: .utf8)
        #expect(socket.contains("SocketMode=0600"))
        #expect(socket.contains("FileDescriptorName=steward.sock"))
    }
}
