import Dispatch
import StewardModel
import Store
import Synchronization

/// A child table's share of the scan: the whole table, or a range of rowids of a big one, so the
/// scanning threads get pieces of about equal size (Posts alone is half of the rows).
struct ScanUnit: Sendable {
    let table: String
    let relations: [Relation]
    let rowids: ClosedRange<Int64>?
    /// Set when the unit is one relation answered from its index (`relations` is that one).
    var walk: KeyWalk? = nil
}

/// One scanning thread's orphans: a collector per relation with a spill of its own, touched by
/// that thread only — so finding an orphan takes no lock (with a million of them, one shared lock
/// made the two threads wait on each other's spill inserts). The answer merges the threads'
/// collectors of a relation in order.
final class WorkerOrphans: @unchecked Sendable {
    var collectors: [Relation: OrphanCollector]

    init(relations: [Relation], limit: Int) {
        let spill = OrphanSpill()
        collectors = [:]
        for (i, r) in relations.enumerated() { collectors[r] = OrphanCollector(limit: limit, spill: spill, id: i) }
    }
}

/// What the scanning threads report besides orphans: rows read, failures per child table, and
/// which tables are finished (for progress). Touched once per unit, under a lock.
final class ScanResults: @unchecked Sendable {
    private let lock = Mutex(())
    private var unitsLeft: [String: Int]
    private(set) var failures: [String: String] = [:]
    private(set) var rows = 0
    /// Called (under the lock) with each child table as its last unit ends.
    private let tableDone: (String) -> Void

    init(units: [ScanUnit], tableDone: @escaping (String) -> Void) {
        unitsLeft = units.reduce(into: [:]) { $0[$1.table.lowercased(), default: 0] += 1 }
        self.tableDone = tableDone
    }

    func finished(_ unit: ScanUnit, rows: Int, error: Error?) {
        lock.withLock { _ in
            self.rows += rows
            let key = unit.table.lowercased()
            if let error, failures[key] == nil { failures[key] = "\(error)" }
            unitsLeft[key, default: 1] -= 1
            if unitsLeft[key] == 0 { tableDone(unit.table) }
        }
    }

    func snapshot() -> (rows: Int, failures: [String: String]) { lock.withLock { _ in (rows, failures) } }
}

enum ChildScan {
    /// Rowids per unit below which a table is not split.
    static let minimumUnitRows: Int64 = 50_000

    /// The units for the child tables: big rowid tables split into up to `4 × threads` ranges
    /// (a `WITHOUT ROWID` table, or one whose rowid range cannot be read, stays whole), biggest first.
    /// A table whose relations can all be answered from their indexes with few keys
    /// (`KeyWalk.plan`) becomes one walk unit per relation instead.
    static func units(_ tables: [(name: String, relations: [Relation])], threads: Int, minimumRows: Int64 = minimumUnitRows,
                      minimumWalkRows: Int64 = KeyWalk.minimumRows, _ conn: Connection) -> [ScanUnit] {
        var out: [(unit: ScanUnit, size: Int64)] = []
        for t in tables {
            // A span that does not fit (rowids near both ends of Int64), or a table with a real
            // column called rowid (then `rowid` is that column, and a range would miss rows), is
            // read whole.
            let range = rowidRange(t.name, conn)
            let (spanMinusOne, overflow) = range.map { $0.1.subtractingReportingOverflow($0.0) } ?? (0, true)
            let spanFits = range != nil && !overflow && spanMinusOne < Int64.max / 2
            if spanFits, let walks = KeyWalk.plan(table: t.name, relations: t.relations, rows: spanMinusOne + 1, minimumRows: minimumWalkRows, conn) {
                // A key's seek costs about what two rows of a pass do (the units' order only).
                for w in walks { out.append((ScanUnit(table: t.name, relations: [w.relation], rowids: nil, walk: w), 2 * w.estimatedKeys)) }
                continue
            }
            guard threads > 1, spanFits, let (low, high) = range, high >= low, !hasColumnNamedRowid(t.name, conn) else {
                out.append((ScanUnit(table: t.name, relations: t.relations, rowids: nil), overflow ? Int64.max : spanMinusOne))
                continue
            }
            let span = spanMinusOne + 1
            let pieces = max(1, min(Int64(4 * threads), span / max(1, minimumRows)))
            let step = (span + pieces - 1) / pieces
            var start = low
            while start <= high {
                let end = min(high, start + step - 1)
                // The first and last pieces are open-ended, so nothing outside the range read at
                // the start (there is none: one snapshot) could be missed by rounding.
                let range = (start == low ? Int64.min : start)...(end == high ? Int64.max : end)
                out.append((ScanUnit(table: t.name, relations: t.relations, rowids: range), end - start + 1))
                start = end + 1
            }
        }
        return out.sorted { $0.size > $1.size }.map(\.unit)
    }

