import Foundation
import StewardModel
import Testing

/// Blocking work runs at most `width` at a time, in order, and every item runs.
@Suite struct BlockingPoolTests {
    @Test func neverMoreThanItsWidthAtOnce() async throws {
        let pool = BlockingPool(label: "test", width: 3)
        let counts = Locked<(now: Int, peak: Int, done: [Int])>((0, 0, []))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await pool.run {
                        counts.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                        usleep(2000)  // blocks, as a SQLite call does
                        counts.withLock { $0.now -= 1; $0.done.append(i) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let c = counts.withLock { $0 }
        #expect(c.peak <= 3 && c.peak >= 1)
        #expect(c.done.sorted() == Array(0..<40))
        #expect(pool.waiting == 0)
    }

    @Test func errorsReachTheCaller() async {
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await BlockingPool(label: "t", width: 1).run { throw Boom() } }
    }
}
