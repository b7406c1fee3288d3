import StewardModel
import Store

/// What a check run found, with what the journal and the job report need beyond the wire result.
public struct IntegrityReport: Sendable {
    /// The wire answer, written on demand (`writeJSON`, `results`): its records may be on disk.
    let answer: IntegrityAnswer
    /// Checks answered with no records because a table they name does not exist.
    public var skipped: [String]
    /// The true number of orphans per check (with a cap, the answer keeps at most the cap).
    public var orphanCounts: [(check: String, count: Int)]
    /// Checks whose records were cut at the cap (only with `IntegritySettings.MaxRecordsPerRelation`).
    public var truncated: [String]
    /// Records in the answer.
    public var recordCount: Int
    public var rowsScanned: Int
    /// Time spent reading parent keys and scanning child tables, in milliseconds.
    public var parentMilliseconds: Int
    public var childMilliseconds: Int

    /// Entries in the answer: Mattermost's 41, then Steward's own, configured and discovered ones.
    public var resultCount: Int { answer.count }

    /// The answer as values; for small answers and tests (`writeJSON` for anything that may be large).
    public var results: [IntegrityCheckResult] { get throws { try answer.results() } }

    /// Writes the JSON answer of `POST /api/v4/integrity` in chunks (blocking: spilled records are
    /// read back from disk).
    public func writeJSON(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws { try answer.write(sink) }
}

/// Runs relational integrity checks over one consistent snapshot of the store.
///
/// Mattermost runs one `NOT EXISTS` query per relation, which probes a parent b-tree once per child
/// row. Here every parent table is read once into an `IDSet`, every child table is read once for all
/// of its relations, and rows are probed from SQLite's column bytes without allocating. Orphans are
/// kept up to a cap per relation (ordered as Mattermost's `ORDER BY` foreign key), so memory does not
/// grow with their number.
public final class IntegrityChecker: Sendable {
    /// The most ids a parent key's set is sized for up front (it grows beyond when needed).
    static let maxPresizedIDs: Int64 = 1 << 22

    private let store: DatabasePool

    public init(store: DatabasePool) { self.store = store }

    public struct Options: Sendable {
        public var configured: [IntegrityRelationSettings]
        public var discoverForeignKeys: Bool
        public var maxRecordsPerRelation: Int
        /// Called after each table has been read (tests use it to write concurrently).
        public var afterTableScan: (@Sendable (String) -> Void)?

        /// Called after each table is read with the tables done and the total (progress).
        public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?

        /// `maxRecordsPerRelation` 0 (the default) keeps every record, as Mattermost does.
        public init(configured: [IntegrityRelationSettings] = [], discoverForeignKeys: Bool = false,
                    maxRecordsPerRelation: Int = 0, afterTableScan: (@Sendable (String) -> Void)? = nil,
                    progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) {
            self.configured = configured
            self.discoverForeignKeys = discoverForeignKeys
            self.maxRecordsPerRelation = maxRecordsPerRelation
            self.afterTableScan = afterTableScan
            self.progress = progress
        }
    }

    public func run(_ options: Options) async throws -> IntegrityReport {
        try await store.read { conn in try Self.run(conn, options) }
    }

    /// Synchronous form for callers already on a store thread (the integrity job).
    public func runSync(_ options: Options) throws -> IntegrityReport {
        try store.readSync { conn in try Self.run(conn, options) }
    }

    static func run(_ conn: Connection, _ options: Options) throws -> IntegrityReport {
        // One read transaction: every statement below reads the same WAL snapshot.
        try conn.execute("BEGIN")
        defer { try? conn.execute("COMMIT") }
        let schema = try Schema(conn)
        var checks = MattermostRelations.checks
        // Steward's own relations follow Mattermost's 41 where its tables are (its own store).
        checks += StewardRelations.checks.filter { c in c.parts.allSatisfy { schema.has(table: $0.parentTable) && schema.has(table: $0.childTable) } }
        checks += options.configured.map { c in
            IntegrityCheck([Relation(parent: c.parentTable, parentKey: c.parentKey, child: c.childTable, foreignKey: c.childForeignKey,
                                     childId: c.childIdColumn.isEmpty ? nil : c.childIdColumn, skipEmpty: c.skipEmpty)])
        }
        if options.discoverForeignKeys {
            let known = Set(checks.flatMap(\.parts).map { RelationKey($0) })
            checks += try schema.declaredForeignKeys(conn).filter { !known.contains(RelationKey($0)) }.map { IntegrityCheck([$0]) }
        }
        var run = Run(options: options, schema: schema)
        try run.execute(checks, conn)
        return run.report(checks)
    }
}

/// Identity of a relation for de-duplicating discovered foreign keys against known ones.
private struct RelationKey: Hashable {
    var parent: String, key: String, child: String, fk: String
    init(_ r: Relation) {
        parent = r.parentTable.lowercased()
        key = r.parentKey.lowercased()
        child = r.childTable.lowercased()
        fk = r.childForeignKey.lowercased()
    }
}

/// One execution: parent sets, child scans, collected orphans.
private struct Run {
    let options: IntegrityChecker.Options
    var schema: Schema
    var parents: [String: IDSet] = [:]  // IDSet is a class: shared, not copied
    var collectors: [Relation: OrphanCollector] = [:]
    let spill = OrphanSpill()
    var tablesDone = 0
    /// The next relation number in the spill.
    var spillIDs = 0
    var tablesTotal = 0
    var errors: [Int: String] = [:]
    var skipped: [Int] = []
    var rowsScanned = 0
    var parentMilliseconds = 0
    var childMilliseconds = 0

