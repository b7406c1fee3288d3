import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// `sd_notify` messages for `Type=notify` (no-ops when NOTIFY_SOCKET is unset).
enum SystemdNotifier {
    static func send(_ state: String) {
        _ = sd_notify(0, state)
    }

    static func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    /// `RELOADING=1` with the CLOCK_MONOTONIC timestamp systemd ≥ 253 requires for `Type=notify-reload`.
    static func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let usec = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
        send("RELOADING=1\nSTATUS=Reloading configuration\nMONOTONIC_USEC=\(usec)")
    }

    static func stopping() { send("STOPPING=1\nSTATUS=Shutting down") }

    static func watchdog() { send("WATCHDOG=1") }

    /// The watchdog interval when `WatchdogSec=` is set for us.
    static var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }
}

/// Sockets passed by systemd (`LISTEN_FDS`, `LISTEN_FDNAMES`).
enum SocketActivation {
    struct PassedSocket {
        var fd: Int32
        var name: String
    }

    /// Takes the passed unix stream sockets and unsets the variables so children do not inherit them.
    static func passedSockets() -> [PassedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let n = sd_listen_fds_with_names(1, &names)
        guard n > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(n) { free(names[i]) }
                free(names)
            }
        }
        var sockets: [PassedSocket] = []
        for i in 0..<Int(n) {
            let fd = SD_LISTEN_FDS_START + Int32(i)
            guard sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else { continue }
            let name = names?[i].map { String(cString: $0) } ?? "unknown"
            sockets.append(PassedSocket(fd: fd, name: name))
        }
        return sockets
    }
}
