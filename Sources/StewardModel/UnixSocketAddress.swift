#if canImport(Glibc)
import Glibc
#endif

extension sockaddr_un {
    /// The address of the unix socket at `path` (cut to what `sun_path` holds, NUL-terminated) —
    /// what the daemon binds and probes and what stewardctl and the tests connect to.
    public static func make(_ path: String) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }
}
