import StewardModel
import Testing

@testable import LocalAPI

/// The connection caps: the places kept for administrators (so lesser peers cannot lock root out),
/// the per-uid cap across listeners, each listener's own caps, exact release, and reload.
@Suite struct ConnectionLimiterTests {
    func settings(
        max: Int = 10, perUID: Int = 10, reserved: Int? = 2,
        listeners: [ListenerSettings] = [ListenerSettings(name: "a", path: "/run/a.sock")]
    ) -> ServiceSettings {
        var s = ServiceSettings()
        s.maxConnections = max
        s.maxConnectionsPerUid = perUID
        s.reservedAdminConnections = reserved
        s.listeners = listeners
        return s
    }

    func limiter(_ s: ServiceSettings) -> ConnectionLimiter { ConnectionLimiter(caps: .init(s)) }

    @Test func capsComeFromTheSettings() throws {
        let caps = ConnectionLimiter.Caps(settings(
            max: 40, perUID: 6, reserved: nil,
            listeners: [ListenerSettings(name: "a", path: "/a"),
                        ListenerSettings(name: "b", path: "/b", maxConnections: 3, maxConnectionsPerUid: 2)]))
        #expect(caps.maxTotal == 40 && caps.maxPerUID == 6)
        #expect(caps.reservedForAdministrators == 5)
        let a = try #require(caps.listeners["a"])
        #expect(a.total == 40 && a.perUID == 6, "0 means the service-wide value")
        let b = try #require(caps.listeners["b"])
        #expect(b.total == 3 && b.perUID == 2)
    }

