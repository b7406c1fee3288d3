import CStewardShims
import NIOCore
import NIOHTTP1
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// One accepted connection: parses requests in place (`HTTPRequestParser`) within the transport
/// limits, hands each to the dispatcher and writes the answer. Keep-alive, pipelining,
/// `Expect: 100-continue`, backpressure, deadlines, lingering and graceful close live here; routing,
/// access and handlers do not. What happens next is decided by `ConnectionStateMachine`; this class
/// performs the I/O it asks for.
///
/// Memory is bounded whatever the peer sends: unparsed input (`inbound`) and unsent answers
/// (`outbox`) each stay within the machine's bounds, because reading stops past them.
///
/// Confined to its `ConnectionLoop`: every method runs on the loop's thread (handlers' tasks prefer
/// the loop as their executor, so their answers arrive there too).
final class Connection: @unchecked Sendable {
    let fd: Int32
    private let peer: PeerCredentials
    private let slot: ConnectionSlot
    private let loop: ConnectionLoop
    private let dispatcher: Dispatcher
    private let limits: TransportLimits
    private var parser: HTTPRequestParser
    private var machine: ConnectionStateMachine
    /// Bytes read but not yet parsed (only when a read ended inside a request, or while a request
    /// cannot be parsed yet).
    private var inbound: ByteBuffer?
    /// Bytes of answers the socket did not take yet.
    private var outbox: ByteBuffer?
    /// A file being streamed waits here for the outbox to drain.
    private var drainWaiter: CheckedContinuation<Bool, Never>?
    /// The epoll events this connection is registered for (0: not in the set).
    private var interest: UInt32 = 0
    /// True while `process` runs, so an answer given inside it does not start a nested parse.
    private var processing = false

    /// Bytes read at most per read call into `inbound`.
    private static let readChunk = 16 * 1024

    private var unparsedInput: Int { inbound?.readableBytes ?? 0 }
    private var outboxBytes: Int { outbox?.readableBytes ?? 0 }

    /// When the connection is hung up on unless something happens (checked by the loop's sweep).
    var deadline: NIODeadline { machine.deadline(outboxBytes: outboxBytes) }

    init(fd: Int32, peer: PeerCredentials, slot: ConnectionSlot, loop: ConnectionLoop, dispatcher: Dispatcher, limits: TransportLimits) {
        self.fd = fd
        self.peer = peer
        self.slot = slot
        self.loop = loop
        self.dispatcher = dispatcher
        self.limits = limits
        self.parser = HTTPRequestParser(
            limits: .init(maxHeaderBytes: limits.maxHeaderBytes, maxURLLength: limits.maxURLLength, maxBodyBytes: limits.maxBodyBytes))
        self.machine = ConnectionStateMachine(bounds: limits.connectionBounds, now: .now())
    }

    /// Starts serving. The request is usually there already: it is read before the socket joins
    /// the epoll set, and a one-request connection may be answered and closed without ever joining.
    func start() {
        loop.register(self)
        readable()
        updateInterest()
    }

    /// Called by the loop with the events epoll reported.
    func ready(events: UInt32) {
        if events & STEWARD_EPOLLOUT != 0 || (events & (STEWARD_EPOLLHUP | STEWARD_EPOLLERR) != 0 && outbox != nil) { flush() }
        if events & (STEWARD_EPOLLIN | STEWARD_EPOLLHUP | STEWARD_EPOLLERR) != 0 { readable() }
        updateInterest()
    }

    /// Called by the loop's sweep: hang up if the machine's deadline has passed.
    func sweep(now: NIODeadline) {
        perform(machine.deadlinePassed(now: now, outboxBytes: outboxBytes))
    }

    /// Closes at once, whatever is in progress (the loop is stopping).
    func abort() {
        perform(machine.failed())
    }

    /// Graceful shutdown: close now if idle, otherwise after the answer in progress.
    func shutdown() {
        let idle = parser.isAtRequestBoundary && unparsedInput == 0 && outbox == nil
        perform(machine.shutdownRequested(idle: idle))
        updateInterest()
    }

    // MARK: reading

    private func readable() {
        guard !machine.isClosed, machine.wantsRead(unparsedInput: unparsedInput, outboxBytes: outboxBytes) else { return }
        if machine.isLingering {
            // Lingering: read and throw away, so the peer can finish sending and read our answer.
            loop.readScratch.clear()
            let n = Self.read(fd, into: &loop.readScratch, max: loop.readScratch.capacity)
            loop.readScratch.clear()
            guard n > 0 else { return readFailed(n) }
            return perform(machine.discarded(n, now: .now()))
        }
        if inbound == nil && machine.mayParse(outboxBytes: outboxBytes) {
            // The common case: nothing left over, so read into the loop's buffer and keep only what
            // remains unparsed.
            loop.readScratch.clear()
            let n = Self.read(fd, into: &loop.readScratch, max: loop.readScratch.capacity)
            guard n > 0 else { return readFailed(n) }
            process(&loop.readScratch)
            keepUnparsed(&loop.readScratch)
            return
        }
        if inbound == nil { inbound = ByteBufferAllocator().buffer(capacity: Self.readChunk) }
        // Reuse the consumed front of the buffer instead of growing it.
        if inbound!.readerIndex > 0 { inbound!.discardReadBytes() }
        let n = Self.read(fd, into: &inbound!, max: Self.readChunk)
        guard n > 0 else {
            if inbound!.readableBytes == 0 { inbound = nil }
            return readFailed(n)
        }
        processInbound()
    }

