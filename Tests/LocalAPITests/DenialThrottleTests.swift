import Maintenance
import Testing

@testable import LocalAPI

/// The journal flood guard: a denied peer in a loop gets `perInterval` full entries per interval
/// and kind, then one summary with the exact count of what was suppressed; the table of peers
/// stays bounded. Times are explicit instants, so nothing sleeps.
@Suite struct DenialThrottleTests {
    let t0 = ContinuousClock.now

    func throttle(perInterval: Int = 3, maxPeers: Int = 4096) -> DenialThrottle {
        DenialThrottle(perInterval: perInterval, interval: .seconds(10), maxPeers: maxPeers)
    }

    @Test func firstEntriesAreWrittenThenSuppressed() {
        let d = throttle()
        for i in 0..<3 {
            let r = d.admit(.accessDenied, uid: 7, now: t0 + .seconds(i))
            #expect(r.write && r.summary == nil, "entry \(i)")
        }
        for i in 3..<6 {
            let r = d.admit(.accessDenied, uid: 7, now: t0 + .seconds(i))
            #expect(!r.write && r.summary == nil, "entry \(i)")
        }
    }

    @Test func nextAdmitAfterTheIntervalCarriesTheSummary() {
        let d = throttle()
        for _ in 0..<8 { _ = d.admit(.accessDenied, uid: 7, now: t0) }
        // Not over yet, just before the end.
        #expect(d.admit(.accessDenied, uid: 7, now: t0 + .seconds(10) - .nanoseconds(1)).summary == nil)
        let r = d.admit(.accessDenied, uid: 7, now: t0 + .seconds(11))
        #expect(r.write)
        #expect(r.summary == DenialThrottle.Summary(kind: .accessDenied, uid: 7, suppressed: 6, seconds: 10))
        // A new interval began: its own entries are written again, no summary twice.
        let again = d.admit(.accessDenied, uid: 7, now: t0 + .seconds(12))
        #expect(again.write && again.summary == nil)
    }

    @Test func intervalEndsExactlyAtItsLength() {
        let d = throttle(perInterval: 1)
        _ = d.admit(.accessDenied, uid: 7, now: t0)
        _ = d.admit(.accessDenied, uid: 7, now: t0)
        let r = d.admit(.accessDenied, uid: 7, now: t0 + .seconds(10))
        #expect(r.write && r.summary?.suppressed == 1)
    }

    @Test func noSummaryWhenNothingWasSuppressed() {
        let d = throttle()
        _ = d.admit(.accessDenied, uid: 7, now: t0)
        _ = d.admit(.accessDenied, uid: 7, now: t0)
        let r = d.admit(.accessDenied, uid: 7, now: t0 + .seconds(30))
        #expect(r.write && r.summary == nil)
        #expect(d.flush(now: t0 + .seconds(60)).isEmpty)
    }

