import Synchronization

/// Caps on open connections, in total and per peer uid, so one user cannot take every slot.
public final class ConnectionLimiter: Sendable {
    private struct State {
        var total = 0
        var perUID: [UInt32: Int] = [:]
        var maxTotal: Int
        var maxPerUID: Int
    }
    private let state: Mutex<State>

    public init(maxTotal: Int, maxPerUID: Int) {
        state = Mutex(State(maxTotal: maxTotal, maxPerUID: maxPerUID))
    }

    public func updateLimits(maxTotal: Int, maxPerUID: Int) {
        state.withLock { $0.maxTotal = maxTotal; $0.maxPerUID = maxPerUID }
    }

    /// Takes a slot for `uid`; nil when granted, otherwise why not.
    public func acquire(uid: UInt32) -> String? {
        state.withLock { s in
            if s.total >= s.maxTotal { return "connection limit reached (\(s.maxTotal) in total)" }
            let mine = s.perUID[uid, default: 0]
            if mine >= s.maxPerUID { return "connection limit reached for uid \(uid) (\(s.maxPerUID))" }
            s.total += 1
            s.perUID[uid] = mine + 1
            return nil
        }
    }

    public func release(uid: UInt32) {
        state.withLock { s in
            s.total -= 1
            let left = s.perUID[uid, default: 1] - 1
            s.perUID[uid] = left > 0 ? left : nil
        }
    }

    public var openConnections: Int { state.withLock { $0.total } }
}
