import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Structured journal entries, read back with `journalctl -o json` from a systemd-journald the test
/// starts itself (there is no init system in CI), and the stderr fallback without one.
@Suite(
    "Journal", .serialized,
    .enabled(if: Paths.isRoot, "needs root to run systemd-journald"),
    .enabled(if: Paths.tool("systemd-journald") != nil, "systemd-journald is not installed"))
struct JournalEndToEndTests {
    static let journalSocket = "/run/systemd/journal/socket"

    static func journaldAnswers() -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un.make(journalSocket)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    /// A policy that grants root nothing, so a request from this test is a denial.
    static func denyingConfig(_ dir: String) -> StewardConfig {
        var config = DaemonProcess.config(dataDir: dir)
        config.logSettings.enableJournal = true
        config.localAuthorizationSettings.rules = [PolicyRule(uids: [4_000_000], roles: ["system_admin"])]
        return config
    }

    @Test func entriesAreStructuredAndDenialsAudited() throws {
        var journald: Process?
        if !Self.journaldAnswers() {
            let dir = Paths.makeTempDir("nojournal")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // Without journald the same entries go to stderr.
            let daemon = try DaemonProcess(dataDir: dir, config: Self.denyingConfig(dir))
            #expect(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").status == 403)
            #expect(!daemon.logLines(containing: "access denied", "peer_uid=\"0\"").isEmpty)
            daemon.stop()

            let p = Process()
            p.executableURL = URL(fileURLWithPath: Paths.tool("systemd-journald")!)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            journald = p
            #expect(eventually { Self.journaldAnswers() })
        }
        defer {
            if let journald {
                journald.terminate()
                journald.waitUntilExit()
            }
        }

        let dir = Paths.makeTempDir("journal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try DaemonProcess(dataDir: dir, config: Self.denyingConfig(dir))
        let denied = try UnixHTTP.post(daemon.socket, "/api/v4/server_busy?seconds=60")
        #expect(denied.status == 403)
        let requestID = try #require(denied.json()["request_id"] as? String)
        #expect(!daemon.log.contains("access denied"), "with journald up, entries go to the journal, not stderr")

        var entry: [String: Any]?
        _ = eventually(timeout: 15) {
            let r = try? Command.run(Paths.tool("journalctl")!, ["-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=stewardd", "REQUEST_ID=\(requestID)"])
            entry = r?.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.first { $0["MESSAGE_ID"] as? String == JournalMessageIDs.accessDenied }
            return entry != nil
        }
        let e = try #require(entry, "the denial is in the journal")
        #expect(e["MESSAGE"] as? String == "access denied")
        #expect(e["PRIORITY"] as? String == "4")
        #expect(e["PEER_UID"] as? String == "0")
        #expect(e["PEER_GID"] as? String == "0")
        #expect(Int(e["PEER_PID"] as? String ?? "") ?? 0 > 0)
        #expect(e["PEER_EXE"] as? String == ProcessInfo.processInfo.arguments.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path })
        #expect(e["ROUTE"] as? String == "POST /api/v4/server_busy")
        #expect(e["PERMISSION"] as? String == "manage_system")
        #expect(e["DECISION"] as? String == "deny")
        #expect((e["CODE_FILE"] as? String)?.hasSuffix("AuditLog.swift") == true)
        #expect(e["CODE_LINE"] != nil && e["CODE_FUNC"] != nil)

        let started = try Command.run(Paths.tool("journalctl")!, ["-o", "json", "--no-pager", "MESSAGE_ID=\(JournalMessageIDs.started)", "_PID=\(daemon.process.processIdentifier)"])
        #expect(started.stdout.contains("stewardd started"))
    }
}
