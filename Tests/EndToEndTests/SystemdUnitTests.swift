import Foundation
import Testing

/// The shipped units pass `systemd-analyze verify` with no output, and score as low exposure.
@Suite("systemd units", .enabled(if: Paths.tool("systemd-analyze") != nil, "systemd-analyze is not installed"))
struct SystemdUnitTests {
    static let units = ((try? FileManager.default.contentsOfDirectory(atPath: Paths.packageRoot.appendingPathComponent("systemd").path)) ?? []).sorted()

    /// Copies of the units whose ExecStart points at the built binaries (verify checks they exist).
    func stagedUnits() throws -> String {
        let dir = Paths.makeTempDir("units")
        for name in Self.units {
            var text = try String(contentsOf: Paths.packageRoot.appendingPathComponent("systemd/" + name), encoding: .utf8)
            text = text.replacingOccurrences(of: "/usr/local/bin/stewardd", with: Paths.stewardd)
            text = text.replacingOccurrences(of: "/usr/local/bin/stewardctl", with: Paths.stewardctl)
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test func verifyPrintsNothing() throws {
        let dir = try stagedUnits()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(Self.units.count == 11, "\(Self.units)")
        let r = try Command.run(Paths.tool("systemd-analyze")!, ["verify", "--man=no"] + Self.units.map { dir + "/" + $0 })
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
        for timer in Self.units where timer.hasSuffix(".timer") {
            let service = String(timer.dropLast(6)) + ".service"
            let text = try String(contentsOfFile: dir + "/" + service, encoding: .utf8)
            #expect(text.contains("ExecStart=\(Paths.stewardctl) job create ") && text.contains("--wait"), "\(service)")
        }
        let socket = try String(contentsOfFile: dir + "/steward.socket", encoding: .utf8)
        #expect(socket.contains("SocketMode=0600"))
        #expect(socket.contains("FileDescriptorName=steward.sock"))
    }
}
