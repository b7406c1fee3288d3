import NIOCore
import NIOHTTP1
import StewardModel

/// Reads one HTTP/1.1 request at a time within the transport limits, hands it to the dispatcher and
/// writes the answer. Keep-alive, pipelining, timeouts and graceful close live here; routing, access
/// and handlers do not.
///
/// Responses are serialized straight into one buffer (every answer has a Content-Length), which saves
/// an encoder handler and a write per response on the hot path.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case reading(HTTPRequestHead, [UInt8])
        /// The request was refused (413 etc.); its remaining parts are dropped and the connection closes.
        case discarding
        case dispatching
    }

    /// Pipelined parts that arrived while a request was being answered (at most this many bytes).
    private static let maxQueuedBodyBytes = 64 * 1024
    private var queued: [HTTPServerRequestPart] = []
    private var queuedBytes = 0

    private let peer: PeerCredentials
    private let dispatcher: Dispatcher
    private let limits: TransportLimits
    private let loopConnections: LoopConnections
    private var context: ChannelHandlerContext?
    private var state = State.idle
    /// When the connection is hung up on unless something happens (see `LoopConnections`).
    private(set) var deadline = NIODeadline.distantFuture
    private var requestStarted = false
    private var closeAfterResponse = false
    private var isActive = true

    init(peer: PeerCredentials, dispatcher: Dispatcher, limits: TransportLimits, loopConnections: LoopConnections) {
        self.peer = peer
        self.dispatcher = dispatcher
        self.limits = limits
        self.loopConnections = loopConnections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loopConnections.add(self)
        armTimer(context: context, after: limits.idleTimeout)
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
        if case .idle = state, queued.isEmpty { context?.close(promise: nil) }
    }

    /// Every raw read ends in a read-complete, even when the decoder has no full part yet: the first
    /// one after idle starts the (shorter) request-read deadline, so a slow client is hung up on.
    func channelReadComplete(context: ChannelHandlerContext) {
        if case .idle = state, !requestStarted {
            requestStarted = true
            armTimer(context: context, after: limits.requestReadTimeout)
        }
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handle(unwrapInboundIn(data), context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (part, state) {
        case (.head(let head), .idle):
            if let refusal = check(head) {
                state = .discarding
                send(.error(refusal), requestID: NewID.make(), keepAlive: false, method: head.method, context: context)
                return
            }
            state = .reading(head, [])
        case (.body(var chunk), .reading(let head, var body)):
            if body.count + chunk.readableBytes > limits.maxBodyBytes {
                state = .discarding
                send(.error(.bodyTooLarge(limit: limits.maxBodyBytes)), requestID: NewID.make(), keepAlive: false, method: head.method, context: context)
                return
            }
            state = .dispatching  // drop the enum's reference so `body` appends without a copy
            body.append(contentsOf: chunk.readableBytesView)
            chunk.moveReaderIndex(to: chunk.writerIndex)
            state = .reading(head, body)
        case (.end, .reading(let head, let body)):
            deadline = .distantFuture
            state = .dispatching
            dispatch(head: head, body: body, context: context)
        case (_, .discarding):
            break
        case (_, .dispatching):
            // A pipelined request: keep it for after the current answer, within a bound.
            if case .body(let b) = part { queuedBytes += b.readableBytes }
            queued.append(part)
            if queuedBytes > Self.maxQueuedBodyBytes || queued.count > 64 { context.close(promise: nil) }
        default:
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Decoder errors: a request we cannot parse. Answer once if we can, then close.
        if case .idle = state, let parserError = error as? HTTPParserError {
            let e: AppError
            switch parserError {
            case .headerOverflow: e = .headersTooLarge(limit: limits.maxHeaderBytes)
            case .invalidURL: e = .urlTooLong(limit: limits.maxURLLength)
            default: e = AppError(id: "api.context.bad_request.app_error", message: "The request could not be parsed.", statusCode: 400)
            }
            state = .discarding
            send(.error(e), requestID: NewID.make(), keepAlive: false, method: .GET, context: context)
            return
        }
        context.close(promise: nil)
    }

    // MARK: -

    private func check(_ head: HTTPRequestHead) -> AppError? {
        if head.uri.utf8.count > limits.maxURLLength { return .urlTooLong(limit: limits.maxURLLength) }
        var headerBytes = head.uri.utf8.count + 16
        for (name, value) in head.headers { headerBytes += name.utf8.count + value.utf8.count + 4 }
        if headerBytes > limits.maxHeaderBytes { return .headersTooLarge(limit: limits.maxHeaderBytes) }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limits.maxBodyBytes {
            return .bodyTooLarge(limit: limits.maxBodyBytes)
        }
        return nil
    }

    private func dispatch(head: HTTPRequestHead, body: [UInt8], context: ChannelHandlerContext) {
        let request = APIRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers, body: body, peer: peer)
        let keepAlive = head.isKeepAlive
        switch dispatcher.begin(request) {
        case .answered(let response):
            send(response, requestID: request.requestID, keepAlive: keepAlive, method: head.method, context: context)
        case .needsHandler(let pending):
            let dispatcher = self.dispatcher
            let promise = context.eventLoop.makePromise(of: APIResponse.self)
            // The task runs on this connection's event loop: no thread hop, and the answer is written
            // from the same thread. Handlers that block (SQLite) hop to the store's queue themselves.
            Task(executorPreference: loopConnections.executor) { promise.succeed(await dispatcher.finish(pending)) }
            promise.futureResult.assumeIsolated().whenSuccess { response in
                guard self.isActive else { return }
                self.send(response, requestID: request.requestID, keepAlive: keepAlive, method: head.method, context: context)
            }
        }
    }

    private func send(_ response: APIResponse, requestID: String, keepAlive: Bool, method: HTTPMethod, context: ChannelHandlerContext) {
        let keepOpen = keepAlive && !closeAfterResponse
        var buffer = context.channel.allocator.buffer(capacity: 256 + response.body.count)
        ResponseSerializer.write(response, requestID: requestID, isGET: method == .GET, close: !keepOpen, into: &buffer)
        if keepOpen {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            state = .idle
            requestStarted = false
            armTimer(context: context, after: limits.idleTimeout)
            replayQueued(context: context)
        } else {
            context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    private func replayQueued(context: ChannelHandlerContext) {
        guard !queued.isEmpty else { return }
        let parts = queued
        queued = []
        queuedBytes = 0
        requestStarted = true
        armTimer(context: context, after: limits.requestReadTimeout)
        for (i, part) in parts.enumerated() {
            handle(part, context: context)
            if case .dispatching = state {
                queued = Array(parts[(i + 1)...])
                return
            }
        }
    }

    private func armTimer(context: ChannelHandlerContext, after delay: TimeAmount) {
        deadline = .now() + delay
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
        buffer.writeString(String(response.body.count))
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