    @Test func nonAdministratorsStopAtTheReserve() {
        let l = limiter(settings(max: 10, reserved: 2))
        for uid in UInt32(1)...8 { #expect(l.acquire(uid: uid, listener: "a", administrator: false) == nil) }
        let refusal = l.acquire(uid: 9, listener: "a", administrator: false)
        #expect(refusal?.contains("kept for administrators") == true, "\(refusal ?? "granted")")
        #expect(l.openConnections == 8)
    }

    @Test func administratorsTakeTheReserveButNotBeyondTheTotal() {
        let l = limiter(settings(max: 10, reserved: 2))
        for uid in UInt32(1)...8 { _ = l.acquire(uid: uid, listener: "a", administrator: false) }
        #expect(l.acquire(uid: 0, listener: "a", administrator: true) == nil)
        #expect(l.acquire(uid: 0, listener: "a", administrator: true) == nil)
        let refusal = l.acquire(uid: 0, listener: "a", administrator: true)
        #expect(refusal?.contains("10 in total") == true, "\(refusal ?? "granted")")
        #expect(l.openConnections == 10)
        #expect(l.acquire(uid: 50, listener: "a", administrator: false) != nil)
    }

    @Test func administratorsMayAlsoTakeOrdinaryPlaces() {
        let l = limiter(settings(max: 4, reserved: 1))
        for _ in 0..<4 { #expect(l.acquire(uid: 0, listener: "a", administrator: true) == nil) }
        #expect(l.acquire(uid: 0, listener: "a", administrator: true) != nil)
    }

    @Test func perUIDCapCountsEveryListener() {
        let l = limiter(settings(
            max: 100, perUID: 3,
            listeners: [ListenerSettings(name: "a", path: "/a"), ListenerSettings(name: "b", path: "/b")]))
        #expect(l.acquire(uid: 1000, listener: "a", administrator: false) == nil)
        #expect(l.acquire(uid: 1000, listener: "b", administrator: false) == nil)
        #expect(l.acquire(uid: 1000, listener: "a", administrator: false) == nil)
        let refusal = l.acquire(uid: 1000, listener: "b", administrator: false)
        #expect(refusal?.contains("uid 1000 (3)") == true, "\(refusal ?? "granted")")
        #expect(l.acquire(uid: 1001, listener: "b", administrator: false) == nil)
    }

    @Test func listenerHasItsOwnTotalAndPerUIDCaps() {
        let l = limiter(settings(
            max: 100, perUID: 50,
            listeners: [ListenerSettings(name: "a", path: "/a"),
                        ListenerSettings(name: "b", path: "/b", maxConnections: 3, maxConnectionsPerUid: 2)]))
        #expect(l.acquire(uid: 1, listener: "b", administrator: false) == nil)
        #expect(l.acquire(uid: 1, listener: "b", administrator: false) == nil)
        let perUID = l.acquire(uid: 1, listener: "b", administrator: false)
        #expect(perUID?.contains("uid 1 on listener b (2)") == true, "\(perUID ?? "granted")")
        // The same uid is still welcome on the other listener.
        #expect(l.acquire(uid: 1, listener: "a", administrator: false) == nil)
        #expect(l.acquire(uid: 2, listener: "b", administrator: false) == nil)
        let total = l.acquire(uid: 3, listener: "b", administrator: false)
        #expect(total?.contains("on listener b (3)") == true, "\(total ?? "granted")")
        // A listener's cap binds administrators too.
        #expect(l.acquire(uid: 0, listener: "b", administrator: true) != nil)
        #expect(l.acquire(uid: 3, listener: "a", administrator: false) == nil)
    }

    @Test func listenerWithZeroCapsUsesTheServiceWideOnes() {
        let l = limiter(settings(max: 100, perUID: 2, listeners: [ListenerSettings(name: "a", path: "/a")]))
        #expect(l.acquire(uid: 5, listener: "a", administrator: false) == nil)
        #expect(l.acquire(uid: 5, listener: "a", administrator: false) == nil)
        #expect(l.acquire(uid: 5, listener: "a", administrator: false) != nil)
    }

    @Test func releaseGivesBackExactlyWhatWasTaken() {
        let l = limiter(settings(
            max: 10, perUID: 4, reserved: 2,
            listeners: [ListenerSettings(name: "a", path: "/a", maxConnections: 6, maxConnectionsPerUid: 4)]))
        for round in 0..<3 {
            for _ in 0..<4 { #expect(l.acquire(uid: 7, listener: "a", administrator: false) == nil, "round \(round)") }
            #expect(l.acquire(uid: 7, listener: "a", administrator: false) != nil, "round \(round)")
            #expect(l.openConnections == 4)
            for _ in 0..<4 { l.release(uid: 7, listener: "a") }
            #expect(l.openConnections == 0)
        }
        // Places given back by one uid are free for another, up to the listener's total.
        for uid in UInt32(20)..<26 { #expect(l.acquire(uid: uid, listener: "a", administrator: false) == nil) }
        #expect(l.acquire(uid: 30, listener: "a", administrator: false) != nil)
    }

    @Test func releaseFreesAReservedPlaceForTheNextAdministratorOnly() {
        let l = limiter(settings(max: 3, reserved: 1))
        _ = l.acquire(uid: 1, listener: "a", administrator: false)
        _ = l.acquire(uid: 2, listener: "a", administrator: false)
        #expect(l.acquire(uid: 0, listener: "a", administrator: true) == nil)
        l.release(uid: 0, listener: "a")
        #expect(l.acquire(uid: 3, listener: "a", administrator: false) != nil)
        #expect(l.acquire(uid: 0, listener: "a", administrator: true) == nil)
    }

    @Test func updateAppliesNewCaps() {
        let l = limiter(settings(max: 10, perUID: 10, reserved: 0))
        for uid in UInt32(1)...4 { _ = l.acquire(uid: uid, listener: "a", administrator: false) }
        l.update(.init(settings(max: 4, perUID: 10, reserved: 0)))
        #expect(l.acquire(uid: 5, listener: "a", administrator: false) != nil)
        l.update(.init(settings(max: 20, perUID: 1, reserved: 0)))
        #expect(l.acquire(uid: 5, listener: "a", administrator: false) == nil)
        #expect(l.acquire(uid: 5, listener: "a", administrator: false) != nil, "the new per-uid cap holds")
        #expect(l.openConnections == 5)
    }

    @Test func capsCompareByValue() {
        let s = settings(listeners: [ListenerSettings(name: "a", path: "/a", maxConnections: 3)])
        #expect(ConnectionLimiter.Caps(s) == ConnectionLimiter.Caps(s))
        var other = s
        other.listeners[0].maxConnections = 4
        #expect(ConnectionLimiter.Caps(s) != ConnectionLimiter.Caps(other))
        other = s
        other.listeners[0].name = "b"
        #expect(ConnectionLimiter.Caps(s) != ConnectionLimiter.Caps(other))
    }
}
