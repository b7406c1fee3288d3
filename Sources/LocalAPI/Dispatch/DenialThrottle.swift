import StewardModel

/// Keeps a denied peer in a loop from flooding the journal (and so from pushing journald into
/// rate-limiting, which would drop real audit entries): per peer uid and kind of entry, the first
/// `perInterval` entries of each interval are written in full; the rest are counted and written
/// as one summary entry when the interval is over. Privileged-action entries never pass through it.
final class DenialThrottle: Sendable {
    /// The kinds of entry throttled separately.
    enum Kind: Hashable, Sendable {
        case accessDenied
        case connectionRefused
    }

    /// Suppressed entries of one peer and kind in an interval that has ended.
    struct Summary: Equatable, Sendable {
        var kind: Kind
        var uid: UInt32
        var suppressed: Int
        /// Length of the interval, in seconds.
        var seconds: Int
    }

    private struct Key: Hashable {
        var kind: Kind
        var uid: UInt32
    }

    private struct Window {
        var start: ContinuousClock.Instant
        var written = 0
        var suppressed = 0
    }

    let perInterval: Int
    let interval: Duration
    /// Peers tracked at most; past it, entries of new peers are counted under one key (uid
    /// `UInt32.max`) so the table cannot grow without bound.
    let maxPeers: Int
    private let windows = Locked<[Key: Window]>([:])

    init(perInterval: Int = 5, interval: Duration = .seconds(10), maxPeers: Int = 4096) {
        self.perInterval = perInterval
        self.interval = interval
        self.maxPeers = maxPeers
    }

    /// Whether to write this entry in full, and the summary of the peer's previous interval if it
    /// ended with entries suppressed (to be written first).
    func admit(_ kind: Kind, uid: UInt32, now: ContinuousClock.Instant = .now) -> (write: Bool, summary: Summary?) {
        windows.withLock { w in
            var key = Key(kind: kind, uid: uid)
            if w[key] == nil && w.count >= maxPeers { key.uid = UInt32.max }
            var window = w[key] ?? Window(start: now)
            var summary: Summary?
            if now - window.start >= interval {
                if window.suppressed > 0 { summary = self.summary(key, window) }
                window = Window(start: now)
            }
            let write = window.written < perInterval
            if write { window.written += 1 } else { window.suppressed += 1 }
            w[key] = window
            return (write, summary)
        }
    }

    /// Ends every interval that is over: returns the summaries to write and forgets quiet peers.
    func flush(now: ContinuousClock.Instant = .now) -> [Summary] {
        windows.withLock { w in
            var out: [Summary] = []
            for (key, window) in w where now - window.start >= interval {
                if window.suppressed > 0 { out.append(summary(key, window)) }
                w.removeValue(forKey: key)
            }
            return out
        }
    }

    private func summary(_ key: Key, _ window: Window) -> Summary {
        Summary(kind: key.kind, uid: key.uid, suppressed: window.suppressed, seconds: Int(interval.components.seconds))
    }
}
