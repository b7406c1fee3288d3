import CStewardShims
import CSystemd
import Dispatch
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// Sends the daemon's journal entries to journald in batches, from one thread of its own.
///
/// Why: journald's CPU per entry is about half when entries arrive together (28–30 µs) than when
/// each wakes it (44–53 µs, measured at one connection creating jobs: one audit entry per request),
/// and journald shares the machine's cores with the daemon. An entry is queued; the writer thread
/// wakes at the first one, waits `delay` for the others, and sends everything queued with one
/// `sendmmsg` (the native protocol, as `sd_journal_sendv` writes it). The connection loops no
/// longer wait on journald's socket either.
///
/// The cost, bounded: an entry reaches journald up to `delay` after it was logged (its
/// `__REALTIME_TIMESTAMP` is journald's), and a daemon killed in that window loses it; a clean
/// stop sends everything (`flush`). Errors and worse are not queued: one is sent at once, after
/// everything queued before it, so order is kept. When journald falls behind, the queue does not
/// grow past `maxQueued`: the thread that fills it sends the queue itself and waits on journald's
/// socket, as every logging thread did before.
public final class JournalWriter: @unchecked Sendable {
    /// journald's native socket.
    public static let journaldPath = "/run/systemd/journal/socket"
    /// The daemon's writer, to journald.
    public static let shared = JournalWriter(path: journaldPath)

    /// How long the writer waits after the first queued entry for others.
    static let delayMicroseconds: useconds_t = 2_000
    /// Entries queued at most; the thread that queues the next sends them.
    static let maxQueued = 512

    private let queue = Locked<[JournalEntry]>([])
    /// Held while sending, so batches and urgent entries reach the socket in the order queued.
    private let socket: Locked<JournalSocket>
    private let wake = DispatchSemaphore(value: 0)
    private let started = Locked(false)

    /// A writer to the datagram socket at `path` (a test's own, in place of journald's).
    init(path: String) {
        socket = Locked(JournalSocket(path: path))
    }

    /// Queues `entry` (or, `urgent`, sends it now after everything queued).
    public func write(_ entry: JournalEntry, urgent: Bool) {
        if urgent {
            return socket.withLock { socket in
                socket.send(takeQueued() + [entry])
            }
        }
        let (wasEmpty, full) = queue.withLock { q -> (Bool, Bool) in
            q.append(entry)
            return (q.count == 1, q.count >= Self.maxQueued)
        }
        if full { return flush() }
        if wasEmpty {
            guard startIfNeeded() else { return flush() }
            wake.signal()
        }
    }

    /// Sends everything queued, now (at a clean stop, and when the queue is full).
    public func flush() {
        socket.withLock { socket in socket.send(takeQueued()) }
    }

    private func takeQueued() -> [JournalEntry] {
        queue.withLock { q in
            defer { q.removeAll(keepingCapacity: true) }
            return q
        }
    }

    /// Starts the writer's thread the first time; false when the system refused one.
    private func startIfNeeded() -> Bool {
        let start = started.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard start else { return true }
        let rc = DedicatedThread.start(name: "steward-journal") { [self] in
            while true {
                wake.wait()
                usleep(Self.delayMicroseconds)
                flush()
            }
        }
        // No thread: this entry is sent by the thread that logs it, and the next asks again.
        if rc != 0 { started.withLock { $0 = false } }
        return rc == 0
    }
}

/// journald's native socket, unconnected (so a restarted journald is found again), with its
/// datagrams built as `sd_journal_sendv` builds them.
struct JournalSocket {
    let path: String
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []

    init(path: String) { self.path = path }
    /// Larger entries go through `sd_journal_sendv`, which passes them in a memfd.
    static let maxDatagram = 64 * 1024

    mutating func send(_ entries: [JournalEntry]) {
        guard !entries.isEmpty else { return }
        if fd < 0 { open() }
        guard fd >= 0 else { return entries.forEach { $0.sendAlone() } }
        buffer.removeAll(keepingCapacity: true)
        var lengths: [Int] = []
        lengths.reserveCapacity(entries.count)
        for entry in entries {
            let before = buffer.count
            entry.appendDatagram(to: &buffer)
            lengths.append(buffer.count - before)
        }
        var next = 0, offset = 0
        while next < entries.count {
            if lengths[next] > Self.maxDatagram {
                entries[next].sendAlone()
                offset += lengths[next]
                next += 1
                continue
            }
            var run = next
            while run < entries.count && run - next < 64 && lengths[run] <= Self.maxDatagram { run += 1 }
            let sent = buffer.withUnsafeBufferPointer { bytes in
                lengths.withUnsafeBufferPointer { l in
                    steward_send_datagrams(fd, path, bytes.baseAddress! + offset, l.baseAddress! + next, UInt32(run - next))
                }
            }
            if sent < 0 && errno == EINTR { continue }
            // journald gone, or this one refused (EMSGSIZE): sd_journal_sendv tries it its way
            // (a memfd) and drops it as it always did.
            let done = sent > 0 ? Int(sent) : 1
            if sent <= 0 { entries[next].sendAlone() }
            for i in next..<(next + done) { offset += lengths[i] }
            next += done
        }
    }

    private mutating func open() {
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        // As sd_journal's own socket: room for bursts, so a sender rarely waits.
        var size: Int32 = 8 * 1024 * 1024
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
}
