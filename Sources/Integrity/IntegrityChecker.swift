import CStewardShims
import StewardModel
import Store
import Synchronization

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
    /// Relations answered from an index led by their foreign key (`KeyWalk`), as
    /// "Child.Key → Parent (index)"; their tables were not read row by row.
    public var walkedByIndex: [String] = []
    /// Rows the scan read (0 on PostgreSQL, where the server reads them for Mattermost's queries).
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

/// The integrity check does not run on this kind of store (neither SQLite nor PostgreSQL).
public struct IntegrityUnavailable: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "the integrity check does not run on this kind of store" }
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

    private let store: any SQLStore

    public init(store: any SQLStore) { self.store = store }

    public struct Options: Sendable {
        public var configured: [IntegrityRelationSettings]
        public var discoverForeignKeys: Bool
        public var maxRecordsPerRelation: Int
        /// Called after each table has been read (tests use it to write concurrently).
        public var afterTableScan: (@Sendable (String) -> Void)?

        /// Called after each table is read with the tables done and the total (progress).
        public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
        /// Threads (and read connections) the child tables are scanned with: the CPUs this process
        /// may use, at most 4 (fewer when the store's reader places are taken).
        public var threads = Options.defaultThreads

        /// `IntegritySettings.ScanThreads` 0: the CPUs this process may use, at most 4.
        public static var defaultThreads: Int { min(4, max(1, Int(steward_cpu_count()))) }

        /// The threads for a `ScanThreads` setting.
        public static func threads(setting: Int) -> Int { setting > 0 ? setting : defaultThreads }
        /// Rowids per unit below which a child table is not split (tests lower it).
        var minimumUnitRows = ChildScan.minimumUnitRows
        /// Rows below which a child table is scanned rather than walked by its indexes (tests
        /// lower it, or raise it to compare the two).
        var minimumWalkRows = KeyWalk.minimumRows

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
        try await BlockingPool.shared.run { try self.runSync(options) }
    }

    /// Synchronous form for callers already on a blocking thread (the integrity job).
    public func runSync(_ options: Options) throws -> IntegrityReport {
        if let postgres = store as? PostgresPool { return try PostgresIntegrity.run(postgres, options) }
        guard let pool = store as? DatabasePool else { throw IntegrityUnavailable() }
        // One read transaction per thread, all on the same WAL snapshot.
        return try pool.readSnapshot(upTo: options.threads) { conns in try Self.run(conns, options) }
    }

    /// The checks of a run, in the answer's order: Mattermost's 41, Steward's own where its tables
    /// are (its own store), then the configured ones. Both stores answer in this order.
    static func checkList(_ options: Options, hasTable: (String) -> Bool) -> [IntegrityCheck] {
        var checks = MattermostRelations.checks
        checks += StewardRelations.checks.filter { c in c.parts.allSatisfy { hasTable($0.parentTable) && hasTable($0.childTable) } }
        checks += options.configured.map { c in
            IntegrityCheck([Relation(parent: c.parentTable, parentKey: c.parentKey, child: c.childTable, foreignKey: c.childForeignKey,
                                     childId: c.childIdColumn.isEmpty ? nil : c.childIdColumn, skipEmpty: c.skipEmpty)])
        }
        return checks
    }

    /// `checks` and then the declared foreign keys none of them already checks (names compared
    /// without case: PostgreSQL's are lowercase), each a check of its own.
    static func adding(discovered: [Relation], to checks: [IntegrityCheck]) -> [IntegrityCheck] {
        let known = Set(checks.flatMap(\.parts).map { RelationKey($0) })
        return checks + discovered.filter { !known.contains(RelationKey($0)) }.map { IntegrityCheck([$0]) }
    }

    static func run(_ conns: [Connection], _ options: Options) throws -> IntegrityReport {
        let conn = conns[0]
        let schema = try Schema(conn)
        var checks = checkList(options) { schema.has(table: $0) }
        if options.discoverForeignKeys { checks = adding(discovered: try schema.declaredForeignKeys(conn), to: checks) }
        var run = Run(options: options, schema: schema)
        try run.execute(checks, conns)
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
    /// Per relation, each scanning thread's collector.
    var collectors: [Relation: [OrphanCollector]] = [:]
    var tablesDone = 0
    var tablesTotal = 0
    var errors: [Int: String] = [:]
    var skipped: [Int] = []
    var rowsScanned = 0
    var parentMilliseconds = 0
    var childMilliseconds = 0
    var walked: [String] = []

    init(options: IntegrityChecker.Options, schema: Schema) {
        self.options = options
        self.schema = schema
    }


    mutating func execute(_ checks: [IntegrityCheck], _ conns: [Connection]) throws {
        let conn = conns[0]
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
        let started = clock.now
        // Parents: each (table, key) read once — named as SQLite compares names, without case
        // (`users.id` is `Users.Id`), which `ParentSets` keeps one of.
        let parents = ParentSets(runnable.flatMap { i in checks[i].parts.map { ParentKeys.Key(table: $0.parentTable, key: $0.parentKey) } })
        // Children: each table read once for all of its relations (or walked by its indexes), big
        // ones in rowid ranges, the units spread over the threads.
        var byChild: [String: [Relation]] = [:]
        var childOrder: [String] = []
        for i in runnable {
            for p in checks[i].parts {
                let c = p.childTable.lowercased()
                if byChild[c] == nil { childOrder.append(c) }
                if !(byChild[c]?.contains(p) ?? false) { byChild[c, default: []].append(p) }
            }
        }
        tablesTotal = parents.keys.count + childOrder.count
        let relations = childOrder.flatMap { byChild[$0]! }
        let tables = childOrder.map { (name: byChild[$0]![0].childTable, relations: byChild[$0]!) }
        let units = ChildScan.units(tables, threads: conns.count, minimumRows: options.minimumUnitRows, minimumWalkRows: options.minimumWalkRows, conn)
        walked = units.compactMap { u in u.walk.map { "\($0.relation.childTable).\($0.relation.childForeignKey) → \($0.relation.parentTable) (\($0.index))" } }
        let progress = ProgressCounter(total: tablesTotal, options: options)
        let results = ScanResults(units: units) { table in progress.tableDone(table) }
        let workers = conns.map { _ in WorkerOrphans(relations: relations, limit: options.maxRecordsPerRelation) }
        ChildScan.run(units, conns, parents: parents, workers: workers, into: results) { progress.tableDone($0) }
        let built = parents.snapshot()
        if let failure = built.failure { throw failure }
        for w in workers { for r in relations { try w.collectors[r]!.finish() } }
        for r in relations { collectors[r] = workers.map { $0.collectors[r]! } }
        let (rows, failures) = results.snapshot()
        rowsScanned += built.rows + rows
        tablesDone = tablesTotal
        for (c, failure) in failures {
            for (i, check) in checks.enumerated() where check.parts.contains(where: { $0.childTable.lowercased() == c }) {
                errors[i] = failure
            }
        }
        // The phases overlap: the parent figure is until the last set was built, the child figure
        // the rest of the run.
        let ended = clock.now
        let parentsEnd = min(max(built.lastReady, started), ended)
        parentMilliseconds = Int((parentsEnd - started) / .milliseconds(1))
        childMilliseconds = Int((ended - parentsEnd) / .milliseconds(1))
    }

    /// Progress over parent and child tables, counted on the scanning threads; the callbacks are
    /// called one at a time, in order.
    final class ProgressCounter: Sendable {
        private let done = Mutex(0)
        private let total: Int
        private let options: IntegrityChecker.Options
        init(total: Int, options: IntegrityChecker.Options) {
            self.total = total
            self.options = options
        }
        func tableDone(_ table: String) {
            done.withLock { done in
                done += 1
                options.progress?(done, total)
                options.afterTableScan?(table)
            }
        }
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


    func report(_ checks: [IntegrityCheck]) -> IntegrityReport {
        var report = IntegrityReport.assemble(
            checks, collectors: collectors, errors: errors, skipped: skipped, limit: options.maxRecordsPerRelation,
            rowsScanned: rowsScanned, parentMilliseconds: parentMilliseconds, childMilliseconds: childMilliseconds)
        report.walkedByIndex = walked
        return report
    }
}

extension IntegrityReport {
    /// The report of a run, whichever store it read: each check's outcome from the collectors of
    /// its relations (an absent table, `skipped`, answers with no records; a check in `errors`
    /// with its error), the true orphan counts, and the checks cut at `limit`.
    static func assemble(_ checks: [IntegrityCheck], collectors: [Relation: [OrphanCollector]], errors: [Int: String], skipped: [Int],
                         limit: Int, rowsScanned: Int, parentMilliseconds: Int, childMilliseconds: Int) -> IntegrityReport {
        var outcomes: [IntegrityAnswer.Outcome] = []
        var counts: [(String, Int)] = []
        var truncated: [String] = []
        var recordCount = 0
        for (i, check) in checks.enumerated() {
            var o = IntegrityAnswer.Outcome(
                parentName: check.parentName, childName: check.childName, parentIDAttr: check.parentIdAttr,
                childIDAttr: check.childIdAttr, err: errors[i], parts: [], limit: 0)
            if o.err == nil {
                // An absent table (skipped) answers with no records, as a relation with no orphans.
                o.parts = check.parts.compactMap { collectors[$0] }
                var total = o.parts.joined().reduce(0) { $0 + $1.total }
                counts.append((check.name, total))
                // With a cap, the two parts of Teams → Channels share it.
                o.limit = limit
                if limit > 0 && total > limit {
                    truncated.append(check.name)
                    total = limit
                }
                recordCount += total
            }
            outcomes.append(o)
        }
        return IntegrityReport(
            answer: IntegrityAnswer(outcomes), skipped: skipped.map { checks[$0].name }, orphanCounts: counts,
            truncated: truncated, recordCount: recordCount, rowsScanned: rowsScanned,
            parentMilliseconds: parentMilliseconds, childMilliseconds: childMilliseconds)
    }
}

