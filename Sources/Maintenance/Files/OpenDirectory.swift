#if canImport(Glibc)
import Glibc
#endif

/// Linux's O_PATH (Glibc exports it only with _GNU_SOURCE): a descriptor usable as the directory
/// of `*at` calls without read permission on it.
private let openPathOnly: Int32 = 0o10000000

/// Which file a path named when it was opened: device and inode, compared instead of path strings
/// (a string can be made to name another file between a check and a use; an identity cannot).
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    /// The identity of whatever `path` names now, links followed; nil when it does not exist. For
    /// paths the operator configured (trusted), never for paths a request names.
    public init?(followingLinksAt path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        self.init(st)
    }
}

/// Why a path could not be walked.
public enum PathWalkError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAbsolute(String)
    /// A `..` component (or an empty or `.` name where a file name is needed).
    case badComponent(String)
    /// A component is a symbolic link (or not a directory).
    case linkOrNotDirectory(String)
    case missing(String)
    case failed(String, String)

    public var description: String {
        switch self {
        case .notAbsolute(let p): return "\(p) is not an absolute path"
        case .badComponent(let p): return "\(p) has a '..' component"
        case .linkOrNotDirectory(let p): return "\(p) is a symbolic link or not a directory"
        case .missing(let p): return "\(p) does not exist"
        case .failed(let p, let why): return "\(p): \(why)"
        }
    }
}

/// A directory opened from `/` one component at a time with no symbolic link followed on any of
/// them, and held open: every later operation goes through its descriptor (`openat`, `renameat`,
/// `unlinkat`), so nothing can swap a directory between the check and the use.
public final class OpenDirectory: @unchecked Sendable {
    /// The descriptor (`O_PATH` when the directory could not be opened for reading).
    public let descriptor: Int32
    /// The path it was opened by, for messages.
    public let path: String
    /// The identities of the directories walked, `/` first and this one last.
    public let lineage: [FileIdentity]

    private init(descriptor: Int32, path: String, lineage: [FileIdentity]) {
        self.descriptor = descriptor
        self.path = path
        self.lineage = lineage
    }

    deinit { close(descriptor) }

    public var identity: FileIdentity { lineage[lineage.count - 1] }

    /// A path through the open descriptor, for APIs that take only a path (SQLite): the kernel
    /// resolves it to this directory whatever its name now points at.
    public func pinnedPath(_ name: String) -> String { "/proc/self/fd/\(descriptor)/\(name)" }

    /// Walks `path` from `/`. With `createMode`, missing components are created with that mode.
    public static func open(_ path: String, createMode: mode_t? = nil) throws(PathWalkError) -> OpenDirectory {
        guard path.hasPrefix("/") else { throw .notAbsolute(path) }
        // `.` names the directory it is in; `..` could lead out of a checked directory: refused.
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
        guard !parts.contains("..") else { throw .badComponent(path) }
        var current = try rootDirectory()
        for part in parts {
            current = try current.child(part, createMode: createMode)
        }
        return current
    }

    private static func rootDirectory() throws(PathWalkError) -> OpenDirectory {
        let fd = Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .failed("/", String(cString: strerror(errno))) }
        var st = stat()
        fstat(fd, &st)
        return OpenDirectory(descriptor: fd, path: "/", lineage: [FileIdentity(st)])
    }

    /// The subdirectory `name` (one component), opened without following a link.
    public func child(_ name: String, createMode: mode_t? = nil) throws(PathWalkError) -> OpenDirectory {
        let full = (path == "/" ? "" : path) + "/" + name
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else { throw .badComponent(full) }
        if let mode = createMode, mkdirat(descriptor, name, mode) != 0, errno != EEXIST {
            throw .failed(full, String(cString: strerror(errno)))
        }
        var fd = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == EACCES { fd = openat(descriptor, name, openPathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else {
            switch errno {
            case ENOENT: throw .missing(full)
            case ELOOP, ENOTDIR: throw .linkOrNotDirectory(full)
            default: throw .failed(full, String(cString: strerror(errno)))
            }
        }
        var st = stat()
        fstat(fd, &st)
        return OpenDirectory(descriptor: fd, path: full, lineage: lineage + [FileIdentity(st)])
    }

    /// What `name` in this directory is, without following a link; nil when it does not exist.
    public func status(of name: String) -> stat? {
        var st = stat()
        return fstatat(descriptor, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    /// Opens the regular file `name` for reading (no link followed, never blocking on a FIFO).
    public func openRegularFile(_ name: String) -> OpenFile? {
        let fd = openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        return OpenFile(descriptor: fd, size: Int64(st.st_size))
    }

    /// The first `count` bytes of the regular file `name` (fewer when it is shorter); nil when it
    /// is not a regular file.
    public func prefix(of name: String, count: Int) -> [UInt8]? {
        guard let file = openRegularFile(name) else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(file.descriptor, $0.baseAddress, count, 0) }
        return n < 0 ? nil : Array(bytes[0..<n])
    }

    /// Removes the file `name` (not a directory); true when it was there.
    @discardableResult
    public func remove(_ name: String) -> Bool { unlinkat(descriptor, name, 0) == 0 }

    /// Renames `from` over `to`, both in this directory, and makes it durable.
    public func rename(_ from: String, to: String) -> Bool {
        guard renameat(descriptor, from, descriptor, to) == 0 else { return false }
        fsync(descriptor)
        return true
    }

    /// The names in this directory (without `.` and `..`).
    public func entries() -> [String] {
        let fd = openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let dir = fdopendir(fd) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Restricts this directory to its owner (mode 0700) when it is ours and looser; refuses one
    /// that belongs to someone else, since they could add or swap its entries.
    public func restrictToOwner() throws(PathWalkError) {
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { throw .failed(path, String(cString: strerror(errno))) }
        guard st.st_uid == geteuid() else { throw .failed(path, "owned by uid \(st.st_uid), not by the daemon's uid \(geteuid())") }
        if st.st_mode & 0o077 != 0, fchmod(descriptor, 0o700) != 0 {
            throw .failed(path, "cannot restrict it to mode 0700: \(String(cString: strerror(errno)))")
        }
    }
}

/// An open regular file and its size when opened; closed when the last reference goes.
public final class OpenFile: Sendable {
    public let descriptor: Int32
    public let size: Int64

    public init(descriptor: Int32, size: Int64) {
        self.descriptor = descriptor
        self.size = size
    }

    deinit { close(descriptor) }
}
