import StewardModel
import Store

/// Where a run's orphans go once a relation has more than a collector keeps in memory: a private
/// temporary SQLite database (SQLite creates it in its temporary directory and unlinks it at once,
/// so nothing is left after a crash), read back in Mattermost's order through SQLite's sorter, which
/// spills to disk itself. Memory stays at SQLite's cache whatever the number of orphans.
///
/// Used by one run, on one thread at a time (the check's, then the answer writer's).
final class OrphanSpill: @unchecked Sendable {
    private var connection: Connection?

    private func open() throws -> Connection {
        if let connection { return connection }
        let c = try Connection(path: "", readOnly: false, busyTimeoutMilliseconds: 0)
        try c.execute("""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE; PRAGMA cache_size=-8192;
            CREATE TABLE Orphans (Relation INTEGER NOT NULL, ParentId TEXT, ChildId TEXT);
            BEGIN;
            """)
        connection = c
        return c
    }

    /// Adds records of relation `id` (batched into one transaction until the first read).
    func add(_ id: Int, _ records: some Sequence<OrphanedRecord>) throws {
        let insert = try open().cached("INSERT INTO Orphans (Relation, ParentId, ChildId) VALUES (?, ?, ?)")
        for r in records {
            insert.reset()
            insert.bind(1, Int64(id)).bind(2, r.parentID).bind(3, r.childID)
            try insert.run()
        }
        insert.reset()
    }

    private static func text(_ s: Statement, _ column: Int32) -> String? {
        s.withText(column) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Relation `id`'s records in Mattermost's order (foreign key, NULL first, bytewise — SQLite's
    /// BINARY collation — then child id), one at a time; `inserted`: in the order they were added
    /// (records that came ordered by another database's collation).
    func cursor(_ id: Int, inserted: Bool = false) throws -> RecordCursor {
        guard let c = connection else { return RecordCursor([]) }
        if c.isInTransaction { try c.execute("COMMIT") }
        let s = try c.cached(inserted
            ? "SELECT ParentId, ChildId FROM Orphans WHERE Relation = ? ORDER BY rowid"
            : "SELECT ParentId, ChildId FROM Orphans WHERE Relation = ? ORDER BY ParentId, ChildId")
        s.reset()
        s.bind(1, Int64(id))
        var done = false
        return RecordCursor {
            guard !done else { return nil }
            if try s.step() { return OrphanedRecord(parentID: Self.text(s, 0), childID: Self.text(s, 1)) }
            done = true
            s.reset()
            return nil
        }
    }
}
