import CStewardShims
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads the peer's kernel credentials from an accepted unix-socket channel.
enum PeerCredentialReader {
    /// Must run on the channel's event loop (the child channel initializer does), where NIO reads the
    /// options synchronously and hands back already-completed futures.
    static func read(_ channel: Channel) -> PeerCredentials {
        guard let provider = channel as? SocketOptionProvider else { return .unavailable }
        let level = SocketOptionLevel(SOL_SOCKET)
        let cred: steward_ucred? = value(provider.unsafeGetSocketOption(level: level, name: SocketOptionName(STEWARD_SO_PEERCRED)))
        let groups: [UInt32]
        if let small: steward_peer_groups_small = value(provider.unsafeGetSocketOption(level: level, name: SocketOptionName(STEWARD_SO_PEERGROUPS))) {
            groups = decodeGroups(small.gids)
        } else if let large: steward_peer_groups = value(provider.unsafeGetSocketOption(level: level, name: SocketOptionName(STEWARD_SO_PEERGROUPS))) {
            groups = decodeGroups(large.gids)
        } else {
            return .unavailable
        }
        guard let cred else { return .unavailable }
        let pidfd: CInt? = value(provider.unsafeGetSocketOption(level: level, name: SocketOptionName(STEWARD_SO_PEERPIDFD)))
        return PeerCredentials(
            uid: cred.uid, gid: cred.gid, pid: cred.pid, groups: groups, pidfd: pidfd.flatMap { $0 > 0 ? $0 : nil })
    }

    /// The value of a future completed on the current event loop (nil on failure or if still pending).
    private static func value<T>(_ future: EventLoopFuture<T>) -> T? {
        var result: T?
        future.assumeIsolated().whenSuccess { result = $0 }
        return result
    }

    /// The kernel fills the buffer with the sorted group list; NIO zeroes it first and does not tell
    /// us the length, so trailing zeros are padding. gid 0 is kept only when a non-zero gid follows it
    /// (when the sole group is 0 it is dropped: that can only ever deny, never grant, extra access).
    static func decodeGroups<Tuple>(_ gids: Tuple) -> [UInt32] {
        withUnsafeBytes(of: gids) { raw in
            let all = raw.bindMemory(to: UInt32.self)
            guard let lastNonZero = all.lastIndex(where: { $0 != 0 }) else { return [] }
            return Array(all[...lastNonZero])
        }
    }
}
