import Store

/// Tables and columns present, case-insensitively (SQLite names are).
struct Schema {
    private var tables: [String: String] = [:]
    private var columns: [String: Set<String>] = [:]

    init(_ conn: Connection) throws {
        for name in try conn.tableNames() { tables[name.lowercased()] = name }
    }

    func has(table: String) -> Bool { tables[table.lowercased()] != nil }

    mutating func has(column: String, in table: String, _ conn: Connection) throws -> Bool {
        let t = table.lowercased()
        if columns[t] == nil {
            let s = try conn.cached("SELECT name FROM pragma_table_info(?)")
            s.bind(1, tables[t] ?? table)
            var names = Set<String>()
            while try s.step() { names.insert((s.string(0) ?? "").lowercased()) }
            s.reset()
            columns[t] = names
        }
        return columns[t]!.contains(column.lowercased())
    }

    /// Single-column foreign keys declared in the schema, as relations.
    func declaredForeignKeys(_ conn: Connection) throws -> [Relation] {
        var found: [Relation] = []
        for child in tables.values.sorted() where !child.hasPrefix("sqlite_") {
            let fks = try conn.cached("SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq")
            fks.bind(1, child)
            var byID: [Int64: [(parent: String, from: String, to: String?)]] = [:]
            while try fks.step() {
                byID[fks.int64(0), default: []].append((fks.string(2) ?? "", fks.string(3) ?? "", fks.string(4)))
            }
            fks.reset()
            let pk = try conn.cached("SELECT name FROM pragma_table_info(?) WHERE pk > 0")
            pk.bind(1, child)
            var pkColumns: [String] = []
            while try pk.step() { pkColumns.append(pk.string(0) ?? "") }
            pk.reset()
            for id in byID.keys.sorted() {
                guard let parts = byID[id], parts.count == 1, let part = parts.first else { continue }
                found.append(Relation(
                    parent: part.parent, parentKey: part.to ?? "Id", child: child, foreignKey: part.from,
                    childId: pkColumns.count == 1 ? pkColumns[0] : nil))
            }
        }
        return found
    }
}

