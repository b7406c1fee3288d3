import StewardModel
import Store

/// A relation answered from an index led by its foreign key instead of a pass over the child table.
///
/// The distinct keys are walked in index order, one seek each (a "loose index scan": a recursive
/// query asking for the first key after the last one), each key is probed once against the parent
/// set, and only an orphaned key's rows are read (by the same index) for their child ids. On a table
/// with wide rows and few distinct keys — Posts: a million rows of message text, props and file
/// lists, 10,000 channels, 20,000 users, 80,000 threads — this reads a few thousand index pages
/// where a pass reads every row's page. A table is walked only when every one of its relations can
/// be and the sampled keys say the seeks cost less than the pass; anything else is scanned as before.
///
/// The answer is the scan's: keys compared bytewise, an empty key skipped where the relation says
/// so, NULL keys reported with no parent id, and every orphaned row reported (the collector orders
/// them as Mattermost's `ORDER BY`).
struct KeyWalk: Sendable {
    let relation: Relation
    /// The index led by the foreign key, in its binary collation, ascending, not partial.
    let index: String
    /// Distinct keys estimated from a sample (for ordering the units by size).
    let estimatedKeys: Int64

    /// Tables with fewer rows than this are scanned: a pass over them is cheap anyway.
    static let minimumRows: Int64 = 50_000
    /// Keys read at the start of each walk to estimate the rows per key.
    static let sampleKeys = 128
    /// A table is walked when its relations' keys per row, summed, stay at or below this. Measured
    /// on the release build (docs/performance.md): a key costs a seek (about 1 µs), a row of a pass
    /// about 0.4 µs with three relations to probe.
    static let maxKeysPerRow = 0.4

    /// The relation's quoted table, index and key; the key is compared in binary collation
    /// everywhere, as the index is (a column declared `COLLATE NOCASE` with a binary index would
    /// otherwise compare case-insensitively — and scan the whole index at every step).
    private static func names(_ r: Relation, _ index: String) -> (table: String, index: String, key: String) {
        (quotedIdentifier(r.childTable), quotedIdentifier(index), quotedIdentifier(r.childForeignKey) + " COLLATE BINARY")
    }

    /// The walks for one child table, or nil when it is to be scanned.
    static func plan(table: String, relations: [Relation], rows: Int64, minimumRows: Int64 = minimumRows,
                     _ conn: Connection) -> [KeyWalk]? {
        guard rows >= minimumRows, !relations.isEmpty else { return nil }
        var walks: [KeyWalk] = []
        var keysPerRow = 0.0
        for r in relations {
            guard r.typeFilter == nil, hasTextAffinity(r.childForeignKey, in: table, conn),
                  let index = leadingIndex(r.childForeignKey, on: table, conn),
                  onlyText(r, index, conn),
                  let sample = sample(r, index, conn) else { return nil }
            // Rows over rows per key counts rows with an empty or NULL key too (most of Posts'
            // RootIds); the ids' spread counts keys alone, when they are Mattermost's.
            let keys = sample.keys < sampleKeys ? Double(sample.keys) : min(Double(rows) / sample.rowsPerKey, sample.spreadKeys ?? .infinity)
            keysPerRow += keys / Double(rows)
            walks.append(KeyWalk(relation: r, index: index, estimatedKeys: Int64(keys.rounded(.up))))
        }
        return keysPerRow <= maxKeysPerRow ? walks : nil
    }

    /// SQLite's rule for a declared type with TEXT affinity ("INT" first, then "CHAR", "CLOB",
    /// "TEXT"): only such a column holds keys as text, so that the walk and the probe see the same
    /// values a pass would.
    private static func hasTextAffinity(_ column: String, in table: String, _ conn: Connection) -> Bool {
        guard let s = try? conn.cached("SELECT type FROM pragma_table_info(?) WHERE lower(name) = lower(?)") else { return false }
        defer { s.reset() }
        s.bind(1, table).bind(2, column)
        guard (try? s.step()) == true, let type = s.string(0)?.uppercased() else { return false }
        if type.contains("INT") { return false }
        return type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT")
    }

