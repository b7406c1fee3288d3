import CStewardShims
import NIOCore
import NIOHTTP1
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// One accepted connection: parses requests in place (`HTTPRequestParser`) within the transport
/// limits, hands each to the dispatcher and writes the answer. Keep-alive, pipelining,
/// `Expect: 100-continue`, deadlines and graceful close live here; routing, access and handlers do not.
///
/// Confined to its `ConnectionLoop`: every method runs on the loop's thread (handlers' tasks prefer
/// the loop as their executor, so their answers arrive there too).
final class Connection: @unchecked Sendable {
    private enum State {
        /// Reading (or waiting for) a request.
        case reading
        /// A request is being answered; bytes that arrive meanwhile (pipelining) wait in `pending`.
        case dispatching
        /// Refused or finished: nothing more is read; closes once the answer is written.
        case closing
        case closed
    }

    let fd: Int32
    private let peer: PeerCredentials
    private let slot: ConnectionSlot
    private let loop: ConnectionLoop
    private let dispatcher: Dispatcher
    private let limits: TransportLimits
    private var parser: HTTPRequestParser
    private var state = State.reading
    /// Bytes read but not yet parsed (only when a read ended inside a request, or while dispatching).
    private var pending: ByteBuffer?
    /// Bytes of an answer the socket did not take yet.
    private var outbox: ByteBuffer?
    /// A file being streamed waits here for the outbox to drain.
    private var drainWaiter: CheckedContinuation<Bool, Never>?
    /// The epoll events this connection is registered for (0: not in the set).
    private var interest: UInt32 = 0
    private var inputClosed = false
    private var closeAfterResponse = false
    private var processing = false
    /// When waiting for the client's next bytes ends (request-read or idle; none while answering).
    private var readDeadline = NIODeadline.distantFuture
    /// When waiting for the client to take some of an unsent answer ends.
    private var writeDeadline = NIODeadline.distantFuture

    /// When the connection is hung up on unless something happens (checked by the loop's sweep):
    /// while an answer waits in the outbox the client is what we wait for, whatever else is going on.
    var deadline: NIODeadline { outbox != nil ? writeDeadline : readDeadline }

    init(fd: Int32, peer: PeerCredentials, slot: ConnectionSlot, loop: ConnectionLoop, dispatcher: Dispatcher, limits: TransportLimits) {
        self.fd = fd
        self.peer = peer
        self.slot = slot
        self.loop = loop
        self.dispatcher = dispatcher
        self.limits = limits
        self.parser = HTTPRequestParser(
            limits: .init(maxHeaderBytes: limits.maxHeaderBytes, maxURLLength: limits.maxURLLength, maxBodyBytes: limits.maxBodyBytes))
    }

    /// Starts serving. The request is usually there already: it is read before the socket joins
    /// the epoll set, and a one-request connection may be answered and closed without ever joining.
    func start() {
        loop.register(self)
        readDeadline = .now() + limits.idleTimeout
        readable()
        updateInterest()
    }

    /// Called by the loop with the events epoll reported.
    func ready(events: UInt32) {
        if events & (STEWARD_EPOLLIN | STEWARD_EPOLLHUP | STEWARD_EPOLLERR) != 0 && !inputClosed { readable() }
        if events & STEWARD_EPOLLOUT != 0 || (inputClosed && outbox != nil) { flush() }
        updateInterest()
    }

    /// Idle keep-alive, or a request that did not arrive in time: hang up.
    func deadlinePassed() {
        close()
    }

    /// Graceful shutdown: close now if idle, otherwise after the answer in progress.
    func shutdown() {
        closeAfterResponse = true
        if case .reading = state, parser.isAtRequestBoundary, (pending?.readableBytes ?? 0) == 0, outbox == nil {
            close()
        }
        updateInterest()
    }

    // MARK: reading

    private func readable() {
        if pending == nil, case .reading = state {
            // The common case: nothing left over, so read into the loop's buffer and keep only what
            // remains unparsed.
            loop.readScratch.clear()
            let n = Self.read(fd, into: &loop.readScratch)
            guard n > 0 else { return readFailed(n) }
            if parser.isAtRequestBoundary { readDeadline = .now() + limits.requestReadTimeout }
            process(&loop.readScratch)
            if loop.readScratch.readableBytes > 0, state != .closed { append(&loop.readScratch) }
            return
        }
        var buffer = pending ?? ByteBufferAllocator().buffer(capacity: 16 * 1024)
        pending = nil
        let n = Self.read(fd, into: &buffer)
        pending = buffer.readableBytes > 0 ? buffer : nil
        guard n > 0 else { return readFailed(n) }
        switch state {
        case .reading:
            if parser.isAtRequestBoundary { readDeadline = .now() + limits.requestReadTimeout }
            processPending()
        case .dispatching:
            if (pending?.readableBytes ?? 0) > limits.maxHeaderBytes + limits.maxBodyBytes { close() }
        case .closing, .closed:
            pending = nil
        }
    }

    private func append(_ bytes: inout ByteBuffer) {
        if pending == nil { pending = ByteBufferAllocator().buffer(capacity: max(bytes.readableBytes, 4096)) }
        pending!.writeBuffer(&bytes)
    }

