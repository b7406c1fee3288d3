import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's account of who is on the other end of a connection, read once at accept with
/// `SO_PEERCRED`, `SO_PEERGROUPS` and `SO_PEERPIDFD`. Never derived from anything the peer sends.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    /// The kernel's overflow uid/gid: what a peer from a user namespace without a mapping shows as.
    public static let overflowID: UInt32 = 65534

    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// Supplementary groups (sorted, as the kernel keeps them).
    public var groups: [UInt32]
    /// A pidfd for the peer process where the kernel offers one (Linux ≥ 6.5); owned by the connection.
    public var pidfd: Int32?
    /// False when any lookup failed: such a peer is *unknown*.
    public var lookupSucceeded: Bool
    /// The executable, read from /proc at the connection's first audit entry and kept for its
    /// others (a keep-alive script's every privileged request would otherwise cost a readlink and
    /// a read of fdinfo). Shared by the copies of one connection's credentials.
    private let executable = ExecutableCache()

    public init(uid: UInt32, gid: UInt32, pid: Int32, groups: [UInt32], pidfd: Int32? = nil, lookupSucceeded: Bool = true) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.groups = groups
        self.pidfd = pidfd
        self.lookupSucceeded = lookupSucceeded
    }

    /// A peer whose credentials could not be read.
    public static let unavailable = PeerCredentials(
        uid: overflowID, gid: overflowID, pid: 0, groups: [], lookupSucceeded: false)

    /// Pid 0, the overflow uid/gid, or a failed lookup means unknown — denied everything but ping.
    public var isUnknown: Bool {
        !lookupSucceeded || pid == 0 || uid == Self.overflowID || gid == Self.overflowID
    }

    /// The primary and supplementary gids.
    public var allGroups: [UInt32] { groups.contains(gid) ? groups : [gid] + groups }

    public var description: String { "uid=\(uid) gid=\(gid) pid=\(pid)" }

    public static func == (a: PeerCredentials, b: PeerCredentials) -> Bool {
        a.uid == b.uid && a.gid == b.gid && a.pid == b.pid && a.groups == b.groups && a.pidfd == b.pidfd
            && a.lookupSucceeded == b.lookupSucceeded
    }

    /// The peer's executable as first read for this connection (see `executablePath`).
    public var executableForAudit: String {
        executable.path.withLock { cached in
            if let cached { return cached }
            let path = executablePath()
            // A failed read (the process gone, no descriptor free) is tried again next time.
            if !path.isEmpty { cached = path }
            return path
        }
    }

    /// The peer's executable, for audit entries. Read from /proc; when a pidfd is held, the pid is
    /// confirmed to still be the same process (not a reused pid) before the path is trusted.
    public func executablePath() -> String {
        guard pid > 0 else { return "" }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "" }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if let pidfd, Self.pidOfPidfd(pidfd) != pid { return "" }
        return path
    }

    /// The pid a pidfd refers to now (-1 once the process has exited), from /proc/self/fdinfo.
    static func pidOfPidfd(_ fd: Int32) -> Int32? {
        guard let f = fopen("/proc/self/fdinfo/\(fd)", "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), f) != nil {
            let end = line.firstIndex(of: 0) ?? line.count
            let s = String(decoding: line[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if s.hasPrefix("Pid:") {
                return Int32(s.dropFirst(4).trimmingCharacters(in: " \t\n"))
            }
        }
        return nil
    }
}

/// A connection's peer executable, once read.
private final class ExecutableCache: Sendable {
    let path = Mutex<String?>(nil)
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
