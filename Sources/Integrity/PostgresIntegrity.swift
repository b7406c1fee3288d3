import Postgres
import StewardModel
import Store

/// The integrity check on PostgreSQL: Mattermost's own query per relation, in one `REPEATABLE READ`
/// snapshot on a connection of its own, so the answer is Mattermost's by construction — the same
/// records in the same order (the database's `ORDER BY`, in its collation). Rows are fetched from
/// a server-side cursor in batches and collected in arrival order (spilled past a few thousand per
/// relation), so memory stays bounded whatever the number of orphans. With `DiscoverForeignKeys`
/// the declared foreign keys follow, as on SQLite. A faster scan, as on SQLite,
/// is still to be built; this is the correct baseline it will be measured against.
enum PostgresIntegrity {
    static let fetchSize = 10_000

    static func run(_ store: PostgresPool, _ options: IntegrityChecker.Options) throws -> IntegrityReport {
        let conn = try store.dedicatedConnection()
        try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { try? conn.execute("ROLLBACK") }
        var columns: [String: Set<String>] = [:]
        for row in try conn.query("SELECT lower(table_name), lower(column_name) FROM information_schema.columns WHERE table_schema = current_schema()").rows {
            if let t = row[0], let c = row[1] { columns[t, default: []].insert(c) }
        }
        func has(_ table: String) -> Bool { columns[table.lowercased()] != nil }

        var checks = IntegrityChecker.checkList(options) { has($0) }
        if options.discoverForeignKeys { checks = IntegrityChecker.adding(discovered: try declaredForeignKeys(conn), to: checks) }
        let spill = OrphanSpill()
        var collectors: [Relation: [OrphanCollector]] = [:]
        var errors: [Int: String] = [:], skipped: [Int] = []
        let started = ContinuousClock.now
        for (i, check) in checks.enumerated() {
            defer { options.progress?(i + 1, checks.count) }
            if check.parts.contains(where: { !has($0.parentTable) || !has($0.childTable) }) {
                skipped.append(i)
                continue
            }
            if let missing = missingColumn(check, columns) {
                errors[i] = "no such column: \(missing)"
                continue
            }
            // A relation named by two checks is read once, as on SQLite.
            for part in check.parts where collectors[part] == nil {
                var collector = OrphanCollector(limit: options.maxRecordsPerRelation, spill: spill, id: collectors.count, preordered: true)
                try conn.streamRows(sql(part), [], batch: fetchSize) { row in
                    try collector.add(OrphanedRecord(parentID: row.string(0), childID: part.childIdColumn == nil ? nil : row.string(1)))
                }
                try collector.finish()
                collectors[part] = [collector]
            }
        }
        return IntegrityReport.assemble(
            checks, collectors: collectors, errors: errors, skipped: skipped, limit: options.maxRecordsPerRelation,
            rowsScanned: 0, parentMilliseconds: 0, childMilliseconds: Int((ContinuousClock.now - started) / .milliseconds(1)))
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
