import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The connection path under the ways real clients use it: half-closed sockets, bursts of
/// one-request connections spread over the serving threads, clients that hang up early.
@Suite("Transport", .serialized)
struct TransportEndToEndTests {
    let dir = Paths.makeTempDir("transport")

    /// A client may shut down its sending side right after the request (`nc -N`, some scripts):
    /// it still gets the answer, from a handler answered at once (ping) and from one that reads
    /// the store (the jobs list).
    @Test func halfClosedClientStillGetsItsAnswer() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        for path in ["/api/v4/system/ping", "/api/v4/jobs", "/api/v4/server_busy"] {
            let c = try UnixConnection(path: daemon.socket)
            try c.send("GET \(path) HTTP/1.1\r\nHost: _\r\n\r\n")
            #expect(shutdown(c.fd, Int32(SHUT_WR)) == 0)
            let r = try c.readResponse()
            #expect(r.status == 200, "\(path)")
            #expect(c.waitForClose(), "\(path): closed after the answer, since the client sends nothing more")
        }
        // A request cut off by the half-close is not answered, and the daemon goes on serving.
        let cut = try UnixConnection(path: daemon.socket)
        try cut.send("GET /api/v4/system/ping HTTP/1.1\r\nHost:")
        #expect(shutdown(cut.fd, Int32(SHUT_WR)) == 0)
        #expect(cut.waitForClose())
        #expect(try UnixHTTP.get(daemon.socket, "/api/v4/system/ping").status == 200)
    }

    /// Many clients, each one request per connection, at once: every request is answered once,
    /// and every connection's place under the per-uid cap is given back (the cap still admits
    /// exactly its number of connections afterwards, and refuses one more).
    @Test func burstsOfOneRequestConnectionsAreAnsweredAndReleased() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A connection's place comes back just after its answer is written, so each client's next
        // connection may briefly count twice: the cap allows for that.
        let clients = 16, each = 40, cap = 2 * clients
        var config = DaemonProcess.config(dataDir: dir)
        config.serviceSettings.maxConnectionsPerUid = cap
        config.serviceSettings.maxConnections = cap
        let daemon = try DaemonProcess(dataDir: dir, config: config)
        let ids = Locked<[String]>([])
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: clients) { _ in
            for i in 0..<each {
                do {
                    let path = i % 2 == 0 ? "/api/v4/system/ping" : "/api/v4/server_busy"
                    let r = try UnixHTTP.get(daemon.socket, path)
                    guard r.status == 200, let id = r.headers["x-request-id"] else {
                        failures.withLock { $0.append("\(path): \(r.status) \(r.text)") }
                        continue
                    }
                    ids.withLock { $0.append(id) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(ids.withLock { Set($0).count } == clients * each, "one answer per request, each with its own request id")

        // Closing is the server's last step after the answer, so give the last few a moment.
        var held: [UnixConnection] = []
        let admitted = eventually {
            held = []
            for _ in 0..<cap {
                guard let c = try? UnixConnection(path: daemon.socket),
                      (try? c.send("GET /api/v4/system/ping HTTP/1.1\r\nHost: _\r\n\r\n")) != nil,
                      (try? c.readResponse())?.status == 200 else { return false }
                held.append(c)
            }
            return true
        }
        #expect(admitted, "all \(cap) places are free again after the burst")
        let extra = try UnixConnection(path: daemon.socket)
        #expect(try extra.readResponse().status == 503, "and the cap still holds")
    }

    /// Requests on keep-alive connections from many threads at once reach the right connection's
    /// answer: each client checks it gets its own request's answer back, in order.
    @Test func concurrentKeepAliveClientsGetTheirOwnAnswers() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { client in
            do {
                let c = try UnixConnection(path: daemon.socket)
                for i in 0..<100 {
                    // The 404 body names the path, so a crossed answer would show.
                    let path = "/api/v4/nothing/\(client)/\(i)"
                    try c.send("GET \(path) HTTP/1.1\r\nHost: _\r\n\r\n")
                    let r = try c.readResponse()
                    if r.status != 404 || !r.text.contains(path + "'") {
                        failures.withLock { $0.append("\(path): \(r.status) \(r.text)") }
                    }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
    }
}