    init(options: IntegrityChecker.Options, schema: Schema) {
        self.options = options
        self.schema = schema
    }

    static func quote(_ identifier: String) -> String { "\"" + identifier.replacingQuotes() + "\"" }

    mutating func execute(_ checks: [IntegrityCheck], _ conn: Connection) throws {
        var runnable: [Int] = []
        for (i, check) in checks.enumerated() {
            if check.parts.contains(where: { !schema.has(table: $0.parentTable) || !schema.has(table: $0.childTable) }) {
                skipped.append(i)
                continue
            }
            if let missing = try missingColumn(check, conn) {
                errors[i] = "no such column: \(missing)"
                continue
            }
            runnable.append(i)
        }

        let clock = ContinuousClock()
        let parentsStarted = clock.now
        // Parents: each (table, key) read once.
        var parentKeys: [(table: String, key: String)] = []
        for i in runnable { for p in checks[i].parts where !parentKeys.contains(where: { $0 == (p.parentTable, p.parentKey) }) {
            parentKeys.append((p.parentTable, p.parentKey))
        } }
        var childTables = Set<String>()
        for i in runnable { for p in checks[i].parts { childTables.insert(p.childTable.lowercased()) } }
        tablesTotal = parentKeys.count + childTables.count
        for (table, key) in parentKeys {
            // Sized from the rowid range (cheap: the b-tree's last key) to avoid rehashing as it
            // fills — but only as a hint: a table keyed by large integers (epoch milliseconds,
            // snowflake ids) has a huge last rowid and few rows, so the hint is clamped to 4M ids
            // (about 100 MB of slots) and the set grows past it if the table really is that big.
            let lastRowid = (try? conn.cached("SELECT max(rowid) FROM \(Self.quote(table))")).map { s -> Int64 in
                defer { s.reset() }
                return (try? s.step()) == true ? s.int64(0) : 0
            } ?? 0
            let estimate = Int(min(max(lastRowid, 0), IntegrityChecker.maxPresizedIDs))
            let stmt = try conn.cached("SELECT \(Self.quote(key)) FROM \(Self.quote(table))")
            let set = IDSet(expected: estimate)
            // Decoded ids are inserted in batches, each batch's slots prefetched together.
            var batch: [(UInt64, UInt64)] = []
            batch.reserveCapacity(64)
            while try stmt.step() {
                stmt.withText(0) { bytes in
                    guard let bytes else { return }
                    if let id = MattermostID.decode(bytes) { batch.append(id) } else { set.insert(bytes) }
                }
                if batch.count == 64 {
                    batch.withUnsafeBufferPointer { set.insertBatch($0) }
                    batch.removeAll(keepingCapacity: true)
                }
                rowsScanned += 1
            }
            batch.withUnsafeBufferPointer { set.insertBatch($0) }
            stmt.reset()
            parents[Self.parentName(table, key)] = set
            tableDone()
            options.afterTableScan?(table)
        }

        parentMilliseconds = Int((clock.now - parentsStarted) / .milliseconds(1))
        let childrenStarted = clock.now
        // Children: each table read once for all of its relations.
        var byChild: [String: [Relation]] = [:]
        var childOrder: [String] = []
        for i in runnable {
            for p in checks[i].parts {
                let c = p.childTable.lowercased()
                if byChild[c] == nil { childOrder.append(c) }
                if !(byChild[c]?.contains(p) ?? false) { byChild[c, default: []].append(p) }
            }
        }
        for c in childOrder {
            let relations = byChild[c]!
            do {
                try scan(child: relations[0].childTable, relations: relations, conn)
            } catch {
                for (i, check) in checks.enumerated() where check.parts.contains(where: { $0.childTable.lowercased() == c }) {
                    errors[i] = "\(error)"
                }
            }
            tableDone()
            options.afterTableScan?(relations[0].childTable)
        }
        childMilliseconds = Int((clock.now - childrenStarted) / .milliseconds(1))
    }

