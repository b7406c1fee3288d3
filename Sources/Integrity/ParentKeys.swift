import Dispatch
import StewardModel
import Store
import Synchronization

/// The parent tables' keys, read into `IDSet`s — one table per thread at a time, each thread with
/// its own connection on the run's snapshot.
enum ParentKeys {
    /// Reads every `(table, key)`; `done` is called (serialized) after each table.
    static func read(_ keys: [(table: String, key: String)], _ conns: [Connection],
                     done: @escaping @Sendable (String) -> Void) throws -> (sets: [String: IDSet], rows: Int) {
        let next = Atomic<Int>(0)
        let results = Mutex<(sets: [String: IDSet], rows: Int, failure: Error?)>(([:], 0, nil))
        let keys = keys.map { Key(table: $0.table, key: $0.key) }
        let work: @Sendable (Connection) -> Void = { conn in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < keys.count else { return }
                do {
                    let (set, rows) = try read(keys[i], conn)
                    results.withLock { r in
                        r.sets[name(keys[i].table, keys[i].key)] = set
                        r.rows += rows
                        done(keys[i].table)
                    }
                } catch {
                    results.withLock { r in if r.failure == nil { r.failure = error } }
                }
            }
        }
        if conns.count == 1 { work(conns[0]) } else { DispatchQueue.concurrentPerform(iterations: conns.count) { work(conns[$0]) } }
        let r = results.withLock { $0 }
        if let failure = r.failure { throw failure }
        return (r.sets, r.rows)
    }

    struct Key: Sendable {
        var table: String
        var key: String
    }

    static func name(_ table: String, _ key: String) -> String { table.lowercased() + "." + key.lowercased() }

    private static func read(_ k: Key, _ conn: Connection) throws -> (IDSet, Int) {
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
