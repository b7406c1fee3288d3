import NIOCore

/// What a connection is doing, as one value: which phase it is in, what it waits for and until
/// when, and which epoll events it needs. `Connection` owns the socket and the buffers and performs
/// the I/O; every decision about what happens next is made here and returned as an `Action`, so the
/// transitions are unit-tested without a socket or a clock (postgres-nio's connection state
/// machines are the model).
///
/// Memory per connection is bounded through this machine: it stops reading while unparsed input
/// passes `Bounds.inbound` or unsent answers pass `Bounds.outbox`, and it never lets a new request
/// start while an answer is still waiting for the peer beyond that bound.
struct ConnectionStateMachine: Equatable {
    /// Where the connection is in its life.
    enum Phase: Equatable {
        /// Between requests or reading one; the deadline is the idle or the request-read one.
        case reading
        /// A complete request is with its handler; bytes that arrive meanwhile wait (pipelining).
        case dispatching
        /// The answer's head is written and a file follows in chunks; `keepOpen` is what the answer
        /// allows once the file is out.
        case streaming(keepOpen: Bool)
        /// The last answer is queued; once the peer has it the connection closes (or lingers, when
        /// the peer sent more than we read).
        case closing
        /// An answer was given before the peer finished sending (an error, a refusal): the write
        /// side is shut once it is sent, and input is read and discarded until the peer closes or a
        /// bound is reached, so a client that writes its whole body before reading still reads it.
        case lingering(writeShut: Bool, discarded: Int)
        case closed
    }

    /// The bounds and timeouts a connection lives under.
    struct Bounds: Equatable {
        /// Unparsed input kept while a request cannot be parsed yet (dispatching, answers unsent).
        var inbound = 64 * 1024
        /// Unsent answer bytes beyond which no further request is started.
        var outbox = 64 * 1024
        var requestReadTimeout = TimeAmount.seconds(10)
        var idleTimeout = TimeAmount.seconds(60)
        var writeTimeout = TimeAmount.seconds(30)
        /// Lingering close: at most this long in all, at most `lingeringTimeout` between two reads
        /// (nginx's `lingering_time` and `lingering_timeout`), and at most this many bytes discarded.
        var lingeringTime = TimeAmount.seconds(30)
        var lingeringTimeout = TimeAmount.seconds(5)
        var lingeringBytes = 64 * 1024 * 1024
    }

    /// What the connection must do after an event.
    enum Action: Equatable {
        case none
        /// Parse what is buffered (a new request may start).
        case parse
        /// `shutdown(SHUT_WR)`: the peer reads our answer and then end of stream.
        case shutdownWrite
        /// Close the socket and give back the connection's place.
        case close
    }

    let bounds: Bounds
    private(set) var phase = Phase.reading
    /// The peer shut its side (read returned 0).
    private(set) var inputClosed = false
    /// Close after the answer in progress (the daemon is shutting down).
    private(set) var closeRequested = false
    private var readDeadline: NIODeadline
    private var writeDeadline = NIODeadline.distantFuture
    private var lingerUntil = NIODeadline.distantFuture
    private var lingerReadUntil = NIODeadline.distantFuture

    init(bounds: Bounds, now: NIODeadline) {
        self.bounds = bounds
        readDeadline = now + bounds.idleTimeout
    }

    var isClosed: Bool { phase == .closed }
    var isLingering: Bool { if case .lingering = phase { return true } else { return false } }

    // MARK: reading

    /// The first bytes of a request were consumed: from now on its end must arrive within the
    /// request-read timeout.
    mutating func requestStarted(now: NIODeadline) {
        guard phase == .reading else { return }
        readDeadline = now + bounds.requestReadTimeout
    }

    /// A whole request was read; it goes to its handler.
    mutating func requestComplete() {
        guard phase == .reading else { return }
        phase = .dispatching
        readDeadline = .distantFuture
    }

    /// The request is answered before all of it was read (a parse error, a limit, a refusal at
    /// its head): nothing more is parsed, and the connection lingers once the answer is out.
    mutating func answeredEarly(now: NIODeadline) {
        guard !isClosed else { return }
        phase = .lingering(writeShut: false, discarded: 0)
        lingerUntil = now + bounds.lingeringTime
        lingerReadUntil = now + bounds.lingeringTimeout
    }

    /// Input was read and thrown away while lingering.
    mutating func discarded(_ n: Int, now: NIODeadline) -> Action {
        guard case .lingering(let shut, let total) = phase else { return .none }
        let sum = total + n
        if sum > bounds.lingeringBytes { return close() }
        phase = .lingering(writeShut: shut, discarded: sum)
        lingerReadUntil = now + bounds.lingeringTimeout
        return .none
    }

    /// The peer shut its sending side.
    mutating func inputEnded() -> Action {
        inputClosed = true
        switch phase {
        case .reading, .lingering:
            return close()
        case .dispatching, .streaming, .closing:
            // A client may half-close right after its request: it still gets the answer.
            return .none
        case .closed:
            return .none
        }
    }