    /// End of input or a read error: a connection with nothing in progress closes; one whose answer
    /// is being prepared is answered first (a client may half-close after its request).
    private func readFailed(_ n: Int) {
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            return close()
        }
        inputClosed = true
        switch state {
        case .dispatching:
            closeAfterResponse = true
        case .closing:
            break
        case .reading, .closed:
            close()
        }
    }

    private static func read(_ fd: Int32, into buffer: inout ByteBuffer) -> Int {
        var result = 0
        _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 4096) { space in
            result = Glibc.read(fd, space.baseAddress, space.count)
            return max(result, 0)
        }
        return result
    }

    private func processPending() {
        guard !processing, var buffer = pending else { return }
        pending = nil
        process(&buffer)
        if buffer.readableBytes > 0, state != .closed { append(&buffer) }
    }

    /// Parses what has arrived; dispatches a complete request, answers a malformed one.
    private func process(_ buffer: inout ByteBuffer) {
        processing = true
        defer { processing = false }
        while case .reading = state, buffer.readableBytes > 0 {
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
                if head.expectContinue {
                    var b = ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")
                    write(&b)
                }
            case .complete(let head, let body)?:
                readDeadline = .distantFuture
                state = .dispatching
                dispatch(head: head, body: body)
            }
        }
    }

    // MARK: answering

    private func refuse(_ failure: HTTPRequestParser.Failure) {
        let e: AppError
        switch failure {
        case .headersTooLarge: e = .headersTooLarge(limit: limits.maxHeaderBytes)
        case .uriTooLong: e = .urlTooLong(limit: limits.maxURLLength)
        case .bodyTooLarge: e = .bodyTooLarge(limit: limits.maxBodyBytes)
        case .badRequest(let why):
            e = AppError(id: "api.context.bad_request.app_error", message: "The request could not be parsed.", detailedError: why, statusCode: 400)
        }
        state = .closing
        send(.error(e), requestID: NewID.make(), keepAlive: false, isGET: false)
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
        guard state != .closed else { return }
        send(response, requestID: requestID, keepAlive: keepAlive, isGET: isGET)
        updateInterest()
    }

    private func send(_ response: APIResponse, requestID: String, keepAlive: Bool, isGET: Bool) {
        let keepOpen = keepAlive && !closeAfterResponse && state != .closing
        loop.writeScratch.clear()
        ResponseSerializer.write(response, requestID: requestID, isGET: isGET, close: !keepOpen, into: &loop.writeScratch)
        write(&loop.writeScratch)
        guard state != .closed else { return }
        if let file = response.file {
            // The file follows in chunks read on a thread that may block on the disk; the connection
            // stays busy until the last chunk is written.
            Task(executorPreference: loop) {
                let complete = await FileStreamer.stream(file, to: self)
                self.onLoop {
                    guard $0.state != .closed else { return }
                    $0.afterResponse(keepOpen: keepOpen && complete)
                    $0.updateInterest()
                }
            }
            return
        }
        afterResponse(keepOpen: keepOpen)
    }

    private func afterResponse(keepOpen: Bool) {
        // A shutdown that arrived while a file was streaming still closes the connection.
        guard keepOpen && !closeAfterResponse else {
            state = .closing
            pending = nil
            if outbox == nil { close() }
            return
        }
        state = .reading
        if (pending?.readableBytes ?? 0) > 0 {
            readDeadline = .now() + limits.requestReadTimeout
            processPending()
        } else {
            readDeadline = .now() + limits.idleTimeout
        }
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
                writeDeadline = .now() + limits.writeTimeout
            } else {
                close()
            }
            return
        }
        bytes.moveReaderIndex(forwardBy: n)
        if bytes.readableBytes > 0 {
            outbox = ByteBuffer(buffer: bytes)
            writeDeadline = .now() + limits.writeTimeout
        }
    }

    /// Writes a chunk of a streamed file; true once the socket has taken all of it.
    func writeAndWait(_ chunk: [UInt8]) async -> Bool {
        guard state != .closed else { return false }
        var bytes = ByteBuffer(bytes: chunk)
        write(&bytes)
        guard state != .closed else { return false }
        if outbox == nil { return true }
        return await withCheckedContinuation { continuation in
            drainWaiter = continuation
            updateInterest()
        }
    }

    private func flush() {
        guard var out = outbox else { return }
        while out.readableBytes > 0 {
            let n = Self.send(fd, out)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                outbox = nil
                return close()
            }
            out.moveReaderIndex(forwardBy: n)
            writeDeadline = .now() + limits.writeTimeout
        }
        guard out.readableBytes == 0 else {
            outbox = out
            return
        }
        outbox = nil
        if case .closing = state { return close() }
        if let waiter = drainWaiter {
            drainWaiter = nil
            waiter.resume(returning: true)
        }
    }

    private static func send(_ fd: Int32, _ bytes: ByteBuffer) -> Int {
        // MSG_NOSIGNAL: a client that went away is an EPIPE here, not a SIGPIPE for the daemon.
        bytes.withUnsafeReadableBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    // MARK: registration and close

    private func updateInterest() {
        guard state != .closed else { return }
        var want: UInt32 = 0
        if !inputClosed && state != .closing { want |= STEWARD_EPOLLIN }
        if outbox != nil { want |= STEWARD_EPOLLOUT }
        if want != interest {
            loop.setInterest(fd: fd, old: interest, new: want)
            interest = want
        }
    }

    /// Closes the socket (which also takes it out of the epoll set) and gives back its slot.
    private func close() {
        guard state != .closed else { return }
        state = .closed
        pending = nil
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
