import NIOCore

/// An incremental HTTP/1.1 request parser over the connection's byte buffer, with Steward's limits
/// built in. It understands exactly what this API needs — origin-form targets, Content-Length and
/// chunked bodies, `Connection`, `Expect: 100-continue` — and refuses everything else with a reason,
/// which keeps one small object per connection instead of NIO's decoder stack.
///
/// Strict on purpose: lines end in CRLF, no obsolete line folding, no whitespace before a header's
/// colon, one framing per request (Content-Length and Transfer-Encoding together is refused).
struct HTTPRequestParser {
    struct Head: Equatable {
        var method: String
        var uri: String
        var minorVersion: Int
        var headers: [(name: String, value: String)]
        var keepAlive: Bool
        var expectContinue: Bool

        static func == (a: Head, b: Head) -> Bool {
            a.method == b.method && a.uri == b.uri && a.minorVersion == b.minorVersion && a.keepAlive == b.keepAlive
                && a.expectContinue == b.expectContinue && a.headers.elementsEqual(b.headers, by: { $0 == $1 })
        }
    }

    enum Event: Equatable {
        /// A request head was read; its body (if any) follows.
        case head(Head)
        /// The whole request, head and body, has been read.
        case complete(Head, body: [UInt8])
    }

    enum Failure: Error, Equatable {
        case headersTooLarge
        case uriTooLong
        case bodyTooLarge
        case badRequest(String)
    }

    struct Limits {
        var maxHeaderBytes: Int
        var maxURLLength: Int
        var maxBodyBytes: Int
    }

    private enum State {
        case head(scannedUpTo: Int)
        case fixedBody(Head, remaining: Int)
        case chunkSize(Head)
        case chunkData(Head, remaining: Int)
        case chunkDataEnd(Head)
        case trailers(Head)
    }

    let limits: Limits
    private var state = State.head(scannedUpTo: 0)
    private var body: [UInt8] = []

    init(limits: Limits) { self.limits = limits }

    /// True between requests (nothing of the next one has been consumed yet).
    var isAtRequestBoundary: Bool {
        if case .head(let scanned) = state { return scanned == 0 }
        return false
    }

