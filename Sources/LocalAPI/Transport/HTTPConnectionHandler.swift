import NIOCore
import NIOHTTP1
import StewardModel

/// Reads one HTTP/1.1 request at a time within the transport limits, hands it to the dispatcher off
/// the event loop, and writes the answer. Keep-alive, timeouts and graceful close live here; routing,
/// access and handlers do not.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Sent through the pipeline when the server shuts down.
    struct ShutdownEvent {}

    private enum State {
        case idle
        case reading(HTTPRequestHead, [UInt8])
        /// The request was refused (413 etc.); its remaining parts are dropped and the connection closes.
        case discarding
        case dispatching
    }

    private let peer: PeerCredentials
    private let dispatcher: Dispatcher
    private let limits: TransportLimits
    private var state = State.idle
    private var timer: Scheduled<Void>?
    private var bytesSeenSinceIdle = false
    private var closeAfterResponse = false
    private var isActive = true

    init(peer: PeerCredentials, dispatcher: Dispatcher, limits: TransportLimits) {
        self.peer = peer
        self.dispatcher = dispatcher
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armTimer(context: context, after: limits.idleTimeout)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        timer?.cancel()
        context.fireChannelInactive()
    }

    /// Called by `RequestStartObserver` when raw bytes arrive: a request has started, so the
    /// (shorter) request-read deadline replaces the idle one.
    func rawBytesArrived(context: ChannelHandlerContext) {
        guard case .idle = state, !bytesSeenSinceIdle else { return }
        bytesSeenSinceIdle = true
        armTimer(context: context, after: limits.requestReadTimeout)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            if let refusal = check(head) {
                state = .discarding
                send(.error(refusal), keepAlive: false, method: head.method, context: context)
                return
            }
            state = .reading(head, [])
        case (.body(var chunk), .reading(let head, var body)):
            if body.count + chunk.readableBytes > limits.maxBodyBytes {
                state = .discarding
                send(.error(.bodyTooLarge(limit: limits.maxBodyBytes)), keepAlive: false, method: head.method, context: context)
                return
            }
            state = .dispatching  // avoid a copy-on-write of `body` while we append
            body.append(contentsOf: chunk.readBytes(length: chunk.readableBytes) ?? [])
            state = .reading(head, body)
        case (.end, .reading(let head, let body)):
            timer?.cancel()
            state = .dispatching
            dispatch(head: head, body: body, context: context)
        case (_, .discarding):
            break
        default:
            // Parts out of order cannot come from NIO's decoder; treat as a protocol error.
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ShutdownEvent {
            closeAfterResponse = true
            if case .idle = state { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
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
            send(.error(e), keepAlive: false, method: .GET, context: context)
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
        let request = APIRequest(
            method: head.method.rawValue, uri: head.uri,
            headers: head.headers.map { ($0.name, $0.value) }, body: body, peer: peer)
        let keepAlive = head.isKeepAlive
        let dispatcher = self.dispatcher
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        promise.completeWithTask { await dispatcher.dispatch(request) }
        promise.futureResult.assumeIsolated().whenSuccess { response in
            guard self.isActive else { return }
            self.send(response, requestID: request.requestID, keepAlive: keepAlive, method: head.method, context: context)
        }
    }

    private func send(_ response: APIResponse, requestID: String = NewID.make(), keepAlive: Bool, method: HTTPMethod,
                      context: ChannelHandlerContext) {
        let keepOpen = keepAlive && !closeAfterResponse
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 8)
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !headers.contains(name: "Content-Type") { headers.add(name: "Content-Type", value: "application/json") }
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "X-Request-ID", value: requestID)
        headers.add(name: "X-Version-ID", value: StewardVersion.versionID)
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Referrer-Policy", value: "no-referrer")
        if method == .GET { headers.add(name: "Expires", value: "0") }
        if !keepOpen { headers.add(name: "Connection", value: "close") }

        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !response.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if keepOpen {
            if case .dispatching = state { state = .idle }
            bytesSeenSinceIdle = false
            armTimer(context: context, after: limits.idleTimeout)
        } else {
            done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    private func armTimer(context: ChannelHandlerContext, after delay: TimeAmount) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            // Idle keep-alive or a request that did not arrive in time: hang up.
            context.close(promise: nil)
        }
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}

/// Sits before the HTTP decoder and tells the connection handler when raw bytes arrive, so a slow
/// client's partial request runs into the request-read deadline rather than the idle one.
final class RequestStartObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: HTTPConnectionHandler
    private var connectionContext: ChannelHandlerContext?

    init(connection: HTTPConnectionHandler) { self.connection = connection }

    func bind(_ context: ChannelHandlerContext) { connectionContext = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let c = connectionContext { connection.rawBytesArrived(context: c) }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) { connectionContext = nil }
}
