import NIOCore
import Testing

@testable import LocalAPI

/// The connection's life as pure transitions: keep-alive, closing, lingering close, half-close,
/// graceful shutdown, streamed files, backpressure bounds and deadlines. Every time is an explicit
/// `NIODeadline`, so nothing here depends on a clock or sleeps.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine

    /// Small, distinct values so each deadline can only come from one timeout.
    let bounds = Machine.Bounds(
        inbound: 100, outbox: 200,
        requestReadTimeout: .seconds(10), idleTimeout: .seconds(60), writeTimeout: .seconds(7),
        lingeringTime: .seconds(30), lingeringTimeout: .seconds(5), lingeringBytes: 1000)

    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    func at(_ seconds: Int64, plusNanos n: Int64 = 0) -> NIODeadline { t0 + .seconds(seconds) + .nanoseconds(n) }

    func fresh() -> Machine { Machine(bounds: bounds, now: t0) }

    /// A machine with one request read and given to its handler.
    func dispatching() -> Machine {
        var m = fresh()
        m.requestStarted(now: at(1))
        m.requestComplete()
        return m
    }

    // MARK: keep-alive

    @Test func keepAliveCycleReturnsToIdleReading() {
        var m = fresh()
        #expect(m.phase == .reading)
        #expect(m.deadline(outboxBytes: 0) == at(60))
        m.requestStarted(now: at(1))
        #expect(m.deadline(outboxBytes: 0) == at(11))
        m.requestComplete()
        #expect(m.phase == .dispatching)
        #expect(m.deadline(outboxBytes: 0) == .distantFuture)
        #expect(m.answerQueued(keepOpen: true, streamsFile: false, unparsedInput: 0, now: at(2)) == .none)
        #expect(m.phase == .reading)
        #expect(m.deadline(outboxBytes: 0) == at(62))
        #expect(!m.isClosed)
    }

    @Test func pipelinedInputIsParsedUnderTheRequestReadDeadline() {
        var m = dispatching()
        #expect(m.answerQueued(keepOpen: true, streamsFile: false, unparsedInput: 12, now: at(3)) == .parse)
        #expect(m.phase == .reading)
        #expect(m.deadline(outboxBytes: 0) == at(13))
    }

    @Test func idleDeadlineClosesExactlyWhenItPasses() {
        var m = fresh()
        #expect(m.deadlinePassed(now: at(60, plusNanos: -1), outboxBytes: 0) == .none)
        #expect(m.deadlinePassed(now: at(60), outboxBytes: 0) == .close)
        #expect(m.isClosed)
    }

    // MARK: closing and lingering

    @Test func lastAnswerClosesOnceDrained() {
        var m = dispatching()
        #expect(m.answerQueued(keepOpen: false, streamsFile: false, unparsedInput: 0, now: at(2)) == .none)
        #expect(m.phase == .closing)
        #expect(m.outboxDrained(unreadInput: false, now: at(3)) == .close)
        #expect(m.isClosed)
    }

    @Test func lastAnswerWithUnreadInputShutsWriteAndLingers() {
        var m = dispatching()
        _ = m.answerQueued(keepOpen: false, streamsFile: false, unparsedInput: 5, now: at(2))
        #expect(m.outboxDrained(unreadInput: true, now: at(3)) == .shutdownWrite)
        #expect(m.phase == .lingering(writeShut: true, discarded: 0))
        #expect(m.isLingering)
        #expect(m.deadline(outboxBytes: 0) == at(8))
    }

    @Test func earlyAnswerShutsWriteOnceThenDiscardsUpToTheBound() {
        var m = fresh()
        m.requestStarted(now: at(1))
        m.answeredEarly(now: at(2))
        #expect(m.phase == .lingering(writeShut: false, discarded: 0))
        #expect(m.outboxDrained(unreadInput: true, now: at(2)) == .shutdownWrite)
        #expect(m.phase == .lingering(writeShut: true, discarded: 0))
        #expect(m.outboxDrained(unreadInput: true, now: at(2)) == .none)
        #expect(m.discarded(600, now: at(3)) == .none)
        #expect(m.discarded(400, now: at(3)) == .none)
        #expect(m.phase == .lingering(writeShut: true, discarded: 1000))
        #expect(m.discarded(1, now: at(3)) == .close)
        #expect(m.isClosed)
    }

    @Test func peerClosingWhileLingeringCloses() {
        var m = fresh()
        m.answeredEarly(now: at(1))
        _ = m.outboxDrained(unreadInput: true, now: at(1))
        #expect(m.inputEnded() == .close)
        #expect(m.isClosed)
    }

    @Test func lingeringDeadlineIsTheEarlierOfTotalAndBetweenReads() {
        var m = fresh()
        m.answeredEarly(now: at(0))
        #expect(m.deadline(outboxBytes: 0) == at(5))
        _ = m.discarded(10, now: at(4))
        #expect(m.deadline(outboxBytes: 0) == at(9))
        _ = m.discarded(10, now: at(28))
        #expect(m.deadline(outboxBytes: 0) == at(30), "the total lingering time caps the between-reads one")
        // The answer still unsent: the write deadline counts too, when it is earlier.
        m.outboxPending(now: at(20))
        #expect(m.deadline(outboxBytes: 1) == at(27))
        #expect(m.deadlinePassed(now: at(26), outboxBytes: 1) == .none)
        #expect(m.deadlinePassed(now: at(29), outboxBytes: 0) == .none)
        #expect(m.deadlinePassed(now: at(30), outboxBytes: 0) == .close)
    }

    @Test func discardedOutsideLingeringIsIgnored() {
        var m = fresh()
        #expect(m.discarded(10_000, now: at(1)) == .none)
        #expect(m.phase == .reading)
    }

    // MARK: half-close and shutdown

    @Test func halfCloseWhileDispatchingStillGetsTheAnswer() {
        var m = dispatching()
        #expect(m.inputEnded() == .none)
        #expect(m.inputClosed)
        #expect(!m.wantsRead(unparsedInput: 0, outboxBytes: 0))
        // keepOpen is overridden: nothing more can come.
        #expect(m.answerQueued(keepOpen: true, streamsFile: false, unparsedInput: 0, now: at(2)) == .none)
        #expect(m.phase == .closing)
        // Input is over, so there is nothing to linger for even if bytes were left unread.
        #expect(m.outboxDrained(unreadInput: true, now: at(3)) == .close)
    }

    @Test func halfCloseWhileReadingCloses() {
        var m = fresh()
        #expect(m.inputEnded() == .close)
    }

    @Test func shutdownClosesAnIdleConnectionNow() {
        var m = fresh()
        #expect(m.shutdownRequested(idle: true) == .close)
        #expect(m.isClosed)
    }

    @Test func shutdownClosesABusyConnectionAfterItsAnswer() {
        var m = dispatching()
        #expect(m.shutdownRequested(idle: false) == .none)
        #expect(m.closeRequested)
        #expect(m.answerQueued(keepOpen: true, streamsFile: false, unparsedInput: 9, now: at(2)) == .none)
        #expect(m.phase == .closing)
        #expect(m.outboxDrained(unreadInput: false, now: at(3)) == .close)
    }

    @Test func shutdownDuringARequestBeingReadWaits() {
        var m = fresh()
        m.requestStarted(now: at(1))
        #expect(m.shutdownRequested(idle: false) == .none)
        #expect(m.phase == .reading)
    }

    // MARK: streamed files

    @Test func completeStreamedFileKeepsTheConnection() {
        var m = dispatching()
        #expect(m.answerQueued(keepOpen: true, streamsFile: true, unparsedInput: 0, now: at(2)) == .none)
        #expect(m.phase == .streaming(keepOpen: true))
        #expect(m.fileFinished(complete: true, unparsedInput: 0, now: at(4)) == .none)
        #expect(m.phase == .reading)
        #expect(m.deadline(outboxBytes: 0) == at(64))
    }

    @Test func completeStreamedFileWithPipelinedInputParses() {
        var m = dispatching()
        _ = m.answerQueued(keepOpen: true, streamsFile: true, unparsedInput: 0, now: at(2))
        #expect(m.fileFinished(complete: true, unparsedInput: 3, now: at(4)) == .parse)
        #expect(m.deadline(outboxBytes: 0) == at(14))
    }

    @Test func incompleteStreamedFileClosesAfterIt() {
        var m = dispatching()
        _ = m.answerQueued(keepOpen: true, streamsFile: true, unparsedInput: 0, now: at(2))
        #expect(m.fileFinished(complete: false, unparsedInput: 0, now: at(4)) == .none)
        #expect(m.phase == .closing)
    }

    @Test func streamedFileWithoutKeepOpenClosesAfterIt() {
        var m = dispatching()
        _ = m.answerQueued(keepOpen: false, streamsFile: true, unparsedInput: 0, now: at(2))
        _ = m.fileFinished(complete: true, unparsedInput: 0, now: at(4))
        #expect(m.phase == .closing)
    }

    @Test func fileFinishedOutsideStreamingIsIgnored() {
        var m = dispatching()
        #expect(m.fileFinished(complete: true, unparsedInput: 5, now: at(2)) == .none)
        #expect(m.phase == .dispatching)
    }

    // MARK: interest and backpressure

    @Test func readingStopsAtTheOutboxAndInboundBounds() {
        let m = fresh()
        #expect(m.wantsRead(unparsedInput: 0, outboxBytes: 0))
        #expect(m.wantsRead(unparsedInput: 99, outboxBytes: 199))
        #expect(!m.wantsRead(unparsedInput: 0, outboxBytes: 200))
        #expect(!m.wantsRead(unparsedInput: 100, outboxBytes: 0))
        #expect(m.mayParse(outboxBytes: 199))
        #expect(!m.mayParse(outboxBytes: 200))
    }

    @Test func whileDispatchingOnlyTheInboundBoundCounts() {
        let m = dispatching()
        #expect(m.wantsRead(unparsedInput: 99, outboxBytes: 10_000))
        #expect(!m.wantsRead(unparsedInput: 100, outboxBytes: 0))
        #expect(!m.mayParse(outboxBytes: 0), "no new request while one is with its handler")
    }

    @Test func noReadingWhenClosingClosedOrInputEnded() {
        var closing = dispatching()
        _ = closing.answerQueued(keepOpen: false, streamsFile: false, unparsedInput: 0, now: at(2))
        #expect(!closing.wantsRead(unparsedInput: 0, outboxBytes: 0))
        #expect(!closing.mayParse(outboxBytes: 0))

        var closed = fresh()
        _ = closed.failed()
        #expect(!closed.wantsRead(unparsedInput: 0, outboxBytes: 0))
        #expect(!closed.mayParse(outboxBytes: 0))

        var ended = dispatching()
        _ = ended.inputEnded()
        #expect(!ended.wantsRead(unparsedInput: 0, outboxBytes: 0))
    }

    @Test func lingeringReadsWhateverIsBuffered() {
        var m = fresh()
        m.answeredEarly(now: at(1))
        #expect(m.wantsRead(unparsedInput: 10_000, outboxBytes: 10_000))
        #expect(!m.mayParse(outboxBytes: 0))
    }

    // MARK: deadlines

    @Test func writeDeadlineRulesWhileTheOutboxHoldsBytes() {
        var m = dispatching()
        #expect(m.deadline(outboxBytes: 0) == .distantFuture)
        m.outboxPending(now: at(2))
        #expect(m.deadline(outboxBytes: 50) == at(9))
        m.outboxPending(now: at(5))
        #expect(m.deadline(outboxBytes: 10) == at(12))
        #expect(m.deadlinePassed(now: at(11), outboxBytes: 10) == .none)
        #expect(m.deadlinePassed(now: at(12), outboxBytes: 10) == .close)
    }

    @Test func writeDeadlineAppliesWhileReadingToo() {
        var m = fresh()
        m.outboxPending(now: at(1))
        #expect(m.deadline(outboxBytes: 1) == at(8))
        #expect(m.outboxDrained(unreadInput: false, now: at(2)) == .parse)
        #expect(m.deadline(outboxBytes: 0) == at(60))
    }

    // MARK: close once

    @Test func closeIsReturnedOnlyOnce() {
        var m = dispatching()
        #expect(m.failed() == .close)
        #expect(m.failed() == .none)
        #expect(m.inputEnded() == .none)
        #expect(m.shutdownRequested(idle: true) == .none)
        #expect(m.deadlinePassed(now: at(1000), outboxBytes: 0) == .none)
        #expect(m.outboxDrained(unreadInput: true, now: at(1000)) == .none)
        #expect(m.deadline(outboxBytes: 5) == .distantFuture)
        m.answeredEarly(now: at(1000))
        #expect(m.isClosed, "a closed connection never starts lingering")
    }
}
