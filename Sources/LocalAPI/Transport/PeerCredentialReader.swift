import CStewardShims
#if canImport(Glibc)
import Glibc
#endif

/// Reads a connected socket's peer credentials from the kernel, once, right after accept and
/// before any byte of the request is read.
enum PeerCredentialReader {
    /// SO_PEERCRED, SO_PEERGROUPS (with a larger buffer on ERANGE) and SO_PEERPIDFD.
    static func read(_ fd: Int32) -> PeerCredentials {
        var cred = steward_ucred()
        var len = socklen_t(MemoryLayout<steward_ucred>.size)
        guard getsockopt(fd, SOL_SOCKET, STEWARD_SO_PEERCRED, &cred, &len) == 0 else { return .unavailable }
        var gids = [UInt32](repeating: 0, count: 32)
        var glen = socklen_t(gids.count * 4)
        var rc = gids.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, STEWARD_SO_PEERGROUPS, $0.baseAddress, &glen) }
        if rc != 0 && errno == ERANGE && Int(glen) <= Int(STEWARD_MAX_PEER_GROUPS) * 4 {
            gids = [UInt32](repeating: 0, count: Int(STEWARD_MAX_PEER_GROUPS))
            glen = socklen_t(gids.count * 4)
            rc = gids.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, STEWARD_SO_PEERGROUPS, $0.baseAddress, &glen) }
        }
        guard rc == 0 else { return .unavailable }
        var pidfd: Int32 = -1
        var plen = socklen_t(MemoryLayout<Int32>.size)
        let havePidfd = getsockopt(fd, SOL_SOCKET, STEWARD_SO_PEERPIDFD, &pidfd, &plen) == 0 && pidfd >= 0
        return PeerCredentials(
            uid: cred.uid, gid: cred.gid, pid: cred.pid, groups: Array(gids.prefix(Int(glen) / 4)),
            pidfd: havePidfd ? pidfd : nil)
    }
}
