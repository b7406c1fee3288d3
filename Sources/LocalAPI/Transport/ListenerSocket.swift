import Maintenance
import CStewardShims
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
    case unsafeDirectory(path: String, reason: String)
    case system(call: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .liveDaemon(let p): return "another daemon is answering on \(p); refusing to start"
        case .notASocket(let p): return "\(p) exists and is not a socket; refusing to remove it"
        case .directoryMissing(let p): return "the directory of \(p) does not exist"
        case .unknownGroup(let g): return "listener group '\(g)' does not exist"
        case .unsafeDirectory(let p, let why): return "refusing to create a socket in \(p): \(why)"
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

    /// Creates the socket file safely: in a directory nobody else can swap entries of (owned by root
    /// or by us; not writable by others unless sticky), refusing when a live daemon answers on the
    /// path or something other than a socket is there. The socket is bound under a private name in
    /// that directory (mode 0600), given its group and mode through the directory's descriptor
    /// without following links, made listening, and only then renamed into place — so the final
    /// name is never a socket with the wrong owner or mode, and no link put there is ever followed.
    public static func create(_ settings: ListenerSettings, groupID: UInt32?) throws -> ListenerSocket {
        let path = settings.path
        let dirPath = PathName.directory(of: path) ?? "."
        let name = PathName.lastComponent(of: path)
        let dirfd = open(dirPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else {
            if errno == ENOENT { throw ListenerError.directoryMissing(path: path) }
            throw ListenerError.system(call: "open", path: dirPath, errno: errno)
        }
        defer { close(dirfd) }
        try checkDirectory(dirfd, path: dirPath)

        var st = stat()
        var stale = false
        if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw ListenerError.notASocket(path: path) }
            if isAnswering(path) { throw ListenerError.liveDaemon(path: path) }
            stale = true
        }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenerError.system(call: "socket", path: path, errno: errno) }
        // A private name beside the final one (same directory: the rename cannot cross filesystems).
        let temp = ".\(name).\(NewID.make().prefix(12)).tmp"
        let tempPath = dirPath == "/" ? "/" + temp : dirPath + "/" + temp
        guard tempPath.utf8.count <= 107 else {
            close(fd)
            throw ListenerError.system(call: "bind", path: tempPath, errno: ENAMETOOLONG)
        }
        var addr = sockaddr_un.make(tempPath)
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
            if let groupID, fchownat(dirfd, temp, UInt32.max, groupID, AT_SYMLINK_NOFOLLOW) != 0 {
                throw ListenerError.system(call: "fchownat", path: tempPath, errno: errno)
            }
            // With AT_SYMLINK_NOFOLLOW glibc changes the node itself (through an O_PATH descriptor).
            if fchmodat(dirfd, temp, mode_t(settings.modeBits ?? 0o600), AT_SYMLINK_NOFOLLOW) != 0 {
                throw ListenerError.system(call: "fchmodat", path: tempPath, errno: errno)
            }
            if listen(fd, 512) != 0 { throw ListenerError.system(call: "listen", path: path, errno: errno) }
            // The stale socket goes only now, and the new one takes its name only if nothing else did meanwhile.
            if stale, unlinkat(dirfd, name, 0) != 0, errno != ENOENT {
                throw ListenerError.system(call: "unlink", path: path, errno: errno)
            }
            if steward_rename_noreplace(dirfd, temp, name) != 0 {
                if errno == EEXIST { throw ListenerError.notASocket(path: path) }
                throw ListenerError.system(call: "rename", path: path, errno: errno)
            }
        } catch {
            close(fd)
            unlinkat(dirfd, temp, 0)
            throw error
        }
        var created = stat()
        let node = fstatat(dirfd, name, &created, AT_SYMLINK_NOFOLLOW) == 0 ? (UInt64(created.st_dev), UInt64(created.st_ino)) : nil
        return ListenerSocket(fd: fd, settings: settings, ownsPath: true, node: node)
    }

    /// A directory is safe for our socket when nobody but root and us can add, remove or rename its
    /// entries: owned by root or our user, and not writable by group or others unless sticky (a
    /// group-writable directory of root's group is accepted, as root's own).
    static func checkDirectory(_ dirfd: Int32, path: String) throws(ListenerError) {
        var st = stat()
        guard fstat(dirfd, &st) == 0 else { throw .system(call: "fstat", path: path, errno: errno) }
        if st.st_uid != 0 && st.st_uid != geteuid() {
            throw .unsafeDirectory(path: path, reason: "owned by uid \(st.st_uid), not by root or the daemon's user")
        }
        let sticky = st.st_mode & S_ISVTX != 0
        if st.st_mode & S_IWOTH != 0 && !sticky {
            throw .unsafeDirectory(path: path, reason: "writable by others without the sticky bit")
        }
        if st.st_mode & S_IWGRP != 0 && !sticky && st.st_gid != 0 && st.st_gid != getegid() {
            throw .unsafeDirectory(path: path, reason: "writable by group \(st.st_gid) without the sticky bit")
        }
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
