import Foundation
import LocalAPI
import Integrity
import Logging
import Maintenance
import StewardModel
import Store
import Testing

/// The request path in process, with injected peers: no socket, real SQLite store.
@Suite struct DispatcherTests {
    let dispatcher: Dispatcher
    let root = PeerCredentials(uid: 0, gid: 0, pid: 10, groups: [])
    let stranger = PeerCredentials(uid: 4321, gid: 4321, pid: 11, groups: [])

    init() throws {
        dispatcher = try makeTestDispatcher(rules: [PolicyRule(uids: [0], roles: ["system_admin"])], label: "dispatch")
    }

    func call(_ method: String, _ uri: String, peer: PeerCredentials, body: String = "") async -> (Int, [String: Any], [(name: String, value: String)]) {
        let r = await dispatcher.dispatch(APIRequest(method: method, uri: uri, body: Array(body.utf8), peer: peer))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        return (r.status, json, r.headers)
    }

    @Test func notFoundComesBeforeAccess() async {
        let (status, body, _) = await call("GET", "/api/v4/nothing", peer: stranger)
        #expect(status == 404)
        #expect(body["id"] as? String == ErrorID.notFound)
    }

    @Test func deniedPeerGets403NamingUidAndPermission() async {
        let (status, body, _) = await call("POST", "/api/v4/database/recycle", peer: stranger)
        #expect(status == 403)
        #expect(body["detailed_error"] as? String == "uid=4321, permission=recycle_database_connections")
        #expect(NewID.isValid(body["request_id"] as? String ?? ""))
    }

    @Test func accessIsCheckedBeforeTheBody() async {
        // A stranger's malformed body is a 403, never a parse of untrusted input.
        let (status, _, _) = await call("POST", "/api/v4/caches/invalidate", peer: stranger, body: "{nope")
        #expect(status == 403)
        let (rootStatus, body, _) = await call("POST", "/api/v4/caches/invalidate", peer: root, body: "{nope")
        #expect(rootStatus == 400)
        #expect(body["id"] as? String == ErrorID.malformedJSON)
    }

    @Test func queryIsDecodedLikeGo() async {
        let before = Int(Date().timeIntervalSince1970)
        let (status, _, _) = await call("POST", "/api/v4/server_busy?seconds=%3120&seconds=9", peer: root)
        let after = Int(Date().timeIntervalSince1970) + 1
        #expect(status == 200)
        let (_, state, _) = await call("GET", "/api/v4/server_busy", peer: root)
        let expires = state["expires"] as? Int ?? 0
        // "%31" is "1": 120 seconds from when the request ran (the first `seconds` wins, as in Go).
        #expect((before + 120...after + 120).contains(expires), "\(expires) not in \(before + 120)...\(after + 120)")
    }

    @Test func wrongMethodListsAllowed() async {
        let (status, _, headers) = await call("DELETE", "/api/v4/system/ping", peer: root)
        #expect(status == 405)
        #expect(headers.contains { $0.name == "Allow" && $0.value == "GET" })
    }
}
