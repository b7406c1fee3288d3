import Dispatch
import Postgres
import StewardModel
import Store

/// The integrity check on PostgreSQL: Mattermost's own query per relation, all in one
/// `REPEATABLE READ` snapshot, so the answer is Mattermost's by construction — the same records in
/// the same order (the database's `ORDER BY`, in its collation). Rows are fetched from a
/// server-side cursor in batches and collected in arrival order (spilled past a few thousand per
/// relation), so memory stays bounded whatever the number of orphans. With `DiscoverForeignKeys`
/// the declared foreign keys follow, as on SQLite.
///
/// Relations are read by `threads` connections of their own at once, each taking the next one;
/// the first exports its snapshot (`pg_export_snapshot`) and the others take it (`SET TRANSACTION
/// SNAPSHOT`, as `pg_dump --jobs` does), so all of them read the same database state. Why: a
/// cursor's plan never runs in parallel, where psql's plain queries get PostgreSQL's parallel
/// workers; serial cursor plans cost the server less CPU in all (1.6 s against psql's 2.4 s at
/// 1M posts) but took longer on the clock, and two connections at once give the parallelism back.
enum PostgresIntegrity {
    static let fetchSize = 10_000

    static func run(_ store: PostgresPool, _ options: IntegrityChecker.Options) throws -> IntegrityReport {
        let conn = try store.dedicatedConnection()
        try begin(conn, snapshot: nil)
        defer { try? conn.execute("ROLLBACK") }
        var columns: [String: Set<String>] = [:]
        for row in try conn.query("SELECT lower(table_name), lower(column_name) FROM information_schema.columns WHERE table_schema = current_schema()").rows {
            if let t = row[0], let c = row[1] { columns[t, default: []].insert(c) }
        }
        func has(_ table: String) -> Bool { columns[table.lowercased()] != nil }

        var checks = IntegrityChecker.checkList(options) { has($0) }
        if options.discoverForeignKeys { checks = IntegrityChecker.adding(discovered: try declaredForeignKeys(conn), to: checks) }
        var errors: [Int: String] = [:], skipped: [Int] = []
        var parts: [Relation] = []  // each relation to read once, in the checks' order
        for (i, check) in checks.enumerated() {
            if check.parts.contains(where: { !has($0.parentTable) || !has($0.childTable) }) {
                skipped.append(i)
            } else if let missing = missingColumn(check, columns) {
                errors[i] = "no such column: \(missing)"
            } else {
                // A relation named by two checks is read once, as on SQLite.
                for part in check.parts where !parts.contains(part) { parts.append(part) }
            }
        }
        // The biggest child tables first, so that no long read starts last while the other
        // connections have nothing left (the planner's row estimates; the answer keeps check order).
        var rows: [String: Double] = [:]
        for r in try conn.query("SELECT lower(relname), reltuples FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = current_schema()::regnamespace").rows {
            if let t = r[0] { rows[t] = Double(r[1] ?? "") ?? 0 }
        }
        parts = parts.enumerated().sorted { a, b in
            let x = rows[a.element.childTable.lowercased()] ?? 0, y = rows[b.element.childTable.lowercased()] ?? 0
            return x != y ? x > y : a.offset < b.offset
        }.map(\.element)
        let started = ContinuousClock.now
        let listed = checks, toRead = Set(parts)
        // Each count once and rising, though threads finish relations at once.
        let reported = Locked(0)
        let report: @Sendable (Int) -> Void = { n in
            reported.withLock { r in
                guard n > r else { return }
                r = n
                options.progress?(n, listed.count)  // under the lock: in order
            }
        }
        let collectors = try read(parts, store: store, first: conn, options: options) { done in
            // A check is done when every relation of it that is read has been.
            report(listed.filter { c in c.parts.allSatisfy { !toRead.contains($0) || done.contains($0) } }.count)
        }
        report(checks.count)
        return IntegrityReport.assemble(
            checks, collectors: collectors, errors: errors, skipped: skipped, limit: options.maxRecordsPerRelation,
            rowsScanned: 0, parentMilliseconds: 0, childMilliseconds: Int((ContinuousClock.now - started) / .milliseconds(1)))
    }

    /// A read-only transaction on `snapshot` (nil: a new one). Every row of every cursor is read,
    /// so cursors are planned for the whole result, as psql's queries are: the default
    /// `cursor_tuple_fraction` (0.1) plans for the first rows — index-order merge anti-joins that
    /// took twice as long as psql's hash anti-joins at 500k posts.
    static func begin(_ conn: PGConnection, snapshot: String?) throws {
        try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        // Taking a snapshot must come first in the transaction.
        if let snapshot { try conn.execute("SET TRANSACTION SNAPSHOT " + literal(snapshot)) }
        try conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
    }