    /// Consumes as much of `buffer` as forms the next event. Returns nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws(Failure) -> Event? {
        while true {
            switch state {
            case .head(let scanned):
                guard let end = Self.find(crlfcrlf, in: buffer, from: max(0, scanned - 3)) else {
                    if buffer.readableBytes > limits.maxHeaderBytes { throw .headersTooLarge }
                    state = .head(scannedUpTo: buffer.readableBytes)
                    return nil
                }
                if end + 4 > limits.maxHeaderBytes { throw .headersTooLarge }
                let (head, framing) = try parseHead(buffer.readableBytesView.prefix(end))
                buffer.moveReaderIndex(forwardBy: end + 4)
                body = []
                switch framing {
                case .none:
                    state = .head(scannedUpTo: 0)
                    return .complete(head, body: [])
                case .length(let n):
                    if n > limits.maxBodyBytes { throw .bodyTooLarge }
                    state = n == 0 ? .head(scannedUpTo: 0) : .fixedBody(head, remaining: n)
                    return n == 0 ? .complete(head, body: []) : .head(head)
                case .chunked:
                    state = .chunkSize(head)
                    return .head(head)
                }

            case .fixedBody(let head, let remaining):
                let n = min(remaining, buffer.readableBytes)
                guard n > 0 else { return nil }
                body.append(contentsOf: buffer.readableBytesView.prefix(n))
                buffer.moveReaderIndex(forwardBy: n)
                if remaining - n > 0 {
                    state = .fixedBody(head, remaining: remaining - n)
                    return nil
                }
                state = .head(scannedUpTo: 0)
                return .complete(head, body: body)

            case .chunkSize(let head):
                guard let lineEnd = Self.find(crlf, in: buffer, from: 0) else {
                    if buffer.readableBytes > 1024 { throw .badRequest("chunk size line too long") }
                    return nil
                }
                let line = buffer.readableBytesView.prefix(lineEnd)
                let sizeText = line.prefix { $0 != UInt8(ascii: ";") }
                guard !sizeText.isEmpty, sizeText.count <= 8, let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16) else {
                    throw .badRequest("invalid chunk size")
                }
                buffer.moveReaderIndex(forwardBy: lineEnd + 2)
                if body.count + size > limits.maxBodyBytes { throw .bodyTooLarge }
                state = size == 0 ? .trailers(head) : .chunkData(head, remaining: size)

            case .chunkData(let head, let remaining):
                let n = min(remaining, buffer.readableBytes)
                guard n > 0 else { return nil }
                body.append(contentsOf: buffer.readableBytesView.prefix(n))
                buffer.moveReaderIndex(forwardBy: n)
                state = remaining - n > 0 ? .chunkData(head, remaining: remaining - n) : .chunkDataEnd(head)

            case .chunkDataEnd(let head):
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readableBytesView.prefix(2).elementsEqual(crlf) else { throw .badRequest("chunk not followed by CRLF") }
                buffer.moveReaderIndex(forwardBy: 2)
                state = .chunkSize(head)

            case .trailers(let head):
                guard let lineEnd = Self.find(crlf, in: buffer, from: 0) else {
                    if buffer.readableBytes > limits.maxHeaderBytes { throw .headersTooLarge }
                    return nil
                }
                buffer.moveReaderIndex(forwardBy: lineEnd + 2)
                if lineEnd == 0 {
                    state = .head(scannedUpTo: 0)
                    return .complete(head, body: body)
                }
            }
        }
    }

    // MARK: - head

    private enum Framing { case none, length(Int), chunked }

    private let crlf: [UInt8] = [13, 10]
    private let crlfcrlf: [UInt8] = [13, 10, 13, 10]

    private func parseHead(_ bytes: ByteBufferView.SubSequence) throws(Failure) -> (Head, Framing) {
        var lines = Self.splitLines(bytes)
        guard !lines.isEmpty else { throw .badRequest("empty request") }
        let requestLine = lines.removeFirst()
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .badRequest("malformed request line") }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.count <= 16, method.allSatisfy(Self.isTokenChar) else { throw .badRequest("invalid method") }
        if target.count > limits.maxURLLength { throw .uriTooLong }
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw .badRequest("invalid request target")
        }
        let minor: Int
        if version.elementsEqual("HTTP/1.1".utf8) { minor = 1 } else if version.elementsEqual("HTTP/1.0".utf8) { minor = 0 } else {
            throw .badRequest("unsupported HTTP version")
        }

        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(lines.count)
        var contentLength: Int?
        var chunked = false
        var sawTransferEncoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        var expectContinue = false
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .badRequest("header line without a colon") }
            let nameBytes = line[line.startIndex..<colon]
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(Self.isTokenChar) else { throw .badRequest("invalid header name") }
            var valueBytes = line[(colon + 1)...]
            while let f = valueBytes.first, f == 0x20 || f == 0x09 { valueBytes = valueBytes.dropFirst() }
            while let l = valueBytes.last, l == 0x20 || l == 0x09 { valueBytes = valueBytes.dropLast() }
            guard valueBytes.allSatisfy({ $0 >= 0x20 || $0 == 0x09 }), !valueBytes.contains(0x7f) else {
                throw .badRequest("invalid header value")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let value = String(decoding: valueBytes, as: UTF8.self)
            headers.append((name, value))
            switch name.lowercased() {
            case "content-length":
                guard !value.isEmpty, value.utf8.count <= 12, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(value) else {
                    throw .badRequest("invalid Content-Length")
                }
                if let contentLength, contentLength != n { throw .badRequest("conflicting Content-Length") }
                contentLength = n
            case "transfer-encoding":
                if sawTransferEncoding || value.lowercased() != "chunked" { throw .badRequest("unsupported Transfer-Encoding") }
                sawTransferEncoding = true
                chunked = true
            case "connection":
                for token in value.lowercased().split(separator: ",") {
                    let t = token.trimmingCharacters(in: " \t")
                    if t == "close" { connectionClose = true } else if t == "keep-alive" { connectionKeepAlive = true }
                }
            case "expect":
                guard value.lowercased() == "100-continue" else { throw .badRequest("unsupported Expect") }
                expectContinue = minor == 1
            default:
                break
            }
        }
        if chunked && contentLength != nil { throw .badRequest("both Content-Length and Transfer-Encoding") }
        let keepAlive = minor == 1 ? !connectionClose : connectionKeepAlive && !connectionClose
        let head = Head(
            method: String(decoding: method, as: UTF8.self), uri: String(decoding: target, as: UTF8.self),
            minorVersion: minor, headers: headers, keepAlive: keepAlive, expectContinue: expectContinue)
        if chunked { return (head, .chunked) }
        if let contentLength { return (head, .length(contentLength)) }
        return (head, .none)
    }

    private static func splitLines(_ bytes: ByteBufferView.SubSequence) -> [ByteBufferView.SubSequence] {
        var lines: [ByteBufferView.SubSequence] = []
        var start = bytes.startIndex
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == 13, i + 1 < bytes.endIndex, bytes[i + 1] == 10 {
                lines.append(bytes[start..<i])
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        lines.append(bytes[start..<bytes.endIndex])
        return lines
    }

    /// RFC 9110 token characters.
    private static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }

    /// Offset (from the reader index) of `needle` in the readable bytes, searching from `from`.
    private static func find(_ needle: [UInt8], in buffer: ByteBuffer, from: Int) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            let n = needle.count
            guard raw.count >= n else { return nil }
            var i = from
            let first = needle[0]
            while i <= raw.count - n {
                if raw[i] == first {
                    var j = 1
                    while j < n && raw[i + j] == needle[j] { j += 1 }
                    if j == n { return i }
                }
                i += 1
            }
            return nil
        }
    }
}
