import Store

/// The Mattermost tables and columns a store has, so the export's SQL reads what is there: a
/// database of an older Mattermost lacks newer columns (`IsPinned` before 5.x, `UrgentMentionCount`
/// before 7.x), and a store without Mattermost's tables at all exports only its version line.
struct ExportSchema {
    /// Lower-cased table name → its lower-cased column names.
    private(set) var columns: [String: Set<String>] = [:]

    static func read(_ conn: any SQLConnection) throws -> ExportSchema {
        var schema = ExportSchema()
        switch conn.dialect {
        case .postgres:
            try conn.query("SELECT lower(table_name), lower(column_name) FROM information_schema.columns WHERE table_schema = current_schema()", []) { row in
                schema.columns[row.string(0) ?? "", default: []].insert(row.string(1) ?? "")
            }
        case .sqlite:
            for table in try conn.tableNames() {
                var names: Set<String> = []
                try conn.query("SELECT lower(name) FROM pragma_table_info(?)", [.text(table)]) { names.insert($0.string(0) ?? "") }
                schema.columns[table.lowercased()] = names
            }
        }
        return schema
    }

    func has(_ table: String) -> Bool { columns[table.lowercased()] != nil }

    func has(_ table: String, _ column: String) -> Bool { columns[table.lowercased()]?.contains(column.lowercased()) ?? false }

    /// `alias.column`, or `fallback` (an SQL literal) where the column does not exist.
    func column(_ table: String, _ alias: String, _ column: String, or fallback: String) -> String {
        has(table, column) ? "\(alias).\(column)" : fallback
    }

    /// A boolean column as 0 or 1 on either database (PostgreSQL's `boolean`, SQLite's integers);
    /// NULL and an absent column are 0.
    func flag(_ table: String, _ alias: String, _ column: String) -> String {
        has(table, column) ? "CASE WHEN \(alias).\(column) THEN 1 ELSE 0 END" : "0"
    }
}

/// `?, ?, …` for `count` parameters, and queries over an id list in chunks small enough for either
/// database's parameter limit.
enum IDChunks {
    static let size = 500

    static func placeholders(_ count: Int) -> String {
        String(repeating: "?,", count: max(count - 1, 0)) + (count > 0 ? "?" : "")
    }

    /// Runs `sql` (whose `IN (%@)` is replaced by the chunk's placeholders) for each chunk of `ids`.
    static func query(_ conn: any SQLConnection, _ sql: String, _ ids: [String], _ row: (any SQLRow) throws -> Void) throws {
        var start = 0
        while start < ids.count {
            let chunk = ids[start..<min(start + size, ids.count)]
            try conn.query(sql.replacing("%@", with: placeholders(chunk.count)), chunk.map { .text($0) }, row)
            start += size
        }
    }
}
