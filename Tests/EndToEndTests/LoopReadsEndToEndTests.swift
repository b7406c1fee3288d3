import Foundation
import StewardModel
import Testing

/// Job reads and job creation are answered on the connection's loop, but never wait there for the
/// store's writer: while a VACUUM holds the writer, a new job waits for it off the loop (the async
/// path) while pings and reads on other connections are answered before the VACUUM ends.
@Suite("Loop-side store access", .serialized)
struct LoopReadsEndToEndTests {
    let dir = Paths.makeTempDir("loopreads")

    @Test func aLongWriteDoesNotStallTheLoop() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // One CPU, so one connection loop: a loop that waited for the writer would stall every reply.
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir), launcher: [Paths.tool("taskset")!, "-c", "0"])
        // Enough data that VACUUM takes a while even on a fast disk (it rewrites the whole file).
        let fill = try Command.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys, os
            c = sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE Filler (Id INTEGER PRIMARY KEY, Blob BLOB)")
            c.executemany("INSERT INTO Filler (Blob) VALUES (?)", ((os.urandom(4000),) for _ in range(60000))); c.commit()
            """, dir + "/steward.db"])
        #expect(fill.status == 0, "\(fill.stderr)")
        let vacuum = try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"db_optimize","data":{"vacuum":"true"}}"#)
        let id = try #require(vacuum.json()["id"] as? String)
        func status() throws -> String? { try UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)").json()["status"] as? String }
        // Wait until the vacuum runs (its log says so), then act while it does.
        #expect(eventually(timeout: 30) {
            (try? UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)/logs"))?.text.contains("vacuuming") == true
        })
        let body = #"{"type":"integrity_check"}"#
        let creating = try UnixConnection(path: d.socket, timeoutSeconds: 120)
        try creating.send("POST /api/v4/jobs HTTP/1.1\r\nHost: _\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        for _ in 0..<20 {
            #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs?per_page=5").status == 200)
            #expect(try UnixHTTP.get(d.socket, "/api/v4/system/ping").status == 200)
        }
        let during = try status()
        #expect(during == "in_progress", "the reads were answered while the VACUUM held the writer (\(during ?? "?"))")
        #expect(try creating.readResponse().status == 201, "the job is created once the writer is free")
        #expect(eventually(timeout: 120) { (try? status()) == "success" })
    }

    /// Pages past `loopOffsetLimit` are read off the loop: same answers.
    @Test func deepPagesAnswerTheSameOffTheLoop() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = DaemonProcess.config(dataDir: dir)
        config.jobSettings.runJobs = false
        let d = try DaemonProcess(dataDir: dir, config: config)
        for _ in 0..<3 { #expect(try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"db_optimize"}"#).status == 201) }
        let near = try UnixHTTP.get(d.socket, "/api/v4/jobs?per_page=1&page=2")
        #expect(near.status == 200 && near.text.hasPrefix("[{"), "\(near.text)")
        for path in ["/api/v4/jobs?per_page=1&page=5000", "/api/v4/jobs/type/db_optimize?per_page=1&page=5000",
                     "/api/v4/jobs?per_page=200&page=99999999999999"] {
            let deep = try UnixHTTP.get(d.socket, path)
            #expect(deep.status == 200 && deep.text == "[]", "\(path): \(deep.text)")
        }
    }
}
