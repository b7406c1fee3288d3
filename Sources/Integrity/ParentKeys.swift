import Dispatch
import StewardModel
import Store
import Synchronization

/// The parent tables' keys, read into `IDSet`s by the scanning threads (each with its own connection
/// on the run's snapshot) before they take child units.
enum ParentKeys {
    struct Key: Sendable {
        var table: String
        var key: String
        var name: String { ParentKeys.name(table, key) }
    }

    static func name(_ table: String, _ key: String) -> String { table.lowercased() + "." + key.lowercased() }

    /// Reads one parent key into a set; returns it and the rows read.
    static func read(_ k: Key, _ conn: Connection) throws -> (IDSet, Int) {
        // Sized from the rowid range (cheap: the b-tree's last key) to avoid rehashing as it
        // fills — but only as a hint: a table keyed by large integers (epoch milliseconds,
        // snowflake ids) has a huge last rowid and few rows, so the hint is clamped to 4M ids
        // (about 100 MB of slots) and the set grows past it if the table really is that big.
        let lastRowid = (try? conn.cached("SELECT max(rowid) FROM \(ChildScan.quote(k.table))")).map { s -> Int64 in
            defer { s.reset() }
            return (try? s.step()) == true ? s.int64(0) : 0
        } ?? 0
        let estimate = Int(min(max(lastRowid, 0), IntegrityChecker.maxPresizedIDs))
        let stmt = try conn.cached("SELECT \(ChildScan.quote(k.key)) FROM \(ChildScan.quote(k.table))")
        defer { stmt.reset() }
        let set = IDSet(expected: estimate)
        // Decoded ids are inserted in batches, each batch's slots prefetched together.
        var batch: [(UInt64, UInt64)] = []
        batch.reserveCapacity(64)
        var rows = 0
        while try stmt.step() {
            stmt.withText(0) { bytes in
                guard let bytes else { return }
                if let id = MattermostID.decode(bytes) { batch.append(id) } else { set.insert(bytes) }
            }
            if batch.count == 64 {
                batch.withUnsafeBufferPointer { set.insertBatch($0) }
                batch.removeAll(keepingCapacity: true)
            }
            rows += 1
        }
        batch.withUnsafeBufferPointer { set.insertBatch($0) }
        return (set, rows)
    }
}

/// The parent sets of a run as they are built. A child unit waits only for the sets it probes, so a
/// thread that has finished the small parent tables scans children of those while another still
/// reads a big one (at 1M posts, the million post ids take most of the parent phase).
final class ParentSets: @unchecked Sendable {
    private struct State {
        var sets: [String: IDSet] = [:]
        var failed: [String: any Error] = [:]
        var rows = 0
        var lastReady = ContinuousClock.now
    }
    private let state = Mutex(State())
    /// The keys to read, one per name.
    let keys: [ParentKeys.Key]
    /// One group per key, left when its set is built or has failed; never re-entered.
    private let pending: [String: DispatchGroup]

    init(_ keys: [ParentKeys.Key]) {
        var pending: [String: DispatchGroup] = [:]
        var unique: [ParentKeys.Key] = []
        for k in keys where pending[k.name] == nil {
            let g = DispatchGroup()
            g.enter()
            pending[k.name] = g
            unique.append(k)
        }
        self.pending = pending
        self.keys = unique
    }

    /// Records a set (or its failure) and releases its waiters; a name published before, or one
    /// not asked for, changes nothing.
    func publish(_ name: String, _ result: Result<(IDSet, Int), Error>) {
        let first = state.withLock { s -> Bool in
            guard pending[name] != nil, s.sets[name] == nil, s.failed[name] == nil else { return false }
            switch result {
            case .success(let (set, rows)):
                s.sets[name] = set
                s.rows += rows
            case .failure(let error):
                s.failed[name] = error
            }
            s.lastReady = .now
            return true
        }
        if first { pending[name]?.leave() }
    }

    /// True once a set could not be read: the run fails, so the scans left are not started.
    var hasFailed: Bool { state.withLock { !$0.failed.isEmpty } }

    /// True when every named set is built (or has failed): a unit needing them would not wait.
    func ready(_ names: [String]) -> Bool {
        state.withLock { s in names.allSatisfy { s.sets[$0] != nil || s.failed[$0] != nil || pending[$0] == nil } }
    }

    /// The named sets, waiting for those still being read; throws when one could not be read.
    func sets(_ names: [String]) throws -> [String: IDSet] {
        for n in names { pending[n]?.wait() }
        return try state.withLock { s in
            var out: [String: IDSet] = [:]
            for n in names {
                if let failure = s.failed[n] { throw failure }
                guard let set = s.sets[n] else { throw ParentKeyMissing(name: n) }
                out[n] = set
            }
            return out
        }
    }

    /// After the run: the parent rows read, when the last set was ready, and the first failure.
    func snapshot() -> (rows: Int, lastReady: ContinuousClock.Instant, failure: (any Error)?) {
        state.withLock { s in (s.rows, s.lastReady, s.failed.sorted { $0.key < $1.key }.first?.value) }
    }
}

/// A set a child unit needs was never published (a bug, not a store error).
struct ParentKeyMissing: Error, CustomStringConvertible {
    var name: String
    var description: String { "parent key \(name) was not read" }
}