    private static func hasColumnNamedRowid(_ table: String, _ conn: Connection) -> Bool {
        guard let s = try? conn.cached("SELECT count(*) FROM pragma_table_info(?) WHERE lower(name) IN ('rowid', '_rowid_', 'oid')") else { return true }
        defer { s.reset() }
        s.bind(1, table)
        return (try? s.step()) != true || s.int64(0) > 0
    }

    private static func rowidRange(_ table: String, _ conn: Connection) -> (Int64, Int64)? {
        // Two subqueries, not `min(rowid), max(rowid)`: SQLite answers a lone min or max from the
        // b-tree's end but reads the whole table for both in one query (51 ms for Reactions' 326,000
        // rows, serially before any scan starts).
        let t = quote(table)
        guard let s = try? conn.cached("SELECT (SELECT rowid FROM \(t) ORDER BY rowid LIMIT 1), (SELECT rowid FROM \(t) ORDER BY rowid DESC LIMIT 1)") else { return nil }
        defer { s.reset() }
        guard (try? s.step()) == true, !s.isNull(0) else { return nil }
        return (s.int64(0), s.int64(1))
    }

    static func quote(_ identifier: String) -> String { quotedIdentifier(identifier) }

    /// Reads every parent key and then scans every unit, one thread per connection (each in a read
    /// transaction on the same snapshot). Parent keys are taken first, one per thread; then each
    /// thread takes the first unit whose parent sets are built — waiting only when none is — so
    /// a thread done with small parents scans while another still reads a big one.
    static func run(_ units: [ScanUnit], _ conns: [Connection], parents: ParentSets,
                    workers: [WorkerOrphans], into results: ScanResults, parentDone: @escaping @Sendable (String) -> Void) {
        let parentKeys = parents.keys
        let nextParent = Atomic<Int>(0)
        let queue = Mutex(Array(units.indices))
        let needs: [[String]] = units.map { u in Array(Set(u.relations.map(parentName))) }
        let work: @Sendable (Int) -> Void = { w in
            while true {
                let i = nextParent.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < parentKeys.count else { break }
                let k = parentKeys[i]
                parents.publish(k.name, Result { try ParentKeys.read(k, conns[w]) })
                parentDone(k.table)
            }
            while true {
                // Every parent key was taken before any unit is, so a wait is only ever for a set
                // another thread is reading now.
                let taken: Int? = queue.withLock { q in
                    guard !q.isEmpty, !parents.hasFailed else { return nil }
                    let at = q.firstIndex { parents.ready(needs[$0]) } ?? 0
                    return q.remove(at: at)
                }
                guard let u = taken else { return }
                let unit = units[u]
                do {
                    let rows = try scan(unit, conns[w], parents: try parents.sets(needs[u]), into: workers[w])
                    results.finished(unit, rows: rows, error: nil)
                } catch {
                    results.finished(unit, rows: 0, error: error)
                }
            }
        }
        if conns.count == 1 { return work(0) }
        // The calling thread takes part; at most one thread per connection (4 at most), each
        // blocking on SQLite: bounded, and never on the cooperative pool.
        DispatchQueue.concurrentPerform(iterations: conns.count) { work($0) }
    }

    private static func parentName(_ r: Relation) -> String { ParentKeys.name(r.parentTable, r.parentKey) }

