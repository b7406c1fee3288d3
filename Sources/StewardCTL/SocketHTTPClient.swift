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

    func send(_ method: String, _ path: String, body: [UInt8] = []) throws(CLIError) -> Response {
        try preflight()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .unreachable("socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
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
            guard n > 0 else { throw .unreachable("write to \(socketPath) failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            received.append(contentsOf: chunk[0..<n])
        }
        return try Self.parse(received)
    }

    static func parse(_ raw: [UInt8]) throws(CLIError) -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = raw.indices.dropLast(3).first(where: { Array(raw[$0..<$0 + 4]) == separator }) else {
            throw .unreachable("the daemon closed the connection without an answer")
        }
        let head = String(decoding: raw[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw .error("malformed HTTP status line") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(raw[(end + 4)...])
        if let length = headers["content-length"].flatMap(Int.init), length < body.count { body = Array(body[..<length]) }
        return Response(status: status, headers: headers, body: body)
    }
}