    @Test func kindsAndUIDsAreCountedSeparately() {
        let d = throttle(perInterval: 2)
        for _ in 0..<5 { _ = d.admit(.accessDenied, uid: 7, now: t0) }
        #expect(!d.admit(.accessDenied, uid: 7, now: t0).write)
        #expect(d.admit(.connectionRefused, uid: 7, now: t0).write)
        #expect(d.admit(.accessDenied, uid: 8, now: t0).write)
        for _ in 0..<3 { _ = d.admit(.connectionRefused, uid: 7, now: t0) }
        let summaries = d.flush(now: t0 + .seconds(10)).sorted { "\($0.kind)\($0.uid)" < "\($1.kind)\($1.uid)" }
        #expect(summaries == [
            .init(kind: .accessDenied, uid: 7, suppressed: 4, seconds: 10),
            .init(kind: .connectionRefused, uid: 7, suppressed: 2, seconds: 10),
        ])
    }

    @Test func flushWritesOnlyEndedIntervalsAndForgetsThem() {
        let d = throttle(perInterval: 1)
        for _ in 0..<4 { _ = d.admit(.accessDenied, uid: 7, now: t0) }
        for _ in 0..<2 { _ = d.admit(.accessDenied, uid: 9, now: t0 + .seconds(5)) }
        #expect(d.flush(now: t0 + .seconds(9)).isEmpty)
        #expect(d.flush(now: t0 + .seconds(11)) == [.init(kind: .accessDenied, uid: 7, suppressed: 3, seconds: 10)])
        // Written once, never again.
        #expect(d.flush(now: t0 + .seconds(12)).isEmpty)
        let fresh = d.admit(.accessDenied, uid: 7, now: t0 + .seconds(12))
        #expect(fresh.write && fresh.summary == nil)
        // uid 9's interval ends later.
        #expect(d.flush(now: t0 + .seconds(15)) == [.init(kind: .accessDenied, uid: 9, suppressed: 1, seconds: 10)])
    }

    @Test func flushForgetsQuietPeers() {
        // Two places only: after a flush, both quiet peers are gone and new peers get their own.
        let d = throttle(perInterval: 1, maxPeers: 2)
        _ = d.admit(.accessDenied, uid: 1, now: t0)
        _ = d.admit(.accessDenied, uid: 2, now: t0)
        #expect(d.flush(now: t0 + .seconds(10)).isEmpty)
        _ = d.admit(.accessDenied, uid: 3, now: t0 + .seconds(10))
        _ = d.admit(.accessDenied, uid: 3, now: t0 + .seconds(10))
        #expect(d.flush(now: t0 + .seconds(20)) == [.init(kind: .accessDenied, uid: 3, suppressed: 1, seconds: 10)])
    }

    @Test func peersBeyondTheBoundShareOneKey() {
        let d = throttle(perInterval: 1, maxPeers: 2)
        #expect(d.admit(.accessDenied, uid: 1, now: t0).write)
        #expect(d.admit(.accessDenied, uid: 2, now: t0).write)
        // Table full: uids 3, 4 and 5 are all counted under UInt32.max.
        #expect(d.admit(.accessDenied, uid: 3, now: t0).write)
        #expect(!d.admit(.accessDenied, uid: 4, now: t0).write)
        #expect(!d.admit(.accessDenied, uid: 5, now: t0).write)
        // Known peers keep their own entry.
        #expect(!d.admit(.accessDenied, uid: 1, now: t0).write)
        let summaries = d.flush(now: t0 + .seconds(10)).sorted { $0.uid < $1.uid }
        #expect(summaries == [
            .init(kind: .accessDenied, uid: 1, suppressed: 1, seconds: 10),
            .init(kind: .accessDenied, uid: UInt32.max, suppressed: 2, seconds: 10),
        ])
    }

    @Test func foldedPeersGetASummaryThroughTheNextAdmit() {
        let d = throttle(perInterval: 1, maxPeers: 1)
        _ = d.admit(.connectionRefused, uid: 1, now: t0)
        _ = d.admit(.connectionRefused, uid: 2, now: t0)
        _ = d.admit(.connectionRefused, uid: 3, now: t0)
        let r = d.admit(.connectionRefused, uid: 4, now: t0 + .seconds(10))
        #expect(r.write)
        #expect(r.summary == .init(kind: .connectionRefused, uid: UInt32.max, suppressed: 1, seconds: 10))
    }
}

/// Every journal MESSAGE_ID names one kind of event: `journalctl MESSAGE_ID=…` must not mix two.
@Suite struct JournalMessageIDTests {
    @Test func messageIDsAreDistinct() {
        let ids = [
            JournalMessageID.accessDenied, JournalMessageID.privilegedAction, JournalMessageID.started,
            JournalMessageID.stopping, JournalMessageID.reloaded, JournalMessageID.reloadFailed,
            JournalMessageID.connectionRefused, JournalMessageID.internalError, JournalMessageID.suppressed,
            IntegrityHandlers.messageID, JobEngine.statusMessageID,
        ]
        #expect(Set(ids).count == ids.count, "\(ids.sorted())")
    }
}
