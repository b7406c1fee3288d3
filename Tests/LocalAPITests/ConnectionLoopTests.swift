import Foundation
import StewardModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import LocalAPI

/// The serving thread as an executor: what handlers rely on to answer from their connection's thread.
@Suite struct ConnectionLoopTests {
    private func makeLoop() throws -> ConnectionLoop {
        let loop = try ConnectionLoop()
        try loop.start()
        return loop
    }

    /// The loop's thread ends on `stop` (tests no longer leak serving threads), and work handed to
    /// it afterwards still runs — elsewhere — so a task preferring a stopped loop is not lost.
    @Test func aStoppedLoopEndsItsThreadAndWorkStillRuns() async throws {
        let loop = try makeLoop()
        let tid = await withCheckedContinuation { (done: CheckedContinuation<String, Never>) in loop.execute { done.resume(returning: Self.threadID()) } }
        #expect(FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)"))
        loop.stop()
        var ended = false
        for _ in 0..<1000 where !ended {
            try await Task.sleep(for: .milliseconds(10))
            ended = !FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)")
        }
        #expect(ended, "the serving thread exited")
        let ranOffLoop = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            loop.execute { done.resume(returning: !loop.inLoop) }
        }
        #expect(ranOffLoop)
        let value = await Task(executorPreference: loop) { 42 }.value
        #expect(value == 42, "a task preferring the stopped loop still runs")
    }

    /// The calling thread's id, from /proc/thread-self ("PID/task/TID").
    private static func threadID() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"))?.split(separator: "/").last.map(String.init) ?? ""
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
        loop.stop()
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
        loop.stop()
    }

    private final class Record: Sendable {
        let seen: Locked<[[Int]]>
        let offLoop = Atomic<Int>(0)
        init(senders: Int) { seen = Locked(Array(repeating: [], count: senders)) }
    }
}
