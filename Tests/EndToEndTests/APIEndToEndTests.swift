import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The endpoints of the foundation issue, over a real socket against the built stewardd.
@Suite("API end to end", .serialized)
struct APIEndToEndTests {
    let dir = Paths.makeTempDir("api")
    let daemon: DaemonProcess

    init() throws {
        daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
    }

    @Test func pingAnswersOKWithRequestID() throws {
        let r = try UnixHTTP.get(daemon.socket, "/api/v4/system/ping")
        #expect(r.status == 200)
        #expect(r.json()["status"] as? String == "OK")
        #expect(r.headers["x-request-id"].map(NewID.isValid) == true)
        #expect(r.headers["content-type"] == "application/json")
        let withDB = try UnixHTTP.get(daemon.socket, "/api/v4/system/ping?get_server_status=true")
        #expect(withDB.json()["database_status"] as? String == "OK")
    }

    @Test func socketFileIsOwnerOnly() throws {
        var st = stat()
        #expect(lstat(daemon.socket, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)
    }

    @Test func serverBusyRoundTripInMattermostFormat() throws {
        let notBusy = try UnixHTTP.get(daemon.socket, "/api/v4/server_busy")
        #expect(notBusy.text == #"{"busy":false,"expires":-62135596800,"expires_ts":"Mon Jan 1 00:00:00 +0000 UTC 0001"}"#)

        let before = Int64(time(nil))
        let set = try UnixHTTP.post(daemon.socket, "/api/v4/server_busy?seconds=300")
        #expect(set.status == 200)
        #expect(set.text == #"{"status":"OK"}"#)

        let busy = try UnixHTTP.get(daemon.socket, "/api/v4/server_busy")
        let state = try JSONDecoder().decode(ServerBusyState.self, from: Data(busy.body))
        #expect(state.busy)
        #expect(state.expires >= before + 300 && state.expires <= Int64(time(nil)) + 300)
        #expect(state.expiresTS == GoTime.format(unixSeconds: state.expires))
        #expect(busy.text.hasPrefix(#"{"busy":true,"expires":"#))

        let cleared = try UnixHTTP.delete(daemon.socket, "/api/v4/server_busy")
        #expect(cleared.status == 200)
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").text == notBusy.text)
    }

