import Foundation
import Logging
import Maintenance
import StewardModel
import Store
import Testing

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    let now = Locked<Int64>(1_800_000_000_000)
    var clock: WallClock { WallClock { [self] in now.withLock { $0 } } }
    func advance(ms: Int64) { now.withLock { $0 += ms } }
}

@Suite struct ServerBusyServiceTests {
    let logger = Logger(label: "test")

    func service(_ store: any SQLStore, _ clock: WallClock) -> ServerBusyService {
        ServerBusyService(store: store, clock: clock, logger: logger)
    }

    @Test(arguments: [("", Int64(3600)), ("1", 1), ("86400", 86400), ("+5", 5)])
    func parsesValidSeconds(raw: String, expected: Int64) throws {
        #expect(try ServerBusyService.parseSeconds(raw) == expected)
        #expect(try ServerBusyService.parseSeconds(nil) == 3600)
    }

    @Test(arguments: ["-1", "0", "86401", "abc", "1.5", " 5", "99999999999999999999"])
    func rejectsInvalidSeconds(raw: String) {
        #expect(throws: MaintenanceError.invalidBusySeconds(raw)) { try ServerBusyService.parseSeconds(raw) }
    }

    @Test(arguments: StoreKind.available) func setGetClearWithAManualClock(_ kind: StoreKind) async throws {
        let clock = ManualClock()
        let busy = service(try kind.make(migrations: MaintenanceSchema.migrations).store, clock.clock)
        defer { busy.shutdown() }
        #expect(busy.state() == ServerBusyState(expiresAt: nil))
        try await busy.set(seconds: 60)
        let state = busy.state()
        #expect(state.busy)
        #expect(state.expires == 1_800_000_060)
        clock.advance(ms: 59_999)
        #expect(busy.isBusy())
        clock.advance(ms: 1)
        #expect(busy.isBusy() == false, "expired at exactly now+seconds")
        try await busy.set(seconds: 10)
        try await busy.clear()
        #expect(busy.state() == ServerBusyState(expiresAt: nil))
    }

    @Test(arguments: StoreKind.available) func stateIsPersistedAcrossInstances(_ kind: StoreKind) async throws {
        let clock = ManualClock()
        let (store, reopen) = try kind.make(migrations: MaintenanceSchema.migrations)
        let first = service(store, clock.clock)
        try await first.set(seconds: 120)
        first.shutdown()
        let second = service(try reopen(), clock.clock)
        defer { second.shutdown() }
        try await second.resume()
        #expect(second.state().expires == 1_800_000_120)
    }

    @Test(arguments: StoreKind.available) func expiryTimerClearsTheRowAndNotifies(_ kind: StoreKind) async throws {
        let busy = service(try kind.make(migrations: MaintenanceSchema.migrations).store, .system)
        defer { busy.shutdown() }
        let changes = Locked<[Bool]>([])
        busy.onChange { v in changes.withLock { $0.append(v) } }
        try await busy.set(seconds: 1)
        // The timer fires at the expiry; on a loaded machine a little later: wait up to 10 s for it.
        for _ in 0..<100 where changes.withLock({ $0 }) != [true, false] { try await Task.sleep(for: .milliseconds(100)) }
        #expect(busy.isBusy() == false)
        #expect(changes.withLock { $0 } == [true, false])
    }
}
