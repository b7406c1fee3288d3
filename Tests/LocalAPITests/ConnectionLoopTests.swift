import Synchronization
import Testing

@testable import LocalAPI

/// The serving thread as an executor: what handlers rely on to answer from their connection's thread.
@Suite struct ConnectionLoopTests {
    private func makeLoop() throws -> ConnectionLoop {
        let loop = try ConnectionLoop()
        try loop.start()
        return loop
    }

    @Test func tasksPreferringTheLoopRunOnItsThreadBeforeAndAfterASuspension() async throws {
        let loop = try makeLoop()
        #expect(!loop.inLoop, "the test itself is not on the loop")
        let (before, after) = await Task(executorPreference: loop) {
            let before = loop.inLoop
            try? await Task.sleep(for: .milliseconds(5))  // resumes through the loop's queue
            return (before, loop.inLoop)
        }.value
        #expect(before && after)
    }

    @Test func workFromManyThreadsRunsOnceEachAndInOrderPerSender() async throws {
        let loop = try makeLoop()
        let senders = 4, each = 2000
        let record = Record(senders: senders)
        await withTaskGroup(of: Void.self) { group in
            for s in 0..<senders {
                group.addTask {
                    for i in 0..<each {
                        loop.execute {
                            if !loop.inLoop { record.offLoop.add(1, ordering: .relaxed) }
                            record.seen.withLock { $0[s].append(i) }
                        }
                    }
                }
            }
        }
        // Everything queued before this marker has run once the marker runs.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in loop.execute { done.resume() } }
        #expect(record.offLoop.load(ordering: .relaxed) == 0)
        #expect(record.seen.withLock { $0 } == Array(repeating: Array(0..<each), count: senders))
    }

    private final class Record: Sendable {
        let seen: Mutex<[[Int]]>
        let offLoop = Atomic<Int>(0)
        init(senders: Int) { seen = Mutex(Array(repeating: [], count: senders)) }
    }
}