    /// Reads one unit once for all of its table's relations; returns the rows read.
    static func scan(_ unit: ScanUnit, _ conn: Connection, parents: [String: IDSet], into worker: WorkerOrphans) throws -> Int {
        if let walk = unit.walk {
            var found = worker.collectors.removeValue(forKey: walk.relation)!
            defer { worker.collectors[walk.relation] = found }
            return try walk.run(conn, parents: parents[parentName(walk.relation)]!.probe, into: &found)
        }
        var columns: [String] = []
        func index(_ name: String) -> Int32 {
            if let i = columns.firstIndex(where: { $0.lowercased() == name.lowercased() }) { return Int32(i) }
            columns.append(name)
            return Int32(columns.count - 1)
        }
        struct Plan {
            var relation: Relation
            var fk: Int32
            var childId: Int32?
            var type: Int32?
        }
        let plans: [Plan] = unit.relations.map { r in
            Plan(relation: r, fk: index(r.childForeignKey), childId: r.childIdColumn.map(index), type: r.typeFilter.map { _ in index("Type") })
        }
        // Plain values, not the shared sets: nothing in the loop below retains an object another
        // thread is also retaining.
        let sets: [IDSet.Probe] = plans.map { parents[parentName($0.relation)]!.probe }
        // This thread's collectors for the unit's relations, held locally while it runs.
        var found: [OrphanCollector] = plans.map { worker.collectors.removeValue(forKey: $0.relation)! }
        defer { for (k, plan) in plans.enumerated() { worker.collectors[plan.relation] = found[k] } }
        // The hot loop reads only these plain arrays: no struct with references is copied per row.
        let fkColumns = plans.map(\.fk)
        let childIdColumns = plans.map { $0.childId ?? -1 }
        let skipEmpty = plans.map(\.relation.skipEmpty)
        let probeAtOnce = plans.map { parents[parentName($0.relation)]!.fitsInCache }
        let filters: [(column: Int32, isIn: Bool, values: Set<String>)?] = plans.map { plan in
            guard let f = plan.relation.typeFilter, let column = plan.type else { return nil }
            switch f {
            case .isIn(let v): return (column, true, Set(v))
            case .notIn(let v): return (column, false, Set(v))
            }
        }

        var sql = "SELECT \(columns.map(quote).joined(separator: ", ")) FROM \(quote(unit.table))"
        if unit.rowids != nil { sql += " WHERE rowid BETWEEN ? AND ?" }
        let stmt = try conn.cached(sql)
        defer { stmt.reset() }
        if let r = unit.rowids { stmt.bind(1, r.lowerBound).bind(2, r.upperBound) }
        // Canonical foreign keys are probed in batches per relation: all slots of a batch are
        // prefetched first, so the cache misses overlap. The child's id travels with the key (decoded
        // when canonical) because the row is gone by the time the batch is probed.
        var pending = plans.map { _ in ProbeBatch() }
        var rows = 0
        var rowChild = ProbeBatch.ChildID.none
        while try stmt.step() {
            rows += 1
            var rowChildColumn: Int32 = -1
            for k in 0..<fkColumns.count {
                if let filter = filters[k] {
                    let passes = stmt.withText(filter.column) { bytes -> Bool in
                        guard let bytes else { return false }  // NULL Type: neither IN nor NOT IN holds
                        return filter.values.contains(String(decoding: bytes, as: UTF8.self)) == filter.isIn
                    }
                    if !passes { continue }
                }
                let skip = skipEmpty[k]
                let set = sets[k]
                let probeNow = probeAtOnce[k]
                let immediate = stmt.withText(fkColumns[k]) { bytes -> (Bool, String?)? in
                    guard let bytes else { return (!skip, nil) }
                    if bytes.isEmpty && skip { return (false, nil) }
                    if let (hi, lo) = MattermostID.decode(bytes) {
                        // A set that stays in cache is probed at once, and the child id is read
                        // only for an orphan; a big one is probed in prefetched batches.
                        if probeNow { return set.containsDecoded(hi, lo) ? (false, nil) : (true, MattermostID.encode(hi, lo)) }
                        pending[k].fk.append((hi, lo))
                        return nil
                    }
                    if set.contains(bytes) { return (false, nil) }
                    return (true, String(decoding: bytes, as: UTF8.self))
                }
                let idColumn = childIdColumns[k]
                if let immediate {
                    guard immediate.0 else { continue }
                    let child = idColumn >= 0 ? stmt.withText(idColumn) { $0.map { String(decoding: $0, as: UTF8.self) } } : nil
                    try found[k].add(OrphanedRecord(parentID: immediate.1, childID: child))
                    continue
                }
                // Batched: remember the child id (decoded when canonical) for a possible orphan —
                // read once per row however many of the row's relations need it.
                if idColumn < 0 {
                    pending[k].child.append(.none)
                } else {
                    if rowChildColumn != idColumn {
                        rowChild = stmt.withText(idColumn) { bytes -> ProbeBatch.ChildID in
                            guard let bytes else { return .none }
                            if let (hi, lo) = MattermostID.decode(bytes) { return .decoded(hi, lo) }
                            return .text(String(decoding: bytes, as: UTF8.self))
                        }
                        rowChildColumn = idColumn
                    }
                    pending[k].child.append(rowChild)
                }
                if pending[k].fk.count == ProbeBatch.size { try pending[k].flush(set: sets[k]) { try found[k].add($0) } }
            }
        }
        for k in pending.indices { try pending[k].flush(set: sets[k]) { try found[k].add($0) } }
        return rows
    }
}