    /// The narrowest full (not partial) index whose first column is `column` in ascending binary
    /// order; nil when there is none.
    private static func leadingIndex(_ column: String, on table: String, _ conn: Connection) -> String? {
        guard let list = try? conn.cached("SELECT name FROM pragma_index_list(?) WHERE partial = 0 ORDER BY name"),
              let info = try? conn.cached(
                  "SELECT name, coll, desc, (SELECT count(*) FROM pragma_index_xinfo(?1) WHERE key = 1) FROM pragma_index_xinfo(?1) WHERE key = 1 AND seqno = 0")
        else { return nil }
        defer { list.reset() }
        list.bind(1, table)
        var names: [String] = []
        while (try? list.step()) == true { if let n = list.string(0) { names.append(n) } }
        var best: (name: String, columns: Int64)?
        for name in names {
            info.reset()
            info.bind(1, name)
            guard (try? info.step()) == true, let first = info.string(0), first.lowercased() == column.lowercased(),
                  info.string(1)?.uppercased() == "BINARY", info.int64(2) == 0 else { continue }
            let columns = info.int64(3)
            if best == nil || columns < best!.columns { best = (name, columns) }
        }
        info.reset()
        return best?.name
    }

    /// No key stored as a blob or a number (a pass reads those as text; the walk's comparisons
    /// would not): both ends of the index beyond the text values are empty.
    private static func onlyText(_ r: Relation, _ index: String, _ conn: Connection) -> Bool {
        let (t, i, fk) = names(r, index)
        for condition in ["\(fk) < ''", "\(fk) >= x''"] {
            guard let s = try? conn.cached("SELECT 1 FROM \(t) INDEXED BY \(i) WHERE \(condition) LIMIT 1") else { return false }
            defer { s.reset() }
            guard (try? s.step()) == false else { return false }
        }
        return true
    }

    /// What the first `sampleKeys` keys in walk order say.
    struct Sample {
        /// Keys read (fewer than `sampleKeys`: all there are).
        var keys: Int
        /// Index entries per key among them.
        var rowsPerKey: Double
        /// All keys, from how far into the id space the sampled ones reach — when they are
        /// Mattermost ids, which are random and so spread evenly (`idSpacePosition`).
        var spreadKeys: Double?
    }

    /// The first keys of a relation; nil when the statements cannot use the index.
    private static func sample(_ r: Relation, _ index: String, _ conn: Connection) -> Sample? {
        let (t, i, fk) = names(r, index)
        guard searches(walkSQL(r, index), index, conn), searches(rowsSQL(r, index), index, conn),
              let walk = try? conn.cached(walkSQL(r, index)),
              let count = try? conn.cached("SELECT count(*) FROM \(t) INDEXED BY \(i) WHERE \(fk) BETWEEN ? AND ?")
        else { return nil }
        defer { walk.reset(); count.reset() }
        var first: String?, last: String?
        var keys = 0
        var positions: [Double] = []
        while keys < sampleKeys, (try? walk.step()) == true {
            let key = walk.withText(0) { bytes -> String? in
                guard let bytes else { return nil }
                if let p = idSpacePosition(bytes) { positions.append(p) }
                return String(decoding: bytes, as: UTF8.self)
            }
            if first == nil { first = key }
            last = key
            keys += 1
        }
        guard keys == sampleKeys, let first, let last else { return Sample(keys: keys, rowsPerKey: 1) }
        count.bind(1, first).bind(2, last)
        guard (try? count.step()) == true else { return nil }
        var spread: Double?
        // Mostly ids, spread over some of their space: the gaps between them give the density.
        if positions.count >= sampleKeys / 2, let low = positions.first, let high = positions.last, high > low {
            spread = Double(positions.count - 1) / (high - low)
        }
        return Sample(keys: keys, rowsPerKey: max(1, Double(count.int64(0)) / Double(keys)), spreadKeys: spread)
    }

    /// Mattermost's id characters in byte order: an id's place in text order is its characters
    /// read as base-32 digits of these ranks.
    private static let rank: [Int8] = {
        var r = [Int8](repeating: -1, count: 256)
        for (i, c) in Array("13456789abcdefghijkmnopqrstuwxyz".utf8).enumerated() { r[Int(c)] = Int8(i) }
        return r
    }()