    /// Reads `parts` with up to `options.threads` connections (`first`, already in its
    /// transaction, and more on its snapshot), each relation into a collector with its thread's
    /// spill; `progress` gets the relations done so far.
    static func read(_ parts: [Relation], store: PostgresPool, first: PGConnection, options: IntegrityChecker.Options,
                     progress: @escaping @Sendable (Set<Relation>) -> Void) throws -> [Relation: [OrphanCollector]] {
        let width = max(1, min(options.threads, parts.count))
        var conns = [first]
        if width > 1 {
            let snapshot = try first.query("SELECT pg_export_snapshot()").scalar ?? ""
            for _ in 1..<width {
                let c = try store.dedicatedConnection()
                try begin(c, snapshot: snapshot)
                conns.append(c)
            }
        }
        defer { for c in conns.dropFirst() { try? c.execute("ROLLBACK") } }
        let state = Locked<(next: Int, done: [Relation: [OrphanCollector]], failure: (any Error)?)>((0, [:], nil))
        let connections = conns
        let work: @Sendable (Int) -> Void = { t in
            let conn = connections[t], spill = OrphanSpill()
            while true {
                let i = state.withLock { s -> Int? in
                    guard s.failure == nil, s.next < parts.count else { return nil }
                    s.next += 1
                    return s.next - 1
                }
                guard let i else { return }
                let part = parts[i]
                do {
                    var collector = OrphanCollector(limit: options.maxRecordsPerRelation, spill: spill, id: i, preordered: true)
                    try conn.streamRows(sql(part), [], batch: fetchSize) { row in
                        try collector.add(OrphanedRecord(parentID: row.string(0), childID: part.childIdColumn == nil ? nil : row.string(1)))
                    }
                    try collector.finish()
                    progress(state.withLock { s in
                        s.done[part] = [collector]
                        return Set(s.done.keys)
                    })
                } catch {
                    state.withLock { $0.failure = $0.failure ?? error }
                    return
                }
            }
        }
        if width == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: width, execute: work) }
        let result = state.withLock { $0 }
        if let failure = result.failure { throw failure }
        return result.done
    }

    /// Single-column foreign keys declared in the current schema, as relations (child tables in
    /// name order, then by constraint name); the child's id is its primary key when that is one
    /// column. Orphans behind one are rows loaded with the constraint `NOT VALID` or with triggers
    /// off (`session_replication_role = replica`, as restores run).
    static func declaredForeignKeys(_ conn: PGConnection) throws -> [Relation] {
        let rows = try conn.query("""
            SELECT child.relname, fk.attname, parent.relname, key.attname,
                   (SELECT min(pk.attname) FROM pg_index i JOIN pg_attribute pk ON pk.attrelid = i.indrelid AND pk.attnum = i.indkey[0]
                     WHERE i.indrelid = c.conrelid AND i.indisprimary AND i.indnkeyatts = 1)
            FROM pg_constraint c
            JOIN pg_class child ON child.oid = c.conrelid
            JOIN pg_class parent ON parent.oid = c.confrelid
            JOIN pg_attribute fk ON fk.attrelid = c.conrelid AND fk.attnum = c.conkey[1]
            JOIN pg_attribute key ON key.attrelid = c.confrelid AND key.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND child.relnamespace = current_schema()::regnamespace
            ORDER BY child.relname, c.conname
            """).rows
        return rows.compactMap { r in
            guard let child = r[0], let fk = r[1], let parent = r[2], let key = r[3] else { return nil }
            return Relation(parent: parent, parentKey: key, child: child, foreignKey: fk, childId: r[4])
        }
    }

    /// Mattermost's query for one relation (its `getOrphanedRecords`): the child's foreign key (and
    /// id) where no parent has it, `<> ''` for a relation whose key may be empty, ordered by the key.
    static func sql(_ r: Relation) -> String {
        let fk = "CT." + identifier(r.childForeignKey)
        var select = fk
        if let id = r.childIdColumn { select += ", CT." + identifier(id) }
        var sql = "SELECT \(select) FROM \(identifier(r.childTable)) AS CT WHERE NOT EXISTS (SELECT TRUE FROM \(identifier(r.parentTable)) AS PT WHERE PT.\(identifier(r.parentKey)) = \(fk))"
        if r.skipEmpty { sql += " AND \(fk) <> ''" }
        switch r.typeFilter {
        case .notIn(let types)?: sql += " AND CT.Type NOT IN (\(types.map(literal).joined(separator: ", ")))"
        case .isIn(let types)?: sql += " AND CT.Type IN (\(types.map(literal).joined(separator: ", ")))"
        case nil: break
        }
        return sql + " ORDER BY \(fk)"
    }

    /// A table or column name as Mattermost writes it (unquoted: PostgreSQL folds it to lower case,
    /// as Mattermost's tables are). Names come from Mattermost's list or the config; anything but
    /// letters, digits and underscores is quoted, so a configured name cannot become SQL.
    static func identifier(_ name: String) -> String {
        if let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_",
           name.unicodeScalars.allSatisfy({ ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" }) {
            return name
        }
        return quotedIdentifier(name)
    }

    static func literal(_ s: String) -> String {
        "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
    }

    static func missingColumn(_ check: IntegrityCheck, _ columns: [String: Set<String>]) -> String? {
        for p in check.parts {
            var needed = [(p.parentTable, p.parentKey), (p.childTable, p.childForeignKey)]
            if let id = p.childIdColumn { needed.append((p.childTable, id)) }
            if p.typeFilter != nil { needed.append((p.childTable, "Type")) }
            for (t, c) in needed where !(columns[t.lowercased()]?.contains(c.lowercased()) ?? false) { return "\(t).\(c)" }
        }
        return nil
    }
}
