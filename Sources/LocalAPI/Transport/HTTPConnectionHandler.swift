import Dispatch
import NIOCore
import NIOHTTP1
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// The one handler of a connection: parses requests in place (`HTTPRequestParser`) within the transport
/// limits, hands each to the dispatcher, and writes the answer serialized into one buffer. Keep-alive,
/// pipelining, `Expect: 100-continue`, deadlines and graceful close live here; routing, access and
/// handlers do not.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// Reading (or waiting for) a request.
        case reading
        /// A request is being answered; bytes that arrive meanwhile (pipelining) wait in `pending`.
        case dispatching
        /// Refused or closing: nothing more is read.
        case closing
    }

    private let peer: PeerCredentials
    private let dispatcher: Dispatcher
    private let limits: TransportLimits
    private let loopConnections: LoopConnections
    private var context: ChannelHandlerContext?
    private var parser: HTTPRequestParser
    private var pending: ByteBuffer?
    private var state = State.reading
    /// When the connection is hung up on unless something happens (see `LoopConnections`).
    private(set) var deadline = NIODeadline.distantFuture
    private var closeAfterResponse = false
    private var isActive = true

    init(peer: PeerCredentials, dispatcher: Dispatcher, limits: TransportLimits, loopConnections: LoopConnections) {
        self.peer = peer
        self.dispatcher = dispatcher
        self.limits = limits
        self.loopConnections = loopConnections
        self.parser = HTTPRequestParser(
            limits: .init(maxHeaderBytes: limits.maxHeaderBytes, maxURLLength: limits.maxURLLength, maxBodyBytes: limits.maxBodyBytes))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loopConnections.add(self)
        deadline = .now() + limits.idleTimeout
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        loopConnections.remove(self)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        loopConnections.remove(self)
        context.fireChannelInactive()
    }

    /// Idle keep-alive, or a request that did not arrive in time: hang up.
    func deadlinePassed() {
        deadline = .distantFuture
        context?.close(promise: nil)
    }

    /// Graceful shutdown: close now if idle, otherwise after the answer in progress.
    func shutdown() {
        closeAfterResponse = true
        if case .reading = state, parser.isAtRequestBoundary, (pending?.readableBytes ?? 0) == 0 { context?.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .closing:
            return
        case .dispatching:
            if pending == nil { pending = bytes } else { pending!.writeBuffer(&bytes) }
            if pending!.readableBytes > limits.maxHeaderBytes + limits.maxBodyBytes { context.close(promise: nil) }
        case .reading:
            if pending == nil { pending = bytes } else { pending!.writeBuffer(&bytes) }
            if parser.isAtRequestBoundary { deadline = .now() + limits.requestReadTimeout }
            process(context: context)
        }
    }

    /// Parses what has arrived; dispatches a complete request, answers a malformed one.
    private func process(context: ChannelHandlerContext) {
        while case .reading = state, var buffer = pending, buffer.readableBytes > 0 {
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next(&buffer)
            } catch {
                pending = nil
                refuse(error, context: context)
                return
            }
            pending = buffer.readableBytes > 0 ? buffer : nil
            switch event {
            case nil:
                return
            case .head(let head)?:
                if head.expectContinue {
                    context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
                }
            case .complete(let head, let body)?:
                deadline = .distantFuture
                state = .dispatching
                dispatch(head: head, body: body, context: context)
            }
        }
    }

    private func refuse(_ failure: HTTPRequestParser.Failure, context: ChannelHandlerContext) {
        let e: AppError
        switch failure {
        case .headersTooLarge: e = .headersTooLarge(limit: limits.maxHeaderBytes)
        case .uriTooLong: e = .urlTooLong(limit: limits.maxURLLength)
        case .bodyTooLarge: e = .bodyTooLarge(limit: limits.maxBodyBytes)
        case .badRequest(let why):
            e = AppError(id: "api.context.bad_request.app_error", message: "The request could not be parsed.", detailedError: why, statusCode: 400)
        }
        state = .closing
        send(.error(e), requestID: NewID.make(), keepAlive: false, isGET: false, context: context)
    }

    private func dispatch(head: HTTPRequestParser.Head, body: [UInt8], context: ChannelHandlerContext) {
        let request = APIRequest(method: head.method, uri: head.uri, headers: HTTPHeaders(head.headers), body: body, peer: peer)
        let keepAlive = head.keepAlive
        let isGET = head.method == "GET"
        switch dispatcher.begin(request) {
        case .answered(let response):
            send(response, requestID: request.requestID, keepAlive: keepAlive, isGET: isGET, context: context)
        case .needsHandler(let pendingRequest):
            let dispatcher = self.dispatcher
            let promise = context.eventLoop.makePromise(of: APIResponse.self)
            // The task runs on this connection's event loop: no thread hop, and the answer is written
            // from the same thread. Handlers that block (SQLite) hop to the store's queue themselves.
            Task(executorPreference: loopConnections.executor) { promise.succeed(await dispatcher.finish(pendingRequest)) }
            promise.futureResult.assumeIsolated().whenSuccess { response in
                guard self.isActive else { return }
                self.send(response, requestID: request.requestID, keepAlive: keepAlive, isGET: isGET, context: context)
            }
        }
    }

    private func send(_ response: APIResponse, requestID: String, keepAlive: Bool, isGET: Bool, context: ChannelHandlerContext) {
        let keepOpen = keepAlive && !closeAfterResponse && state != .closing
        var buffer = context.channel.allocator.buffer(capacity: 256 + response.body.count)
        ResponseSerializer.write(response, requestID: requestID, isGET: isGET, close: !keepOpen, into: &buffer)
        if let file = response.file {
            // Headers now, the file in chunks from a thread that may block on the disk; the
            // connection stays busy until the last chunk is written.
            context.write(wrapOutboundOut(buffer), promise: nil)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let channel = context.channel
            Task {
                let complete = await FileStreamer.stream(file, to: channel)
                channel.eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.afterResponse(keepOpen: keepOpen && complete, context: context)
                }
            }
            return
        }
        afterResponse(keepOpen: keepOpen, buffer: buffer, context: context)
    }

    private func afterResponse(keepOpen: Bool, buffer: ByteBuffer? = nil, context: ChannelHandlerContext) {
        // A shutdown that arrived while a file was streaming still closes the connection.
        guard keepOpen && !closeAfterResponse else {
            state = .closing
            context.writeAndFlush(wrapOutboundOut(buffer ?? context.channel.allocator.buffer(capacity: 0)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        }
        if let buffer { context.writeAndFlush(wrapOutboundOut(buffer), promise: nil) }
        state = .reading
        if (pending?.readableBytes ?? 0) > 0 {
            deadline = .now() + limits.requestReadTimeout
            process(context: context)
        } else {
            deadline = .now() + limits.idleTimeout
        }
    }
}

/// Writes an HTTP/1.1 response with the headers every Steward answer carries.
enum ResponseSerializer {
    private static let commonHeaders = Array(
        ("X-Version-ID: \(StewardVersion.versionID)\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n").utf8)

    static func write(_ response: APIResponse, requestID: String, isGET: Bool, close: Bool, into buffer: inout ByteBuffer) {
        if response.status == 200 {
            buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
        } else {
            buffer.writeString("HTTP/1.1 \(response.status) \(HTTPResponseStatus(statusCode: response.status).reasonPhrase)\r\n")
        }
        var hasContentType = false
        for (name, value) in response.headers {
            // Handlers spell the header as "Content-Type"; no case folding needed on this path.
            if name == "Content-Type" { hasContentType = true }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        if !hasContentType { buffer.writeStaticString("Content-Type: application/json\r\n") }
        buffer.writeStaticString("Content-Length: ")
        buffer.writeString(String(response.file?.size ?? Int64(response.body.count)))
        buffer.writeStaticString("\r\nX-Request-ID: ")
        buffer.writeString(requestID)
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(commonHeaders)
        if isGET { buffer.writeStaticString("Expires: 0\r\n") }
        if close { buffer.writeStaticString("Connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(response.body)
    }
}

/// Writes a file to a channel in chunks, each read on a Dispatch thread (disk reads may block) and
/// written before the next is read, so memory stays at one chunk whatever the file's size.
enum FileStreamer {
    static let chunkSize = 256 * 1024

    /// True when the whole file was written.
    static func stream(_ file: ResponseFile, to channel: Channel) async -> Bool {
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var offset: Int64 = 0
        while offset < file.size {
            let want = Int(min(Int64(chunkSize), file.size - offset))
            let at = offset
            let chunk: [UInt8]? = await withCheckedContinuation { cont in
                DispatchQueue.global().async {
                    var bytes = [UInt8](repeating: 0, count: want)
                    let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(at)) }
                    cont.resume(returning: n > 0 ? Array(bytes[0..<n]) : nil)
                }
            }
            guard let chunk else { return false }
            do {
                try await channel.writeAndFlush(ByteBuffer(bytes: chunk)).get()
            } catch {
                return false
            }
            offset += Int64(chunk.count)
        }
        return true
    }
}
