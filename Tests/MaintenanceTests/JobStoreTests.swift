import Foundation
import Maintenance
import StewardModel
import Store
import Testing

/// The store's side of a job's end: the state machine's rule applied to the status read in the
/// same write transaction — on a real SQLite file and on a real PostgreSQL server.
@Suite struct JobStoreTests {
    func store(_ kind: StoreKind) throws -> JobStore {
        JobStore(db: try kind.make().store)
    }

    func running(_ jobs: JobStore, progress: Int64 = 40) async throws -> Job {
        let job = try await jobs.create(type: "db_optimize", data: ["k": "v"])
        #expect(try await jobs.transition(job.id, from: .pending, to: .inProgress, starting: true))
        try await jobs.setProgress(job.id, progress)
        return job
    }

    @Test(arguments: StoreKind.available) func aRunningJobEndsWithItsWorkersOutcome(_ kind: StoreKind) async throws {
        let jobs = try store(kind)
        let job = try await running(jobs)
        #expect(try await jobs.finish(job.id, outcome: .warning, data: ["k": "v", "note": "x"]) == .warning)
        let after = try #require(try await jobs.get(job.id))
        #expect(after.status == .warning && after.progress == 100 && after.data == ["k": "v", "note": "x"])

        let failing = try await running(jobs)
        #expect(try await jobs.finish(failing.id, outcome: .error, data: ["error": "boom"]) == .error)
        #expect(try await jobs.get(failing.id)?.progress == -1)
    }

    @Test(arguments: StoreKind.available) func aCancelThatArrivedMeanwhileWinsAndKeepsTheProgress(_ kind: StoreKind) async throws {
        let jobs = try store(kind)
        let job = try await running(jobs, progress: 70)
        #expect(try await jobs.transition(job.id, from: .inProgress, to: .cancelRequested))
        #expect(try await jobs.finish(job.id, outcome: .success, data: [:]) == .canceled)
        let after = try #require(try await jobs.get(job.id))
        #expect(after.status == .canceled && after.progress == 70)
    }

    @Test(arguments: StoreKind.available) func aJobSomeoneElseEndedKeepsItsStatus(_ kind: StoreKind) async throws {
        let jobs = try store(kind)
        let forced = try await running(jobs)
        #expect(try await jobs.transition(forced.id, from: nil, to: .success))  // PATCH …/status with force
        #expect(try await jobs.finish(forced.id, outcome: .error, data: ["error": "late"]) == nil)
        #expect(try await jobs.get(forced.id)?.status == .success)

        let requeued = try await running(jobs)
        #expect(try await jobs.transition(requeued.id, from: .inProgress, to: .pending))  // the store itself does not check the state machine
        #expect(try await jobs.finish(requeued.id, outcome: .success, data: [:]) == nil)
        #expect(try await jobs.get(requeued.id)?.status == .pending, "it runs again")
    }

    /// A job whose worker still runs is not claimed again, even when it is `pending` in the store
    /// (forced back): the next pending job is claimed instead, and the first once its run ended.
    @Test(arguments: StoreKind.available) func aJobWhoseWorkerRunsIsNotClaimedAgain(_ kind: StoreKind) async throws {
        let jobs = try store(kind)
        let first = try await jobs.create(type: "db_optimize", data: [:])
        let second = try await jobs.create(type: "db_optimize", data: [:])
        #expect(try await jobs.claimNext(types: ["db_optimize"], excluding: [first.id])?.id == second.id)
        #expect(try await jobs.claimNext(types: ["db_optimize"], excluding: [first.id]) == nil)
        #expect(try await jobs.claimNext(types: ["db_optimize"])?.id == first.id)
    }

    /// A claim whose answer never reached its node (the connection broke after the commit): once
    /// it is older than a lease, and only if no worker of the node runs it, the job is pending
    /// again (canceled if a cancel was asked meanwhile); another node's claims are not touched.
    @Test(arguments: StoreKind.available) func aClaimTheNodeNeverStartedGoesBackToPending(_ kind: StoreKind) async throws {
        let made = try kind.make()
        let now = Locked<Int64>(1_000_000_000)
        let clock = WallClock { now.withLock { $0 } }
        let a = JobStore(db: made.store, clock: clock, nodeName: "node-a")
        let b = JobStore(db: made.store, clock: clock, nodeName: "node-b")
        for _ in 0..<4 { _ = try await a.create(type: "db_optimize", data: [:]) }
        let lost = try #require(try await a.claimNext(types: ["db_optimize"]))
        let started = try #require(try await a.claimNext(types: ["db_optimize"]))
        let canceled = try #require(try await a.claimNext(types: ["db_optimize"]))
        #expect(try await a.transition(canceled.id, from: .inProgress, to: .cancelRequested))
        let elsewhere = try #require(try await b.claimNext(types: ["db_optimize"]))

        #expect(try await a.releaseUntracked(running: [started.id]).isEmpty, "claims younger than a lease are left alone")
        now.withLock { $0 += ClusterNodes.leaseMilliseconds + 1 }
        let released = try await a.releaseUntracked(running: [started.id])
        #expect(Set(released.map(\.id)) == [lost.id, canceled.id])
        #expect(try await a.get(lost.id)?.status == .pending)
        #expect(try await a.get(canceled.id)?.status == .canceled)
        #expect(try await a.get(started.id)?.status == .inProgress, "its worker runs")
        #expect(try await a.get(elsewhere.id)?.status == .inProgress, "node-b's claim")
        #expect(try await a.claimNext(types: ["db_optimize"])?.id == lost.id, "claimed again")
    }
}
