import Dispatch
import Foundation
import StewardModel
import Store
import Testing

@testable import Integrity

/// The parent sets child units wait on while other threads still read them.
@Suite struct ParentKeysTests {
    struct ReadFailed: Error {}

    @Test func aUnitWaitsOnlyForTheSetsItNeeds() throws {
        let users = ParentKeys.Key(table: "Users", key: "Id"), posts = ParentKeys.Key(table: "Posts", key: "Id")
        let sets = ParentSets([users, posts, ParentKeys.Key(table: "users", key: "ID")])
        #expect(sets.keys.map(\.name) == [users.name, posts.name], "one key per name, in order")
        #expect(!sets.ready([users.name]) && !sets.ready([posts.name]))
        sets.publish(users.name, .success((IDSet(expected: 1), 3)))
        #expect(sets.ready([users.name]))
        #expect(!sets.ready([users.name, posts.name]), "Posts is still being read")
        #expect(try sets.sets([users.name]).keys.sorted() == [users.name])

        // A waiter on Posts is released when another thread publishes it.
        let waiting = DispatchSemaphore(value: 0), released = DispatchSemaphore(value: 0)
        let got = Locked<[String]>([])
        Thread.detachNewThread {
            waiting.signal()
            let names = (try? sets.sets([posts.name]))?.keys.sorted() ?? []
            got.withLock { $0 = names }
            released.signal()
        }
        waiting.wait()
        // Most likely blocked in `sets` by now (if not, it finds the set published: same answer).
        Thread.sleep(forTimeInterval: 0.05)
        #expect(got.withLock { $0 }.isEmpty, "nothing before the set is published")
        sets.publish(posts.name, .success((IDSet(expected: 1), 5)))
        released.wait()
        #expect(got.withLock { $0 } == [posts.name])
        #expect(sets.snapshot().rows == 8)
        // Published twice (two relations naming one key): the second changes nothing and does
        // not release the group again (an unbalanced leave traps).
        sets.publish(posts.name, .success((IDSet(expected: 1), 7)))
        #expect(sets.snapshot().rows == 8)
    }

    @Test func aFailedReadIsThrownToItsUnitsAndTheRun() {
        let k = ParentKeys.Key(table: "Sessions", key: "Id")
        let sets = ParentSets([k])
        sets.publish(k.name, .failure(ReadFailed()))
        #expect(sets.ready([k.name]), "a failed set does not keep anyone waiting")
        #expect(throws: ReadFailed.self) { try sets.sets([k.name]) }
        #expect(sets.snapshot().failure is ReadFailed)
    }
}
