import Foundation
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 response as read off the socket.
struct HTTPResult {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }

    func json() -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }
}

struct HTTPTestError: Error, CustomStringConvertible {
    var description: String
}

/// A raw connection to a unix socket, for requests the CLI would never send (huge bodies, partial
/// headers, keep-alive sequences).
final class UnixConnection {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []

    init(path: String, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestError(description: "socket failed") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un.make(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let e = errno
            // A class whose init throws after its properties are set still runs deinit: close
            // here and forget the number, or deinit would close it again — possibly after another
            // thread has been given the same number for its own socket.
            close(fd)
            fd = -1
            throw HTTPTestError(description: "connect(\(path)): \(String(cString: strerror(e)))")
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HTTPTestError(description: "send failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Reads one response (Content-Length framed). Throws on EOF or timeout before a full response.
    func readResponse() throws -> HTTPResult {
        while true {
            if let r = try parseBuffered() { return r }
            guard try fill() else { throw HTTPTestError(description: "connection closed before a full response") }
        }
    }

    /// True while the peer has not closed the connection (nothing to read yet, no EOF).
    var isOpen: Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// True when the peer has closed the connection (EOF) within the receive timeout.
    func waitForClose() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw HTTPTestError(description: "recv: \(String(cString: strerror(errno)))") }
        if n == 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func parseBuffered() throws -> HTTPResult? {
        let sep: [UInt8] = [13, 10, 13, 10]
        guard buffer.count >= 4, let end = (0...(buffer.count - 4)).first(where: { Array(buffer[$0..<$0 + 4]) == sep }) else { return nil }
        let lines = String(decoding: buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw HTTPTestError(description: "bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard buffer.count >= end + 4 + length else { return nil }
        let body = Array(buffer[(end + 4)..<(end + 4 + length)])
        buffer.removeFirst(end + 4 + length)
        return HTTPResult(status: status, headers: headers, body: body)
    }
}

enum UnixHTTP {
    /// One request on a fresh connection (`Connection: close`), like mmctl's local client.
    static func request(_ socket: String, _ method: String, _ path: String, body: [UInt8] = [],
                        headers: [String: String] = [:]) throws -> HTTPResult {
        let c = try UnixConnection(path: socket)
        var text = "\(method) \(path) HTTP/1.1\r\nHost: _\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        text += "\r\n"
        // The server may answer (413, 431) and close before it has read everything: still read the answer.
        try? c.send(Array(text.utf8) + body)
        return try c.readResponse()
    }

    static func get(_ socket: String, _ path: String) throws -> HTTPResult { try request(socket, "GET", path) }
    static func post(_ socket: String, _ path: String, body: String = "") throws -> HTTPResult {
        try request(socket, "POST", path, body: Array(body.utf8))
    }
    static func delete(_ socket: String, _ path: String) throws -> HTTPResult { try request(socket, "DELETE", path) }
}