    /// Where a Mattermost id falls among all ids in text order, in [0, 1) (from its first 12
    /// characters); nil for anything else.
    static func idSpacePosition(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard bytes.count == 26 else { return nil }
        var position = 0.0, scale = 1.0 / 32
        for i in 0..<12 {
            let d = rank[Int(bytes[i])]
            guard d >= 0 else { return nil }
            position += Double(d) * scale
            scale /= 32
        }
        return position
    }

    /// True when SQLite's plan for `sql` seeks in `index` (never steps through all of it, never
    /// sorts): the walk is only ever a seek per key.
    private static func searches(_ sql: String, _ index: String, _ conn: Connection) -> Bool {
        guard let plan = try? conn.cached("EXPLAIN QUERY PLAN " + sql) else { return false }
        defer { plan.reset() }
        var seeks = false
        while (try? plan.step()) == true {
            let detail = plan.string(3) ?? ""
            if detail.contains("TEMP B-TREE") { return false }
            guard detail.contains("INDEX \(index)") else { continue }
            if !detail.hasPrefix("SEARCH") { return false }
            seeks = true
        }
        return seeks
    }

    /// The distinct non-NULL keys in index order (after the empty one where it is skipped).
    static func walkSQL(_ r: Relation, _ index: String) -> String {
        let (t, i, fk) = names(r, index)
        let start = r.skipEmpty ? "> ''" : ">= ''"
        return """
            WITH RECURSIVE k(v) AS (
              SELECT (SELECT \(fk) FROM \(t) INDEXED BY \(i) WHERE \(fk) \(start) ORDER BY \(fk) LIMIT 1)
              UNION ALL
              SELECT (SELECT \(fk) FROM \(t) INDEXED BY \(i) WHERE \(fk) > k.v ORDER BY \(fk) LIMIT 1) FROM k WHERE k.v IS NOT NULL)
            SELECT v FROM k WHERE v IS NOT NULL
            """
    }

    /// The child ids (or a 1 per row when the child has none) of the rows with one key.
    static func rowsSQL(_ r: Relation, _ index: String, nullKey: Bool = false) -> String {
        let (t, i, fk) = names(r, index)
        return "SELECT \(r.childIdColumn.map(quotedIdentifier) ?? "1") FROM \(t) INDEXED BY \(i) WHERE \(fk) \(nullKey ? "IS NULL" : "= ?")"
    }

    /// Walks the keys, probing each against `parents`; every row of an orphaned key goes to
    /// `found`. Returns the keys walked.
    func run(_ conn: Connection, parents: IDSet.Probe, into found: inout OrphanCollector) throws -> Int {
        let walk = try conn.cached(Self.walkSQL(relation, index))
        defer { walk.reset() }
        let rowsOfKey = try conn.cached(Self.rowsSQL(relation, index))
        defer { rowsOfKey.reset() }
        let hasChildID = relation.childIdColumn != nil
        func report(_ rows: Statement, parent: String?) throws {
            while try rows.step() {
                let child = hasChildID ? rows.withText(0) { $0.map { String(decoding: $0, as: UTF8.self) } } : nil
                try found.add(OrphanedRecord(parentID: parent, childID: child))
            }
        }
        var keys = 0
        while try walk.step() {
            keys += 1
            // An orphaned key's exact bytes are bound (SQLite copies them) for reading its rows.
            let orphaned = walk.withText(0) { bytes -> String? in
                guard let bytes else { return nil }
                if parents.contains(bytes) { return nil }
                rowsOfKey.reset()
                rowsOfKey.bindText(1, bytes)
                return String(decoding: bytes, as: UTF8.self)
            }
            if let orphaned { try report(rowsOfKey, parent: orphaned) }
        }
        // NULL keys have no parent and are not in the walk: orphans unless the relation skips them.
        if !relation.skipEmpty {
            let nulls = try conn.cached(Self.rowsSQL(relation, index, nullKey: true))
            defer { nulls.reset() }
            try report(nulls, parent: nil)
        }
        return keys
    }
}
