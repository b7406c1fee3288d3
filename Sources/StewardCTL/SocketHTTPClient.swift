import Foundation
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 client over a unix socket: one request per connection, as mmctl's
/// local client does. The CLI needs nothing more, and no event loop.
struct SocketHTTPClient {
    let socketPath: String

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Checks the socket before sending anything: it exists, is a socket, and is owned by root or by
    /// the caller — a socket planted by another user is never spoken to.
    func preflight() throws(CLIError) {
        var st = stat()
        guard lstat(socketPath, &st) == 0 else {
            throw .unreachable("socket file \"\(socketPath)\" doesn't exist; is stewardd running? (set --socket or STEWARD_SOCKET)")
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw .unreachable("\"\(socketPath)\" is not a socket")
        }
        let me = geteuid()
        guard st.st_uid == 0 || st.st_uid == me else {
            throw .error("owner of the socket \"\(socketPath)\" (uid \(st.st_uid)) is neither root nor you (uid \(me)); refusing to use it")
        }
    }

    /// Sends a request and reads the whole answer into memory: for the API's small JSON answers.
    func send(_ method: String, _ path: String, body: [UInt8] = []) throws(CLIError) -> Response {
        let stream = try open(method, path, body: body)
        return Response(status: stream.status, headers: stream.headers, body: try stream.readAll())
    }

    /// Sends a request and returns once the answer's head is read; the body is read on demand
    /// (`StreamedResponse.read`), so a download never has to fit in memory.
    func open(_ method: String, _ path: String, body: [UInt8] = []) throws(CLIError) -> StreamedResponse {
        try preflight()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .unreachable("socket(): \(String(cString: strerror(errno)))") }
        // From here on the descriptor belongs to the response (closed in its deinit) or is closed here.
        var handedOver = false
        defer { if !handedOver { close(fd) } }
        var addr = sockaddr_un.make(socketPath)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            if e == EACCES || e == EPERM {
                throw .permissionDenied("cannot connect to \(socketPath): \(String(cString: strerror(e)))")
            }
            throw .unreachable("cannot connect to \(socketPath): \(String(cString: strerror(e)))")
        }
        var request = "\(method) /api/v4\(path) HTTP/1.1\r\nHost: _\r\nUser-Agent: stewardctl/\(StewardVersion.version)\r\nConnection: close\r\n"
        request += "Content-Length: \(body.count)\r\n"
        if !body.isEmpty { request += "Content-Type: application/json\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8) + body
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .unreachable("write to \(socketPath) failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
        let response = try StreamedResponse(fd: fd)
        handedOver = true
        return response
    }
}

/// An answer whose head has been read. The body comes in pieces of at most 64 KiB through `read`,
/// up to `Content-Length` when there is one (to the end of the connection otherwise: we asked for
/// `Connection: close`).
final class StreamedResponse {
    static let chunkSize = 64 * 1024
    /// A head larger than this is not one stewardd would send.
    static let maxHeadBytes = 64 * 1024

    let status: Int
    /// Names lowercased.
    let headers: [String: String]
    let contentLength: Int?
    /// Body bytes delivered so far.
    private(set) var received = 0
    private let fd: Int32
    /// Body bytes that arrived with the head, not delivered yet.
    private var early: [UInt8]
    private var buffer = [UInt8](repeating: 0, count: StreamedResponse.chunkSize)

    fileprivate init(fd: Int32) throws(CLIError) {
        var raw: [UInt8] = []
        var scanned = 0
        var headEnd: Int?
        while headEnd == nil {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .unreachable("the daemon closed the connection without an answer") }
            raw.append(contentsOf: buffer[0..<n])
            headEnd = Self.find([13, 10, 13, 10], in: raw, from: max(0, scanned - 3))
            scanned = raw.count
            if headEnd == nil && raw.count > Self.maxHeadBytes { throw .error("malformed answer: its head is too large") }
        }
        let end = headEnd!
        let lines = String(decoding: raw[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw .error("malformed HTTP status line") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        // stewardd frames every answer with Content-Length; a chunked one would be read as data.
        if let te = headers["transfer-encoding"], te.lowercased() != "identity" {
            throw .error("malformed answer: unsupported Transfer-Encoding '\(te)'")
        }
        var length: Int?
        if let value = headers["content-length"] {
            guard let n = Int(value), n >= 0 else { throw .error("malformed answer: Content-Length '\(value)'") }
            length = n
        }
        self.fd = fd
        self.status = status
        self.headers = headers
        self.contentLength = length
        self.early = Array(raw[(end + 4)...])
    }

    deinit { close(fd) }

    /// The next piece of the body, handed to `sink` (a view of the buffer the next read reuses: copy
    /// what you keep); false at the end.
    /// The end is the Content-Length, or the end of the connection — check `received` against
    /// `contentLength` for a body cut short.
    func read(_ sink: (ArraySlice<UInt8>) throws(CLIError) -> Void) throws(CLIError) -> Bool {
        let left = contentLength.map { $0 - received } ?? Int.max
        guard left > 0 else { return false }
        if !early.isEmpty {
            let piece = early.prefix(left)
            early = []
            received += piece.count
            try sink(piece)
            return true
        }
        let want = min(left, buffer.count)
        var n: Int
        repeat {
            n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
        } while n < 0 && errno == EINTR
        guard n >= 0 else { throw .error("reading the answer failed: \(String(cString: strerror(errno)))") }
        guard n > 0 else { return false }
        received += n
        try sink(buffer[0..<n])
        return true
    }

    /// The rest of the body, at most `limit` bytes kept (an answer that is not a download is small).
    func readAll(limit: Int = 64 << 20) throws(CLIError) -> [UInt8] {
        var body: [UInt8] = []
        while try read({ (p) throws(CLIError) in
            guard body.count + p.count <= limit else { throw .error("the answer is larger than \(limit) bytes") }
            body.append(contentsOf: p)
        }) {}
        return body
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for i in start...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }
}
