import Foundation
import StewardModel
import Testing

/// `POST /api/v4/integrity` and `stewardctl integrity` against a generated Mattermost-like store.
@Suite("Integrity end to end", .serialized)
struct IntegrityEndToEndTests {
    let dir = Paths.makeTempDir("integrity")
    let daemon: DaemonProcess
    let expected: [IntegrityCheckResult]

    init() throws {
        let tools = Paths.packageRoot.appendingPathComponent("tools/mmdb/generate.py").path
        let r = try Command.run("/usr/bin/env", ["python3", tools, dir + "/steward.db", "--posts", "3000"])
        guard r.status == 0 else { throw HTTPTestError(description: "generator failed: \(r.stderr)") }
        struct Expected: Decodable { var results: [IntegrityCheckResult] }
        expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/steward.db.expected.json"))).results
        daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
    }

    @Test func answersMattermostsShapeWithExactRecords() throws {
        let r = try UnixHTTP.post(daemon.socket, "/api/v4/integrity")
        #expect(r.status == 200)
        let results = try JSONDecoder().decode([IntegrityCheckResult].self, from: Data(r.body))
        // Mattermost's 41, then Steward's own relation (the daemon's tables are in this store too).
        #expect(Array(results.prefix(41)) == expected)
        #expect(results.count == 42)
        #expect(results.last?.data == RelationalIntegrityCheckData(parentName: "Jobs", childName: "JobLogs", parentIDAttr: "JobId", childIDAttr: "", records: []))
        #expect(r.text.hasPrefix(#"[{"data":{"parent_name":"Channels","child_name":"CommandWebhooks","parent_id_attr":"ChannelId","child_id_attr":"Id","records":[{"parent_id":"#))
        #expect(r.text.contains(#""child_id":null"#) && r.text.contains(#""err":null"#))
        let journal = daemon.logLines(containing: "integrity check finished")
        #expect(journal.count == 1)
        #expect(journal.first?.contains("orphans_total=\"\(expected.reduce(0) { $0 + ($1.data?.records.count ?? 0) })\"") == true)
    }

    @Test func cliPrintsMmctlStyleLines() throws {
        let plain = try Command.stewardctl(["integrity", "--confirm"], socket: daemon.socket)
        #expect(plain.status == 0)
        let lines = plain.stdout.split(separator: "\n")
        #expect(lines.count == 42)
        #expect(lines.last == "Found 0 in relation JobLogs orphans of relation Jobs")
        #expect(lines.first == "Found 3 in relation CommandWebhooks orphans of relation Channels")
        let verbose = try Command.stewardctl(["integrity", "--confirm", "-v"], socket: daemon.socket)
        #expect(verbose.stdout.contains("  Child has empty ParentIdAttr (ChannelMembers.ChannelId)"))
        #expect(verbose.stdout.contains("has NULL ParentIdAttr (Emoji.CreatorId)"))
        #expect(verbose.stdout.contains(" is missing Parent "))
        let json = try Command.stewardctl(["integrity", "--confirm", "--json"], socket: daemon.socket)
        let data = try JSONDecoder().decode([RelationalIntegrityCheckData].self, from: Data(json.stdout.utf8))
        #expect(Array(data.prefix(41)) == expected.compactMap(\.data))
    }

    @Test func cliRefusesWithoutConfirmWhenNotInteractive() throws {
        let r = try Command.stewardctl(["integrity"], socket: daemon.socket)
        #expect(r.status == 1)
        #expect(r.stderr.contains("without --confirm"))
        #expect(daemon.logLines(containing: "integrity check finished").isEmpty, "nothing was sent")
    }