    @Test func serverBusyDefaultsToAnHour() throws {
        let now = Int64(time(nil))
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/server_busy").status == 200)
        let state = try JSONDecoder().decode(ServerBusyState.self, from: Data(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").body))
        #expect(state.expires >= now + 3600 && state.expires <= now + 3602)
        _ = try UnixHTTP.delete(daemon.socket, "/api/v4/server_busy")
    }

    @Test(arguments: ["-1", "0", "86401", "abc", "1.5", "99999999999999999999"])
    func invalidBusySecondsAreRefusedAndChangeNothing(seconds: String) throws {
        let r = try UnixHTTP.post(daemon.socket, "/api/v4/server_busy?seconds=\(seconds)")
        #expect(r.status == 400)
        let body = r.json()
        #expect(body["id"] as? String == "api.context.invalid_url_param.app_error")
        #expect(body["message"] as? String == "Invalid or missing seconds must be 1 - 86400 parameter in request URL.")
        #expect(body["status_code"] as? Int == 400)
        #expect(body["request_id"] as? String == r.headers["x-request-id"])
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").json()["busy"] as? Bool == false)
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() throws {
        let missing = try UnixHTTP.get(daemon.socket, "/api/v4/no/such/thing")
        #expect(missing.status == 404)
        #expect(missing.json()["id"] as? String == "api.context.404.app_error")
        let slash = try UnixHTTP.get(daemon.socket, "/api/v4/server_busy/")
        #expect(slash.status == 404)

        let wrong = try UnixHTTP.request(daemon.socket, "PUT", "/api/v4/server_busy")
        #expect(wrong.status == 405)
        #expect(wrong.headers["allow"] == "DELETE, GET, POST")
        #expect(wrong.json()["status_code"] as? Int == 405)
        #expect(try UnixHTTP.request(daemon.socket, "GET", "/api/v4/database/recycle").status == 405)
    }

    @Test func oversizedRequestsAreRefused() throws {
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: 300_001)
        let big = try UnixHTTP.request(daemon.socket, "POST", "/api/v4/caches/invalidate", body: huge)
        #expect(big.status == 413)
        #expect(big.json()["id"] as? String == "api.context.request_body_too_large.app_error")

        let longURL = try UnixHTTP.get(daemon.socket, "/api/v4/system/ping?x=" + String(repeating: "a", count: 2100))
        #expect(longURL.status == 414)
        #expect(longURL.json()["id"] as? String == "basic_security_check.url.too_long_error")

        let headers = try UnixHTTP.request(daemon.socket, "GET", "/api/v4/system/ping", headers: ["X-Filler": String(repeating: "b", count: 17_000)])
        #expect(headers.status == 431)

        // A chunked body has no Content-Length to refuse up front: it is cut off once it passes the limit.
        let c = try UnixConnection(path: daemon.socket)
        try c.send("POST /api/v4/caches/invalidate HTTP/1.1\r\nHost: _\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = String(repeating: "c", count: 100_000)
        for _ in 0..<4 { try? c.send(String(100_000, radix: 16) + "\r\n" + chunk + "\r\n") }
        #expect(try c.readResponse().status == 413)
        #expect(c.waitForClose())
    }

    @Test func malformedJSONBodyIs400() throws {
        let r = try UnixHTTP.post(daemon.socket, "/api/v4/caches/invalidate", body: "{\"unterminated")
        #expect(r.status == 400)
        #expect(r.json()["id"] as? String == "api.context.invalid_json.app_error")
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/caches/invalidate", body: "{}").status == 200)
    }

    @Test func cacheInvalidateAndRecycleAnswerOK() throws {
        let c = try UnixHTTP.post(daemon.socket, "/api/v4/caches/invalidate")
        #expect(c.status == 200 && c.text == #"{"status":"OK"}"#)
        #expect(c.headers["cache-control"] == "no-cache, no-store, must-revalidate")
        let r = try UnixHTTP.post(daemon.socket, "/api/v4/database/recycle")
        #expect(r.status == 200 && r.text == #"{"status":"OK"}"#)
        #expect(!daemon.logLines(containing: "database connections recycled").isEmpty)
        #expect(!daemon.logLines(containing: "caches invalidated", "resolved_policy").isEmpty)
    }

    @Test func recycleDoesNotFailRequestsInFlight() throws {
        _ = try UnixHTTP.post(daemon.socket, "/api/v4/server_busy?seconds=600")
        let socket = daemon.socket
        let failures = Counter()
        let done = DispatchGroup()
        for _ in 0..<4 {
            done.enter()
            DispatchQueue.global().async {
                defer { done.leave() }
                for _ in 0..<100 {
                    guard let r = try? UnixHTTP.get(socket, "/api/v4/server_busy"), r.status == 200, r.json()["busy"] as? Bool == true else {
                        failures.add()
                        continue
                    }
                }
            }
        }
        for _ in 0..<10 {
            #expect(try UnixHTTP.post(socket, "/api/v4/database/recycle").status == 200)
        }
        done.wait()
        #expect(failures.value == 0)
        _ = try UnixHTTP.delete(daemon.socket, "/api/v4/server_busy")
    }

    @Test func recyclePicksUpAReplacedDatabaseFile() throws {
        // Build a second store whose busy flag is set, then swap it in under the running daemon.
        let other = Paths.makeTempDir("api-other")
        defer { try? FileManager.default.removeItem(atPath: other) }
        do {
            let second = try DaemonProcess(dataDir: other, config: DaemonProcess.config(dataDir: other))
            #expect(try UnixHTTP.post(second.socket, "/api/v4/server_busy?seconds=900").status == 200)
            second.stop()
        }
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").json()["busy"] as? Bool == false)
        let staged = dir + "/steward.db.new"
        try FileManager.default.copyItem(atPath: other + "/steward.db", toPath: staged)
        #expect(rename(staged, dir + "/steward.db") == 0)
        // The old WAL belongs to the old file; SQLite must not apply it to the new one.
        unlink(dir + "/steward.db-wal")
        unlink(dir + "/steward.db-shm")
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/database/recycle").status == 200)
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/server_busy").json()["busy"] as? Bool == true)
        _ = try UnixHTTP.delete(daemon.socket, "/api/v4/server_busy")
    }

    @Test func busyStateSurvivesARestartAndClearsAtExpiry() throws {
        let restartDir = Paths.makeTempDir("api-restart")
        defer { try? FileManager.default.removeItem(atPath: restartDir) }
        let config = DaemonProcess.config(dataDir: restartDir)
        var first: DaemonProcess? = try DaemonProcess(dataDir: restartDir, config: config)
        #expect(try UnixHTTP.post(first!.socket, "/api/v4/server_busy?seconds=3").status == 200)
        let expires = try UnixHTTP.get(first!.socket, "/api/v4/server_busy").json()["expires"] as? Int
        first!.stop()
        first = nil

        let second = try DaemonProcess(dataDir: restartDir)
        let after = try UnixHTTP.get(second.socket, "/api/v4/server_busy").json()
        #expect(after["busy"] as? Bool == true)
        #expect(after["expires"] as? Int == expires)
        // Expiry is the daemon's timer, not the reader's: wait for the flag to clear itself.
        #expect(eventually(timeout: 8) { (try? UnixHTTP.get(second.socket, "/api/v4/server_busy").json()["busy"] as? Bool) == false })
        #expect(eventually(timeout: 3) { !second.logLines(containing: "server busy state expired").isEmpty })
    }
}

/// A thread-safe counter for concurrent test clients.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// HTTP/1.1 details real clients rely on.
@Suite("HTTP/1.1 behaviour", .serialized)
struct HTTPBehaviourEndToEndTests {
    let dir = Paths.makeTempDir("http")
    let daemon: DaemonProcess

    init() throws {
        daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws {
        let c = try UnixConnection(path: daemon.socket)
        try c.send(
            "POST /api/v4/server_busy?seconds=60 HTTP/1.1\r\nHost: _\r\n\r\nGET /api/v4/server_busy HTTP/1.1\r\nHost: _\r\n\r\n"
                + "DELETE /api/v4/server_busy HTTP/1.1\r\nHost: _\r\n\r\nGET /api/v4/server_busy HTTP/1.1\r\nHost: _\r\n\r\n")
        #expect(try c.readResponse().text == #"{"status":"OK"}"#)
        #expect(try c.readResponse().json()["busy"] as? Bool == true)
        #expect(try c.readResponse().status == 200)
        #expect(try c.readResponse().json()["busy"] as? Bool == false)
    }

    @Test func expectContinueGetsAnInterimAnswer() throws {
        let c = try UnixConnection(path: daemon.socket)
        try c.send("POST /api/v4/caches/invalidate HTTP/1.1\r\nHost: _\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        let interim = try c.readResponse()
        #expect(interim.status == 100)
        try c.send("{}")
        #expect(try c.readResponse().status == 200)
    }

    @Test func curlWithALargeBodyGetsItsContinue() throws {
        // A client that asks for a 100 (curl does for large bodies) gets it, instead of waiting out its timer.
        let body = "{\"pad\":\"" + String(repeating: "x", count: 4000) + "\"}"
        let r = try Command.run("/usr/bin/curl", ["-sv", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", daemon.socket,
                                                  "-X", "POST", "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
                                                  "--data", body, "http://_/api/v4/caches/invalidate"])
        #expect(r.stdout == "200")
        #expect(r.stderr.contains("> Expect: 100-continue") && r.stderr.contains("< HTTP/1.1 100 Continue"), "\(r.stderr)")
    }

    @Test func malformedRequestLineIs400AndCloses() throws {
        let c = try UnixConnection(path: daemon.socket)
        try c.send("GET /api/v4/system/ping HTTP/9.9\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 400)
        #expect(r.json()["id"] as? String == "api.context.bad_request.app_error")
        #expect(c.waitForClose())
    }

    @Test func http10ClosesAfterTheAnswer() throws {
        let c = try UnixConnection(path: daemon.socket)
        try c.send("GET /api/v4/system/ping HTTP/1.0\r\n\r\n")
        #expect(try c.readResponse().headers["connection"] == "close")
        #expect(c.waitForClose())
    }
}
