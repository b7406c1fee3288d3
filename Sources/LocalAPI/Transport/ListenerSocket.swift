#if canImport(Glibc)
import Glibc
#endif
import StewardModel

/// Errors creating a listening socket. Startup reports them and exits non-zero.
public enum ListenerError: Error, CustomStringConvertible, Equatable {
    case liveDaemon(path: String)
    case notASocket(path: String)
    case directoryMissing(path: String)
    case unknownGroup(String)
    case system(call: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .liveDaemon(let p): return "another daemon is answering on \(p); refusing to start"
        case .notASocket(let p): return "\(p) exists and is not a socket; refusing to remove it"
        case .directoryMissing(let p): return "the directory of \(p) does not exist"
        case .unknownGroup(let g): return "listener group '\(g)' does not exist"
        case .system(let call, let p, let e): return "\(call)(\(p)) failed: \(String(cString: strerror(e)))"
        }
    }
}

/// A bound, listening unix stream socket ready for the connection loops.
public struct ListenerSocket: Sendable {
    public let fd: Int32
    public let settings: ListenerSettings
    /// True when we created the socket file (so we unlink it on clean exit); false for systemd's.
    public let ownsPath: Bool
    /// Identity of the socket node we created, so we never unlink a file another process put there.
    let node: (dev: UInt64, ino: UInt64)?

    /// Creates the socket file safely (spec §2): refuse when a live daemon answers on the path, unlink
    /// a stale socket, bind under a umask that leaves the node no more open than 0600, then chown the
    /// group and chmod to the final mode (which is never more open than the configured one).
    public static func create(_ settings: ListenerSettings, groupID: UInt32?) throws -> ListenerSocket {
        let path = settings.path
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw ListenerError.notASocket(path: path) }
            if isAnswering(path) { throw ListenerError.liveDaemon(path: path) }
            if unlink(path) != 0 { throw ListenerError.system(call: "unlink", path: path, errno: errno) }
        }
        let dir = path.split(separator: "/").dropLast().joined(separator: "/")
        if stat("/" + dir, &st) != 0 { throw ListenerError.directoryMissing(path: path) }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenerError.system(call: "socket", path: path, errno: errno) }
        var addr = sockaddr_un.make(path)
        let old = umask(0o177)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let bindErrno = errno
        umask(old)
        guard rc == 0 else {
            close(fd)
            throw ListenerError.system(call: "bind", path: path, errno: bindErrno)
        }
        do {
            if let groupID, chown(path, UInt32.max, groupID) != 0 {
                throw ListenerError.system(call: "chown", path: path, errno: errno)
            }
            if chmod(path, mode_t(settings.modeBits ?? 0o600)) != 0 {
                throw ListenerError.system(call: "chmod", path: path, errno: errno)
            }
            if listen(fd, 512) != 0 { throw ListenerError.system(call: "listen", path: path, errno: errno) }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        var created = stat()
        let node = lstat(path, &created) == 0 ? (UInt64(created.st_dev), UInt64(created.st_ino)) : nil
        return ListenerSocket(fd: fd, settings: settings, ownsPath: true, node: node)
    }

    /// Wraps a socket passed by systemd (already bound and listening; the socket unit owns the file).
    public static func adopt(fd: Int32, settings: ListenerSettings) -> ListenerSocket {
        ListenerSocket(fd: fd, settings: settings, ownsPath: false, node: nil)
    }

    /// True when something accepts a connection on `path` (a live daemon), false for a stale file.
    public static func isAnswering(_ path: String) -> Bool { UnixSocketPath.isAnswering(path, type: SOCK_STREAM) }

    /// Removes the socket file if we created it and it is still ours (same inode as our socket).
    public func removeFileIfOwned() {
        guard ownsPath, let node else { return }
        var onDisk = stat()
        if lstat(settings.path, &onDisk) == 0, UInt64(onDisk.st_dev) == node.dev, UInt64(onDisk.st_ino) == node.ino {
            unlink(settings.path)
        }
    }
}

/// Unix socket addresses by path.
public enum UnixSocketPath {
    /// True when a socket of `type` at `path` accepts a connection (stream) or a peer (datagram).
    public static func isAnswering(_ path: String, type: __socket_type) -> Bool {
        let fd = socket(AF_UNIX, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un.make(path)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}
