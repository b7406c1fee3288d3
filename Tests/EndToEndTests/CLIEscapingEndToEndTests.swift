import Foundation
import StewardModel
import Testing

/// Text from the daemon reaches the terminal with its control characters escaped (issue 10, item
/// 9): error messages, job data, log lines, the job table; `--json` stays JSON meaning the same.
@Suite("stewardctl escapes the daemon's text", .serialized)
struct CLIEscapingEndToEndTests {
    let dir = Paths.makeTempDir("escaping")

    /// The job data, log line and error texts: ESC sequences (colour, title, clear), a CSI as one C1
    /// character, DEL, a CR and a newline that would forge a line of our own.
    static let data = ["note": "red\u{1b}[31m\u{9b}2J\u{7f}", "forged": "x\nStatus: success\r"]
    static let logLine = "\u{1b}]0;pwned\u{7} done\u{85}"
    static let hostileJob = Job(id: "hostile", type: "db_backup", createAt: 1, status: .success, progress: 100, data: data)

    /// A stand-in daemon (stewardd never puts such text in job data or logs) with those texts.
    static let routes: [String: FakeDaemon.Answer] = [
        "/jobs/hostile": FakeDaemon.Answer(body: Array(hostileJob.json.utf8)),
        "/jobs": FakeDaemon.Answer(body: Array(Job.json([hostileJob]).utf8)),
        "/jobs/hostile/logs": FakeDaemon.Answer(
            body: Array("[\(JobLogEntry(idx: 0, level: "info", msg: logLine, progress: 0, timestamp: 1).json)]".utf8)),
        "/jobs/hostile/cancel": FakeDaemon.Answer(
            status: 400, body: Array(#"{"id":"x","message":"no \u001b[2J\u009b31m way","detailed_error":"","status_code":400}"#.utf8)),
    ]

    /// No C0 control but newline, no DEL, no C1: nothing a terminal acts on.
    static func inert(_ text: String) -> Bool {
        !text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
    }

    /// Text from the real daemon with an escape sequence in it (the key the daemon's message names)
    /// reaches the terminal escaped.
    @Test func theDaemonsMessagesAreEscaped() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let r = try Command.stewardctl(["job", "create", "db_backup", "--data", "\u{1b}[31mx=1"], socket: d.socket)
        #expect(r.status == 1)
        #expect(!r.stderr.unicodeScalars.contains("\u{1b}"), "\(r.stderr.debugDescription)")
        #expect(r.stderr.contains(#"no data key '\x1b[31mx'"#), "\(r.stderr)")
    }

    @Test func controlCharactersFromTheDaemonAreEscaped() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fake = try FakeDaemon(directory: dir, routes: Self.routes)
        for args in [["job", "show", "hostile"], ["job", "list"]] {
            let r = try Command.stewardctl(args, socket: fake.socket)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(Self.inert(r.stdout), "\(args): \(r.stdout.debugDescription)")
            #expect(r.stdout.contains(#"note=red\x1b[31m\u{9b}2J\x7f"#), "\(r.stdout)")
            #expect(r.stdout.contains(#"forged=x\nStatus: success\r"#), "\(r.stdout)")
            #expect(r.stdout.split(separator: "\n").filter { $0.hasPrefix("Status:") }.count == 1, "no forged line: \(r.stdout)")
        }
        let logs = try Command.stewardctl(["job", "logs", "hostile"], socket: fake.socket)
        #expect(logs.status == 0 && Self.inert(logs.stdout), "\(logs.stdout.debugDescription)")
        #expect(logs.stdout.contains(#"\x1b]0;pwned\x07 done\u{85}"#), "\(logs.stdout)")
        let cancel = try Command.stewardctl(["job", "cancel", "hostile"], socket: fake.socket)
        #expect(cancel.status == 1 && Self.inert(cancel.stderr), "\(cancel.stderr.debugDescription)")
        #expect(cancel.stderr.contains(#"no \x1b[2J\u{9b}31m way"#), "\(cancel.stderr)")

        // --json stays JSON meaning the same, with nothing raw a terminal acts on.
        let json = try Command.stewardctl(["job", "show", "hostile", "--json"], socket: fake.socket)
        #expect(Self.inert(json.stdout), "\(json.stdout.debugDescription)")
        #expect(try JSONDecoder().decode(Job.self, from: Data(json.stdout.utf8)).data == Self.data)
        let jsonLogs = try Command.stewardctl(["job", "logs", "hostile", "--json"], socket: fake.socket)
        #expect(Self.inert(jsonLogs.stdout), "\(jsonLogs.stdout.debugDescription)")
        #expect(try JSONDecoder().decode(JobLogEntry.self, from: Data(jsonLogs.stdout.utf8)).msg == Self.logLine)
    }
}
