import StewardModel

/// Caps on open connections — in total, per listener, per uid on each listener and per uid in all —
/// with a share of the total kept for administrators, so that no set of lesser peers (a few
/// observer uids on the group listener, say) can take every place and lock root out.
public final class ConnectionLimiter: Sendable {
    /// The caps in force; rebuilt from `ServiceSettings` on reload.
    public struct Caps: Sendable, Equatable {
        public var maxTotal: Int
        public var maxPerUID: Int
        /// Places of `maxTotal` only administrators may take.
        public var reservedForAdministrators: Int
        /// Per listener name: its own total and per-uid caps.
        public var listeners: [String: (total: Int, perUID: Int)]

        public init(_ s: ServiceSettings) {
            maxTotal = s.maxConnections
            maxPerUID = s.maxConnectionsPerUid
            reservedForAdministrators = s.reservedAdmin
            listeners = [:]
            for l in s.listeners {
                listeners[l.name] = (
                    l.maxConnections > 0 ? l.maxConnections : s.maxConnections,
                    l.maxConnectionsPerUid > 0 ? l.maxConnectionsPerUid : s.maxConnectionsPerUid)
            }
        }

        public static func == (a: Caps, b: Caps) -> Bool {
            a.maxTotal == b.maxTotal && a.maxPerUID == b.maxPerUID && a.reservedForAdministrators == b.reservedForAdministrators
                && a.listeners.count == b.listeners.count
                && a.listeners.allSatisfy { k, v in b.listeners[k].map { $0 == v } ?? false }
        }
    }

    private struct Key: Hashable {
        var listener: String
        var uid: UInt32
    }

    private struct State {
        var caps: Caps
        var total = 0
        var perUID: [UInt32: Int] = [:]
        var perListener: [String: Int] = [:]
        var perListenerUID: [Key: Int] = [:]
    }
    private let state: Locked<State>

    public init(caps: Caps) {
        state = Locked(State(caps: caps))
    }

    public func update(_ caps: Caps) {
        state.withLock { $0.caps = caps }
    }

    /// Takes a place for `uid` on `listener`; nil when granted, otherwise why not. `administrator`
    /// is asked only when the places kept for administrators are all that is left (it reads the
    /// policy, which may resolve names through NSS: never under this lock, never per connection).
    public func acquire(uid: UInt32, listener: String, administrator: @autoclosure () -> Bool) -> String? {
        guard let refusal = tryAcquire(uid: uid, listener: listener, administrator: false) else { return nil }
        guard refusal.onlyTheReserveIsLeft, administrator() else { return refusal.reason }
        return tryAcquire(uid: uid, listener: listener, administrator: true)?.reason
    }

    private func tryAcquire(uid: UInt32, listener: String, administrator: Bool) -> (reason: String, onlyTheReserveIsLeft: Bool)? {
        state.withLock { s in
            let caps = s.caps
            if s.total >= caps.maxTotal { return ("connection limit reached (\(caps.maxTotal) in total)", false) }
            if !administrator && s.total >= caps.maxTotal - caps.reservedForAdministrators {
                return ("connection limit reached (the last \(caps.reservedForAdministrators) of \(caps.maxTotal) are kept for administrators)", true)
            }
            let mine = s.perUID[uid, default: 0]
            if mine >= caps.maxPerUID { return ("connection limit reached for uid \(uid) (\(caps.maxPerUID))", false) }
            let (listenerTotal, listenerPerUID) = caps.listeners[listener] ?? (caps.maxTotal, caps.maxPerUID)
            let onListener = s.perListener[listener, default: 0]
            if onListener >= listenerTotal { return ("connection limit reached on listener \(listener) (\(listenerTotal))", false) }
            let key = Key(listener: listener, uid: uid)
            let mineHere = s.perListenerUID[key, default: 0]
            if mineHere >= listenerPerUID {
                return ("connection limit reached for uid \(uid) on listener \(listener) (\(listenerPerUID))", false)
            }
            s.total += 1
            s.perUID[uid] = mine + 1
            s.perListener[listener] = onListener + 1
            s.perListenerUID[key] = mineHere + 1
            return nil
        }
    }

    public func release(uid: UInt32, listener: String) {
        state.withLock { s in
            s.total -= 1
            func down<K: Hashable>(_ d: inout [K: Int], _ k: K) {
                let left = d[k, default: 1] - 1
                d[k] = left > 0 ? left : nil
            }
            down(&s.perUID, uid)
            down(&s.perListener, listener)
            down(&s.perListenerUID, Key(listener: listener, uid: uid))
        }
    }

    public var openConnections: Int { state.withLock { $0.total } }
}
