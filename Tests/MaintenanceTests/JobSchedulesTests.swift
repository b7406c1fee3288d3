import Foundation
import Maintenance
import StewardModel
import Store
import Testing

/// Creations in a schedule window (`once_per`): one job per type, data and window, however many
/// callers — on a real SQLite file and on a real PostgreSQL server, the callers of the latter
/// with pools of their own as separate nodes have.
@Suite struct JobSchedulesTests {
    static let day: Int64 = 86_400

    @Test func periodsAreWholeUnitsBetweenAMinuteAndAYear() {
        #expect(ScheduleWindow.parsePeriod("24h") == 86_400)
        #expect(ScheduleWindow.parsePeriod("7d") == 604_800)
        #expect(ScheduleWindow.parsePeriod("90s") == 90)
        #expect(ScheduleWindow.parsePeriod("30m") == 1800)
        #expect(ScheduleWindow.parsePeriod("3600") == 3600)
        for bad in ["", "h", "59s", "0", "-1h", "1.5h", "24H", "1w", "367d", "99999999999999d", " 24h", "24h ", "2 4h", "１h"] {
            #expect(ScheduleWindow.parsePeriod(bad) == nil, "\(bad)")
        }
    }

    @Test func windowsAreAlignedToTheEpoch() {
        let midnight: Int64 = 1_764_633_600_000  // 2025-12-02T00:00:00Z
        let w = ScheduleWindow(periodSeconds: Self.day, now: midnight + 9_000_000)
        #expect(w.startMilliseconds == midnight && w.endMilliseconds == midnight + 86_400_000)
        #expect(ScheduleWindow(periodSeconds: Self.day, now: midnight).startMilliseconds == midnight)
        #expect(ScheduleWindow(periodSeconds: Self.day, now: midnight - 1).startMilliseconds == midnight - 86_400_000)
    }

    /// A clock the test moves.
    final class TestClock: Sendable {
        let now = Locked<Int64>(1_764_633_600_000 + 3_600_000)
        var clock: WallClock { WallClock { [now] in now.withLock { $0 } } }
    }

    @Test(arguments: StoreKind.available) func oneJobPerWindowTypeAndData(_ kind: StoreKind) async throws {
        let time = TestClock()
        let jobs = JobStore(db: try kind.make().store, clock: time.clock, nodeName: "node-a")
        guard case .created(let first) = try await jobs.create(type: "db_optimize", data: [:], oncePer: Self.day) else {
            Issue.record("the first creation creates"); return
        }
        time.now.withLock { $0 += 20 * 3_600_000 }  // 21:00, same day
        guard case .existing(let again) = try await jobs.create(type: "db_optimize", data: [:], oncePer: Self.day) else {
            Issue.record("a second creation in the window does not"); return
        }
        #expect(again.id == first.id)
        // Other data, another type or another period: other windows.
        guard case .created = try await jobs.create(type: "db_optimize", data: ["vacuum_full": "true"], oncePer: Self.day),
              case .created = try await jobs.create(type: "integrity_check", data: [:], oncePer: Self.day),
              case .created = try await jobs.create(type: "db_optimize", data: [:], oncePer: 3600)
        else { Issue.record("distinct keys create"); return }
        time.now.withLock { $0 += 4 * 3_600_000 }  // 01:00 the next day
        guard case .created(let next) = try await jobs.create(type: "db_optimize", data: [:], oncePer: Self.day) else {
            Issue.record("the next window creates again"); return
        }
        #expect(next.id != first.id)
        let all = try await jobs.db.readSQL { conn in try conn.first("SELECT count(*) FROM Jobs") { $0.int64(0) } }
        #expect(all == 5)
        // Ended windows' keys are removed as new ones are written.
        let keys = try await jobs.db.readSQL { conn in try conn.first("SELECT count(*) FROM StewardJobSchedules") { $0.int64(0) } }
        #expect(keys == 1, "only the open window's key is left")
    }

    @Test(arguments: StoreKind.available) func aDeletedWindowJobKeepsTheWindowTaken(_ kind: StoreKind) async throws {
        let jobs = JobStore(db: try kind.make().store, nodeName: "node-a")
        guard case .created(let job) = try await jobs.create(type: "db_optimize", data: [:], oncePer: Self.day) else {
            Issue.record("created"); return
        }
        try await jobs.delete(job.id)
        await #expect(throws: JobError.windowTaken(jobId: job.id)) {
            _ = try await jobs.create(type: "db_optimize", data: [:], oncePer: Self.day)
        }
    }

    /// Twelve callers at once — on PostgreSQL through three pools, as three nodes — create one job.
    @Test(arguments: StoreKind.available) func concurrentCallersCreateOneJob(_ kind: StoreKind) async throws {
        let made = try kind.make()
        let stores = [made.store, try made.reopen(), try made.reopen()]
        let results = try await withThrowingTaskGroup(of: (Bool, String).self) { group in
            for i in 0..<12 {
                let jobs = JobStore(db: stores[i % 3], nodeName: "node-\(i % 3)")
                group.addTask {
                    switch try await jobs.create(type: "db_backup", data: [:], oncePer: Self.day) {
                    case .created(let j): return (true, j.id)
                    case .existing(let j): return (false, j.id)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter(\.0).count == 1, "\(results)")
        #expect(Set(results.map(\.1)).count == 1, "every caller got the one job")
        let count = try await made.store.readSQL { conn in try conn.first("SELECT count(*) FROM Jobs") { $0.int64(0) } }
        #expect(count == 1)
    }
}