    // MARK: answering

    /// An answer (its head at least) was queued. `keepOpen`: the request and the answer allow another
    /// request on this connection. `streamsFile`: a file follows, ended by `fileFinished`.
    mutating func answerQueued(keepOpen: Bool, streamsFile: Bool, unparsedInput: Int, now: NIODeadline) -> Action {
        switch phase {
        case .dispatching:
            if streamsFile {
                phase = .streaming(keepOpen: keepOpen)
                return .none
            }
            return afterAnswer(keepOpen: keepOpen, unparsedInput: unparsedInput, now: now)
        case .lingering, .closing, .closed, .reading, .streaming:
            return .none
        }
    }

    /// The file of a streamed answer was written (`complete`) or given up.
    mutating func fileFinished(complete: Bool, unparsedInput: Int, now: NIODeadline) -> Action {
        guard case .streaming(let keepOpen) = phase else { return .none }
        return afterAnswer(keepOpen: keepOpen && complete, unparsedInput: unparsedInput, now: now)
    }

    private mutating func afterAnswer(keepOpen: Bool, unparsedInput: Int, now: NIODeadline) -> Action {
        guard keepOpen && !closeRequested && !inputClosed else {
            phase = .closing
            return .none
        }
        phase = .reading
        if unparsedInput > 0 {
            readDeadline = now + bounds.requestReadTimeout
            return .parse
        }
        readDeadline = now + bounds.idleTimeout
        return .none
    }

    /// Answer bytes wait for the peer: the socket did not take all of an answer, or took some
    /// more of it. The write deadline runs from `now`.
    mutating func outboxPending(now: NIODeadline) {
        writeDeadline = now + bounds.writeTimeout
    }

    /// Everything queued was written. `unreadInput`: the peer sent bytes the socket still holds —
    /// asked only when closing (it costs a system call).
    mutating func outboxDrained(unreadInput: @autoclosure () -> Bool, now: NIODeadline) -> Action {
        writeDeadline = .distantFuture
        switch phase {
        case .closing:
            if !inputClosed && unreadInput() {
                // Closing now would reset the connection and could destroy the answer in the
                // peer's receive queue: linger instead.
                phase = .lingering(writeShut: true, discarded: 0)
                lingerUntil = now + bounds.lingeringTime
                lingerReadUntil = now + bounds.lingeringTimeout
                return .shutdownWrite
            }
            return close()
        case .lingering(let shut, let n):
            if shut { return .none }
            phase = .lingering(writeShut: true, discarded: n)
            return .shutdownWrite
        case .reading:
            return .parse
        case .dispatching, .streaming, .closed:
            return .none
        }
    }

    // MARK: shutdown, deadlines

    /// Graceful shutdown of the daemon: an idle connection closes now, a busy one after its answer.
    mutating func shutdownRequested(idle: Bool) -> Action {
        closeRequested = true
        if phase == .reading && idle { return close() }
        // A lingering connection whose answer is out has nothing left to give: the daemon's
        // shutdown does not wait for it.
        if case .lingering(writeShut: true, _) = phase { return close() }
        return .none
    }

    /// When the connection is hung up on unless something happens.
    func deadline(outboxBytes: Int) -> NIODeadline {
        switch phase {
        case .closed: return .distantFuture
        case .lingering:
            let linger = min(lingerUntil, lingerReadUntil)
            return outboxBytes > 0 ? min(linger, writeDeadline) : linger
        case .reading, .dispatching, .streaming, .closing:
            // While an answer waits in the outbox, the peer is what we wait for, whatever else goes on.
            if outboxBytes > 0 { return writeDeadline }
            return phase == .reading ? readDeadline : .distantFuture
        }
    }

    mutating func deadlinePassed(now: NIODeadline, outboxBytes: Int) -> Action {
        guard !isClosed, deadline(outboxBytes: outboxBytes) <= now else { return .none }
        return close()
    }

    /// Any I/O failure other than "try again".
    mutating func failed() -> Action { close() }

    private mutating func close() -> Action {
        guard phase != .closed else { return .none }
        phase = .closed
        return .close
    }

    // MARK: interest

    /// Whether to read now: unparsed input and unsent answers stay within their bounds, so a peer
    /// that pipelines without reading is paused (backpressure) instead of growing our buffers.
    func wantsRead(unparsedInput: Int, outboxBytes: Int) -> Bool {
        if inputClosed { return false }
        switch phase {
        case .closed, .closing:
            return false
        case .lingering:
            return true
        case .reading:
            // A request being read is consumed by the parser as it arrives (within its limits);
            // past the outbox bound nothing is parsed, so nothing more is read either.
            return outboxBytes < bounds.outbox && unparsedInput < bounds.inbound
        case .dispatching, .streaming:
            return unparsedInput < bounds.inbound
        }
    }

    /// Whether a new request may be parsed from what is buffered.
    func mayParse(outboxBytes: Int) -> Bool {
        phase == .reading && outboxBytes < bounds.outbox
    }
}
