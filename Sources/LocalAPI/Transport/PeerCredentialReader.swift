import CStewardShims
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads the peer's kernel credentials from an accepted unix-socket channel.
enum PeerCredentialReader {
    static func read(_ channel: Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(.unavailable)
        }
        let level = SocketOptionLevel(SOL_SOCKET)
        let cred: EventLoopFuture<steward_ucred> = provider.unsafeGetSocketOption(
            level: level, name: SocketOptionName(STEWARD_SO_PEERCRED))
        let groups: EventLoopFuture<steward_peer_groups> = provider.unsafeGetSocketOption(
            level: level, name: SocketOptionName(STEWARD_SO_PEERGROUPS))
        let pidfd: EventLoopFuture<CInt> = provider.unsafeGetSocketOption(
            level: level, name: SocketOptionName(STEWARD_SO_PEERPIDFD))

        return cred.and(groups).flatMap { cred, groups in
            pidfd.map { Optional($0) }.recover { _ in nil }.map { fd in
                PeerCredentials(
                    uid: cred.uid, gid: cred.gid, pid: cred.pid, groups: decodeGroups(groups),
                    pidfd: fd.flatMap { $0 > 0 ? $0 : nil })
            }
        }.recover { _ in .unavailable }
    }

    /// The kernel fills the buffer with the sorted group list; NIO zeroes it first and does not tell
    /// us the length, so trailing zeros are padding. gid 0 is kept only when a non-zero gid follows it
    /// (when the sole group is 0 it is dropped: that can only ever deny, never grant, extra access).
    static func decodeGroups(_ g: steward_peer_groups) -> [UInt32] {
        let all = withUnsafeBytes(of: g.gids) { Array($0.bindMemory(to: UInt32.self)) }
        guard let lastNonZero = all.lastIndex(where: { $0 != 0 }) else { return [] }
        return Array(all[...lastNonZero])
    }
}