    private mutating func tableDone() {
        tablesDone += 1
        options.progress?(tablesDone, tablesTotal)
    }

    private mutating func missingColumn(_ check: IntegrityCheck, _ conn: Connection) throws -> String? {
        for p in check.parts {
            if !(try schema.has(column: p.parentKey, in: p.parentTable, conn)) { return "\(p.parentTable).\(p.parentKey)" }
            var needed = [p.childForeignKey]
            if let id = p.childIdColumn { needed.append(id) }
            if p.typeFilter != nil { needed.append("Type") }
            for col in needed where !(try schema.has(column: col, in: p.childTable, conn)) { return "\(p.childTable).\(col)" }
        }
        return nil
    }

    private static func parentName(_ table: String, _ key: String) -> String { table.lowercased() + "." + key.lowercased() }

    private mutating func scan(child: String, relations: [Relation], _ conn: Connection) throws {
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
        let plans: [Plan] = relations.map { r in
            Plan(relation: r, fk: index(r.childForeignKey), childId: r.childIdColumn.map(index), type: r.typeFilter.map { _ in index("Type") })
        }
        let sets: [IDSet] = plans.map { parents[Self.parentName($0.relation.parentTable, $0.relation.parentKey)]! }
        var found: [OrphanCollector] = plans.map { _ in
            defer { spillIDs += 1 }
            return OrphanCollector(limit: options.maxRecordsPerRelation, spill: spill, id: spillIDs)
        }
        // The hot loop reads only these plain arrays: no struct with references is copied per row.
        let fkColumns = plans.map(\.fk)
        let childIdColumns = plans.map { $0.childId ?? -1 }
        let skipEmpty = plans.map(\.relation.skipEmpty)
        let probeAtOnce = sets.map(\.fitsInCache)
        let filters: [(column: Int32, isIn: Bool, values: Set<String>)?] = plans.map { plan in
            guard let f = plan.relation.typeFilter, let column = plan.type else { return nil }
            switch f {
            case .isIn(let v): return (column, true, Set(v))
            case .notIn(let v): return (column, false, Set(v))
            }
        }

        let stmt = try conn.cached("SELECT \(columns.map(Self.quote).joined(separator: ", ")) FROM \(Self.quote(child))")
        defer { stmt.reset() }
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
                    try found[k].add(OrphanedRecord(parentID: immediate.1, childID: idColumn >= 0 ? stmt.string(idColumn) : nil))
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
                if pending[k].fk.count == ProbeBatch.size { try pending[k].flush(into: &found[k], set: sets[k]) }
            }
        }
        for k in pending.indices { try pending[k].flush(into: &found[k], set: sets[k]) }
        rowsScanned += rows
        for (k, plan) in plans.enumerated() { collectors[plan.relation] = found[k] }
    }

    func report(_ checks: [IntegrityCheck]) -> IntegrityReport {
        var outcomes: [IntegrityAnswer.Outcome] = []
        var counts: [(String, Int)] = []
        var truncated: [String] = []
        var recordCount = 0
        let limit = options.maxRecordsPerRelation
        for (i, check) in checks.enumerated() {
            var o = IntegrityAnswer.Outcome(
                parentName: check.parentName, childName: check.childName, parentIDAttr: check.parentIdAttr,
                childIDAttr: check.childIdAttr, err: errors[i], parts: [])
            if o.err == nil {
                // An absent table (skipped) answers with no records, as a relation with no orphans.
                o.parts = check.parts.compactMap { collectors[$0] }
                var total = o.parts.reduce(0) { $0 + $1.total }
                counts.append((check.name, total))
                // With a cap, the two parts of Teams → Channels share it: the second gets what is left.
                if limit > 0 {
                    var left = limit
                    for p in o.parts.indices {
                        let keep = min(o.parts[p].total, left)
                        o.parts[p].keepFirst(keep)
                        left -= keep
                    }
                    if total > limit { truncated.append(check.name); total = limit }
                }
                recordCount += total
            }
            outcomes.append(o)
        }
        return IntegrityReport(
            answer: IntegrityAnswer(outcomes, spill: spill), skipped: skipped.map { checks[$0].name }, orphanCounts: counts,
            truncated: truncated, recordCount: recordCount, rowsScanned: rowsScanned,
            parentMilliseconds: parentMilliseconds, childMilliseconds: childMilliseconds)
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for c in self { out += c == "\"" ? "\"\"" : String(c) }
        return out
    }
}