    /// Keeps what `process` left unparsed (of the loop's read buffer, or of `inbound`).
    private func keepUnparsed(_ bytes: inout ByteBuffer) {
        guard bytes.readableBytes > 0, !machine.isClosed, !machine.isLingering else { return }
        if inbound == nil {
            inbound = ByteBufferAllocator().buffer(capacity: max(bytes.readableBytes, 4096))
        }
        inbound!.writeBuffer(&bytes)
    }

    /// Parses what waits in `inbound`. The buffer is taken out while it is parsed (its storage is
    /// not copied: nothing else holds it), so an answer given meanwhile never touches it.
    private func processInbound() {
        guard !processing, var buffer = inbound else { return }
        inbound = nil
        process(&buffer)
        if buffer.readableBytes > 0, !machine.isClosed, !machine.isLingering { inbound = buffer }
    }

    /// End of input or a read error.
    private func readFailed(_ n: Int) {
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            return perform(machine.failed())
        }
        perform(machine.inputEnded())
    }

    private static func read(_ fd: Int32, into buffer: inout ByteBuffer, max: Int) -> Int {
        var result = 0
        _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 4096) { space in
            result = Glibc.read(fd, space.baseAddress, Swift.min(space.count, max))
            return Swift.max(result, 0)
        }
        return result
    }

    /// Parses what has arrived while the machine lets requests start; dispatches a complete request,
    /// answers a malformed or refused one.
    private func process(_ buffer: inout ByteBuffer) {
        processing = true
        defer { processing = false }
        while machine.mayParse(outboxBytes: outboxBytes), buffer.readableBytes > 0 {
            if parser.isAtRequestBoundary { machine.requestStarted(now: .now()) }
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next(&buffer)
            } catch {
                buffer.clear()
                return refuse(error)
            }
            switch event {
            case nil:
                return
            case .head(let head)?:
                // Routing and authorization before the body: a peer that may not call the route
                // is refused now, and its body is never parsed.
                if let refusal = dispatcher.admit(method: head.method, uri: head.uri, peer: peer) {
                    buffer.clear()
                    return answerEarly(refusal.response, requestID: refusal.requestID, isGET: head.method == "GET")
                }
                if head.expectContinue {
                    var b = ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")
                    write(&b)
                }
            case .complete(let head, let body)?:
                machine.requestComplete()
                dispatch(head: head, body: body)
            }
        }
    }

    // MARK: answering

    private func refuse(_ failure: HTTPRequestParser.Failure) {
        var e: AppError
        switch failure {
        case .headersTooLarge: e = .headersTooLarge(limit: limits.maxHeaderBytes)
        case .uriTooLong: e = .urlTooLong(limit: limits.maxURLLength)
        case .bodyTooLarge: e = .bodyTooLarge(limit: limits.maxBodyBytes)
        case .badRequest(let why): e = .badRequest(why)
        }
        let requestID = NewID.make()
        e.requestID = requestID
        answerEarly(.error(e), requestID: requestID, isGET: false)
    }

    /// Answers before the request was read to its end, then lingers: the peer may still be sending
    /// its body, and closing with unread input would reset the connection and lose the answer.
    private func answerEarly(_ response: APIResponse, requestID: String, isGET: Bool) {
        machine.answeredEarly(now: .now())
        queue(response, requestID: requestID, isGET: isGET, close: true)
        if outbox == nil { perform(machine.outboxDrained(unreadInput: true, now: .now())) }
    }

    private func dispatch(head: HTTPRequestParser.Head, body: [UInt8]) {
        let request = APIRequest(method: head.method, uri: head.uri, headers: HTTPHeaders(head.headers), body: body, peer: peer)
        let keepAlive = head.keepAlive
        let isGET = head.method == "GET"
        switch dispatcher.begin(request) {
        case .answered(let response):
            send(response, requestID: request.requestID, keepAlive: keepAlive, isGET: isGET)
        case .needsHandler(let pendingRequest):
            let dispatcher = self.dispatcher
            let requestID = request.requestID
            // The task prefers this connection's loop as its executor: no thread hop, and the answer
            // is written from the loop. Handlers that block (SQLite) hop to the store's queue themselves.
            Task(executorPreference: loop) {
                let response = await dispatcher.finish(pendingRequest)
                self.onLoop { $0.answer(response, requestID: requestID, keepAlive: keepAlive, isGET: isGET) }
            }
        }
    }

    private func onLoop(_ body: @escaping @Sendable (Connection) -> Void) {
        if loop.inLoop { body(self) } else { loop.execute { body(self) } }
    }

    private func answer(_ response: APIResponse, requestID: String, keepAlive: Bool, isGET: Bool) {
        guard !machine.isClosed else { return }
        send(response, requestID: requestID, keepAlive: keepAlive, isGET: isGET)
        updateInterest()
    }

    private func send(_ response: APIResponse, requestID: String, keepAlive: Bool, isGET: Bool) {
        let keepOpen = keepAlive && !machine.closeRequested && !machine.inputClosed
        queue(response, requestID: requestID, isGET: isGET, close: !keepOpen)
        guard !machine.isClosed else { return }
        let streams = response.file != nil
        perform(machine.answerQueued(keepOpen: keepOpen, streamsFile: streams, unparsedInput: unparsedInput, now: .now()))
        if let file = response.file, !machine.isClosed {
            // The file follows in chunks read on a thread that may block on the disk; the connection
            // stays busy until the last chunk is written.
            Task(executorPreference: loop) {
                let complete = await FileStreamer.stream(file, to: self)
                self.onLoop {
                    guard !$0.machine.isClosed else { return }
                    $0.perform($0.machine.fileFinished(complete: complete, unparsedInput: $0.unparsedInput, now: .now()))
                    $0.drainedIfEmpty()
                    $0.updateInterest()
                }
            }
            return
        }
        drainedIfEmpty()
    }

    /// Serializes an answer into the loop's buffer and writes it (the rest waits in the outbox).
    private func queue(_ response: APIResponse, requestID: String, isGET: Bool, close: Bool) {
        loop.writeScratch.clear()
        ResponseSerializer.write(response, requestID: requestID, isGET: isGET, close: close, into: &loop.writeScratch)
        write(&loop.writeScratch)
    }

    /// Tells the machine when nothing waits to be sent (it may close, linger or parse on).
    private func drainedIfEmpty() {
        guard outbox == nil, !machine.isClosed else { return }
        perform(machine.outboxDrained(unreadInput: hasUnreadInput(), now: .now()))
    }

    /// True when the peer sent bytes the socket still holds: closing then would reset the
    /// connection (bytes we read and did not parse do not matter).
    private func hasUnreadInput() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) > 0
    }

    /// Writes what the socket takes now; the rest waits in the outbox for `EPOLLOUT`.
    private func write(_ bytes: inout ByteBuffer) {
        if outbox != nil {
            outbox!.writeBuffer(&bytes)
            return
        }
        let n = Self.send(fd, bytes)
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                outbox = ByteBuffer(buffer: bytes)
                machine.outboxPending(now: .now())
            } else {
                perform(machine.failed())
            }
            return
        }
        bytes.moveReaderIndex(forwardBy: n)
        if bytes.readableBytes > 0 {
            outbox = ByteBuffer(buffer: bytes)
            machine.outboxPending(now: .now())
        }
    }

    /// Writes a chunk of a streamed file; true once the socket has taken all of it.
    func writeAndWait(_ chunk: [UInt8]) async -> Bool {
        guard !machine.isClosed else { return false }
        var bytes = ByteBuffer(bytes: chunk)
        write(&bytes)
        guard !machine.isClosed else { return false }
        if outbox == nil { return true }
        return await withCheckedContinuation { continuation in
            drainWaiter = continuation
            updateInterest()
        }
    }

    private func flush() {
        guard var out = outbox else { return }
        outbox = nil
        while out.readableBytes > 0 {
            let n = Self.send(fd, out)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                return perform(machine.failed())
            }
            out.moveReaderIndex(forwardBy: n)
            machine.outboxPending(now: .now())
        }
        guard out.readableBytes == 0 else {
            // Keep the unsent rest at the front of the buffer, so a slow reader does not make it grow.
            out.discardReadBytes()
            outbox = out
            return
        }
        if let waiter = drainWaiter {
            drainWaiter = nil
            waiter.resume(returning: true)
        }
        drainedIfEmpty()
    }

    private static func send(_ fd: Int32, _ bytes: ByteBuffer) -> Int {
        // MSG_NOSIGNAL: a client that went away is an EPIPE here, not a SIGPIPE for the daemon.
        bytes.withUnsafeReadableBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    // MARK: actions, registration and close

    private func perform(_ action: ConnectionStateMachine.Action) {
        switch action {
        case .none:
            break
        case .parse:
            processInbound()
        case .shutdownWrite:
            _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        case .close:
            close()
        }
    }

    private func updateInterest() {
        guard !machine.isClosed else { return }
        var want: UInt32 = 0
        if machine.wantsRead(unparsedInput: unparsedInput, outboxBytes: outboxBytes) { want |= STEWARD_EPOLLIN }
        if outbox != nil { want |= STEWARD_EPOLLOUT }
        if want != interest {
            loop.setInterest(fd: fd, old: interest, new: want)
            interest = want
        }
    }

    /// Closes the socket (which also takes it out of the epoll set) and gives back its slot. Only
    /// reached through the machine's `.close` action, which it returns once.
    private func close() {
        inbound = nil
        outbox = nil
        _ = SystemCalls.close(fd)
        loop.unregister(self)
        slot.release()
        if let waiter = drainWaiter {
            drainWaiter = nil
            waiter.resume(returning: false)
        }
    }
}