    @Test(.enabled(if: Paths.tool("script") != nil, "script(1) is not installed"))
    func cliAsksOnATerminal() throws {
        // script(1) gives stewardctl a pseudo-terminal; our stdin is what is typed at the prompt.
        func typed(_ answer: String) throws -> CommandResult {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Paths.tool("script")!)
            p.arguments = ["-qec", "\(Paths.stewardctl) integrity --socket \(daemon.socket)", "/dev/null"]
            let input = Pipe(), output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            p.standardError = output
            try p.run()
            input.fileHandleForWriting.write(Data((answer + "\n").utf8))
            let data = output.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return CommandResult(status: p.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: "")
        }
        let yes = try typed("YES")
        #expect(yes.status == 0)
        #expect(yes.stdout.contains("Are you sure you want to proceed? (YES/NO)"))
        #expect(yes.stdout.contains("Found 3 in relation CommandWebhooks orphans of relation Channels"))
        let no = try typed("no")
        #expect(no.status == 1)
        #expect(no.stdout.contains("aborted") && !no.stdout.contains("Found"))
    }

    /// On a terminal the check runs as an `integrity_check` job (relations only) with a progress bar
    /// on stderr, and prints the same lines as mmctl's call.
    @Test(.enabled(if: Paths.tool("script") != nil, "script(1) is not installed"))
    func cliShowsProgressOnATerminal() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.tool("script")!)
        p.arguments = ["-qec", "\(Paths.stewardctl) integrity --confirm --socket \(daemon.socket)", "/dev/null"]
        let output = Pipe()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = output
        p.standardError = output
        try p.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("] 100% of the tables read"))
        #expect(text.contains("Found 3 in relation CommandWebhooks orphans of relation Channels"))
        #expect(text.contains("Found 0 in relation JobLogs orphans of relation Jobs"))
        let jobs = try JSONDecoder().decode([Job].self, from: Data(try UnixHTTP.get(daemon.socket, "/api/v4/jobs/type/integrity_check").body))
        let job = try #require(jobs.first)
        #expect(job.data["relations_only"] == "true" && job.data["page_check"] == "not run")
        #expect(job.status == .warning, "orphans were found")
        let logs = try UnixHTTP.get(daemon.socket, "/api/v4/jobs/\(job.id)/logs").text
        // Mattermost's 7 parent and 23 child tables, and Jobs and JobLogs.
        #expect(logs.contains("tables read: 32 of 32"))
    }

    @Test func theDaemonStaysResponsiveDuringACheck() throws {
        let socket = daemon.socket
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for _ in 0..<5 { _ = try? UnixHTTP.post(socket, "/api/v4/integrity") }
            done.signal()
        }
        var answered = 0
        for _ in 0..<50 where (try? UnixHTTP.get(socket, "/api/v4/server_busy").status) == 200 { answered += 1 }
        done.wait()
        #expect(answered == 50)
    }
}

/// A store big enough to be walked by its indexes (Posts with Mattermost's foreign-key indexes,
/// past `KeyWalk.minimumRows`): the daemon's answer is still the generator's, and the journal
/// names what was walked.
@Suite("Integrity end to end, walked by index")
struct IntegrityWalkEndToEndTests {
    @Test func indexedPostsAreWalkedAndAnswerTheSame() throws {
        let dir = Paths.makeTempDir("integrity-walk")
        let tools = Paths.packageRoot.appendingPathComponent("tools/mmdb/generate.py").path
        let r = try Command.run("/usr/bin/env", ["python3", tools, dir + "/steward.db", "--posts", "60000"])
        guard r.status == 0 else { throw HTTPTestError(description: "generator failed: \(r.stderr)") }
        let indexes = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.executescript('CREATE INDEX idx_posts_channel_id ON Posts (ChannelId); CREATE INDEX idx_posts_user_id ON Posts (UserId); CREATE INDEX idx_posts_root_id ON Posts (RootId);')
            """, dir + "/steward.db"])
        guard indexes.status == 0 else { throw HTTPTestError(description: "indexes: \(indexes.stderr)") }
        struct Expected: Decodable { var results: [IntegrityCheckResult] }
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/steward.db.expected.json"))).results
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let answer = try UnixHTTP.post(daemon.socket, "/api/v4/integrity")
        #expect(answer.status == 200)
        #expect(Array(try JSONDecoder().decode([IntegrityCheckResult].self, from: Data(answer.body)).prefix(41)) == expected)
        let journal = try #require(daemon.logLines(containing: "integrity check finished").first)
        for walked in ["Posts.ChannelId → Channels (idx_posts_channel_id)", "Posts.UserId → Users (idx_posts_user_id)", "Posts.RootId → Posts (idx_posts_root_id)"] {
            #expect(journal.contains(walked), "\(walked) in \(journal)")
        }
    }
}
