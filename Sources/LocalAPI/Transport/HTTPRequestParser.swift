import NIOCore

/// An incremental HTTP/1.1 request parser over the connection's byte buffer, with Steward's limits
/// built in. It understands exactly what this API needs — origin-form targets, Content-Length and
/// chunked bodies, `Connection`, `Expect: 100-continue` — and refuses everything else with a reason,
/// which keeps one small object per connection instead of NIO's decoder stack.
///
/// Strict on purpose: lines end in CRLF, no obsolete line folding, no whitespace before a header's
/// colon, one framing per request (Content-Length and Transfer-Encoding together is refused).
package struct HTTPRequestParser {
    package struct Head: Equatable {
        package var method: String
        package var uri: String
        package var minorVersion: Int
        package var headers: [(name: String, value: String)]
        package var keepAlive: Bool
        package var expectContinue: Bool

        package static func == (a: Head, b: Head) -> Bool {
            a.method == b.method && a.uri == b.uri && a.minorVersion == b.minorVersion && a.keepAlive == b.keepAlive
                && a.expectContinue == b.expectContinue && a.headers.elementsEqual(b.headers, by: { $0 == $1 })
        }
    }

    package enum Event: Equatable {
        /// A request head was read; its body (if any) follows.
        case head(Head)
        /// The whole request, head and body, has been read.
        case complete(Head, body: [UInt8])
    }

    package enum Failure: Error, Equatable {
        case headersTooLarge
        case uriTooLong
        case bodyTooLarge
        case badRequest(String)
    }

    package struct Limits {
        package var maxHeaderBytes: Int
        package var maxURLLength: Int
        package var maxBodyBytes: Int

        package init(maxHeaderBytes: Int, maxURLLength: Int, maxBodyBytes: Int) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxURLLength = maxURLLength
            self.maxBodyBytes = maxBodyBytes
        }
    }

    private enum State {
        case head(scannedUpTo: Int)
        case fixedBody(Head, remaining: Int)
        case chunkSize(Head)
        case chunkData(Head, remaining: Int)
        case chunkDataEnd(Head)
        case trailers(Head, lines: Int, bytes: Int)
    }

    package let limits: Limits
    private var state = State.head(scannedUpTo: 0)
    private var body: [UInt8] = []

    package init(limits: Limits) { self.limits = limits }

    /// True between requests (nothing of the next one has been consumed yet).
    package var isAtRequestBoundary: Bool {
        if case .head(let scanned) = state { return scanned == 0 }
        return false
    }

    /// Consumes as much of `buffer` as forms the next event. Returns nil when more bytes are needed.
    package mutating func next(_ buffer: inout ByteBuffer) throws(Failure) -> Event? {
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
                    // A line at the bound may still be waiting for its LF after the CR.
                    if buffer.readableBytes > Self.maxChunkLineBytes + 1 { throw .badRequest("chunk size line too long") }
                    return nil
                }
                if lineEnd > Self.maxChunkLineBytes { throw .badRequest("chunk size line too long") }
                let size = try Self.chunkSize(buffer.readableBytesView.prefix(lineEnd))
                buffer.moveReaderIndex(forwardBy: lineEnd + 2)
                // The limit is on the sum of the chunks; `size` is at most 2^60, so this cannot overflow.
                if size > limits.maxBodyBytes - body.count { throw .bodyTooLarge }
                state = size == 0 ? .trailers(head, lines: 0, bytes: 0) : .chunkData(head, remaining: size)

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

            case .trailers(let head, let lines, let bytes):
                guard let lineEnd = Self.find(crlf, in: buffer, from: 0) else {
                    // A line ending exactly at the limit may still be waiting for its LF after the CR.
                    if bytes + buffer.readableBytes > limits.maxHeaderBytes + 1 { throw .headersTooLarge }
                    return nil
                }
                if lineEnd == 0 {
                    buffer.moveReaderIndex(forwardBy: 2)
                    state = .head(scannedUpTo: 0)
                    return .complete(head, body: body)
                }
                // Trailers are read and dropped (nothing here uses them), within the header limits.
                if lines + 1 > Self.maxTrailerLines || bytes + lineEnd + 2 > limits.maxHeaderBytes { throw .headersTooLarge }
                // Validated as strictly as header lines, so nothing the head refuses slips in here.
                let (name, _) = try Self.field(buffer.readableBytesView.prefix(lineEnd), kind: "trailer")
                if Self.forbiddenTrailers.contains(name.lowercased()) { throw .badRequest("\(name) is not allowed in a trailer") }
                buffer.moveReaderIndex(forwardBy: lineEnd + 2)
                state = .trailers(head, lines: lines + 1, bytes: bytes + lineEnd + 2)
            }
        }
    }

    /// A chunk-size line: 1 to 16 hex digits, then optionally `;` and extensions (ignored; the line
    /// length is bounded by the caller). Signs, spaces, `0x` and anything else are refused, so a
    /// size can never be negative or overflow.
    static func chunkSize(_ line: ByteBufferView.SubSequence) throws(Failure) -> Int {
        var size = 0
        var digits = 0
        var i = line.startIndex
        while i < line.endIndex, line[i] != UInt8(ascii: ";") {
            let c = line[i]
            let v: Int
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = Int(c - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = Int(c - UInt8(ascii: "A")) + 10
            default: throw .badRequest("invalid chunk size")
            }
            digits += 1
            if digits > Self.maxChunkSizeDigits { throw .badRequest("invalid chunk size") }
            // Saturates near 2^60: beyond any body limit, and far from overflowing Int.
            size = size >= 1 << 56 ? 1 << 60 : size * 16 + v
            i += 1
        }
        guard digits > 0 else { throw .badRequest("invalid chunk size") }
        return size
    }

    /// Hex digits in a chunk-size line (RFC 9112 sets no limit; 16 is a 64-bit size).
    static let maxChunkSizeDigits = 16
    /// A chunk-size line with its extensions.
    static let maxChunkLineBytes = 256
    /// Trailer fields after the last chunk.
    static let maxTrailerLines = 32

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
            let (name, value) = try Self.field(line, kind: "header")
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

    /// One field line (`name: value`), of the head or a trailer: a token name right before the
    /// colon, a value of visible characters, spaces and tabs, trimmed.
    private static func field(_ line: ByteBufferView.SubSequence, kind: String) throws(Failure) -> (String, String) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .badRequest("\(kind) line without a colon") }
        let nameBytes = line[line.startIndex..<colon]
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(Self.isTokenChar) else { throw .badRequest("invalid \(kind) name") }
        var valueBytes = line[(colon + 1)...]
        while let f = valueBytes.first, f == 0x20 || f == 0x09 { valueBytes = valueBytes.dropFirst() }
        while let l = valueBytes.last, l == 0x20 || l == 0x09 { valueBytes = valueBytes.dropLast() }
        guard valueBytes.allSatisfy({ $0 >= 0x20 || $0 == 0x09 }), !valueBytes.contains(0x7f) else {
            throw .badRequest("invalid \(kind) value")
        }
        return (String(decoding: nameBytes, as: UTF8.self), String(decoding: valueBytes, as: UTF8.self))
    }

    /// Fields a trailer may not carry (RFC 9110 §6.5.1): they frame or route the message.
    private static let forbiddenTrailers: Set<String> = ["transfer-encoding", "content-length", "host", "connection", "expect", "trailer"]

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
