import StewardModel

/// A relation's orphans in Mattermost's order (by foreign key; NULL first, then bytewise; ties by
/// child id).
///
/// With no limit (the default, as Mattermost) every record is kept: up to `inMemory` in memory, and
/// past that all of them in the run's `OrphanSpill`, so memory does not grow with their number.
/// With a limit (`IntegritySettings.MaxRecordsPerRelation`, an opt-in deviation) only the first
/// `limit` are kept, in memory bounded by twice the limit.
struct OrphanCollector {
    /// Records a relation keeps in memory before it moves them to the spill.
    static let inMemory = 4096

    let limit: Int
    /// Twice the limit: sorting once per `limit` additions keeps the cost linear. Saturated, so a
    /// limit near Int.max cannot overflow.
    private let compactAt: Int
    private(set) var total = 0
    private var records: [OrphanedRecord] = []
    /// Once `limit` records are kept, the last of them: anything not before it can never be kept.
    private var cutoff: OrphanedRecord?
    /// Where the records are once spilled, and this relation's number there.
    private let spill: OrphanSpill?
    private let spillID: Int
    private(set) var isSpilled = false
    /// Records arrive already in the answer's order (a database's `ORDER BY`, in its collation):
    /// kept in that order, never sorted.
    let preordered: Bool

    /// `limit` 0 keeps every record (spilling to `spill` past `inMemory`).
    init(limit: Int, spill: OrphanSpill? = nil, id: Int = 0, preordered: Bool = false) {
        self.limit = limit
        self.spill = spill
        self.spillID = id
        self.preordered = preordered
        let (twice, overflow) = limit.multipliedReportingOverflow(by: 2)
        compactAt = limit == 0 ? Self.inMemory : (overflow ? Int.max : twice)
    }

    mutating func add(_ r: OrphanedRecord) throws {
        total += 1
        if preordered && limit > 0 && records.count >= limit { return }
        if limit > 0, let cutoff, !Self.precedes(r, cutoff) { return }
        records.append(r)
        if records.count >= compactAt { try compact() }
    }

    /// After the scan: a spilled relation's last records go to the spill too, so every copy of
    /// this collector (a relation named by two checks) reads the same records, once.
    mutating func finish() throws {
        guard isSpilled, let spill, !records.isEmpty else { return }
        try spill.add(spillID, records)
        records.removeAll()
    }

    /// The records kept, in order, one at a time; for a spilled relation, read back from the
    /// spill (drain one cursor of a spill before opening the next on it).
    mutating func cursor() throws -> RecordCursor {
        if isSpilled, let spill {
            try spill.add(spillID, records)
            records.removeAll()
            return try spill.cursor(spillID, inserted: preordered)
        }
        try compact()
        return RecordCursor(records)
    }

    /// The records kept, in order, as an array (small answers, tests).
    mutating func sortedRecords() throws -> [OrphanedRecord] {
        var out: [OrphanedRecord] = []
        let c = try cursor()
        while let r = try c.next() { out.append(r) }
        return out
    }

    private mutating func compact() throws {
        if preordered {
            // In order already; past `inMemory` with no limit, to the spill in arrival order.
            guard limit == 0, records.count >= Self.inMemory, let spill else { return }
            try spill.add(spillID, records)
            records.removeAll(keepingCapacity: true)
            isSpilled = true
            return
        }
        if limit == 0 {
            guard records.count >= Self.inMemory, let spill else {
                records.sort(by: Self.precedes)
                return
            }
            try spill.add(spillID, records)
            records.removeAll(keepingCapacity: true)
            isSpilled = true
            return
        }
        records.sort(by: Self.precedes)
        if records.count > limit { records.removeLast(records.count - limit) }
        if records.count == limit { cutoff = records.last }
    }

    /// Mattermost's order: by foreign key, NULL first, then bytewise; ties by child id. Bytes, not
    /// Swift's Unicode equality ("é" and "e\u{301}" are different keys, as they are to SQLite's
    /// sort of the spilled records).
    static func precedes(_ a: OrphanedRecord, _ b: OrphanedRecord) -> Bool {
        let c = compare(a.parentID, b.parentID)
        return c != 0 ? c < 0 : compare(a.childID, b.childID) < 0
    }

    private static func compare(_ a: String?, _ b: String?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (x?, y?):
            if x.utf8.lexicographicallyPrecedes(y.utf8) { return -1 }
            return y.utf8.lexicographicallyPrecedes(x.utf8) ? 1 : 0
        }
    }
}


/// A relation's records in order, one at a time: from memory, or stepping the spill's sorted query.
final class RecordCursor {
    private let records: [OrphanedRecord]
    private var index = 0
    private let step: (() throws -> OrphanedRecord?)?

    init(_ records: [OrphanedRecord]) {
        self.records = records
        step = nil
    }

    init(step: @escaping () throws -> OrphanedRecord?) {
        records = []
        self.step = step
    }

    func next() throws -> OrphanedRecord? {
        if let step { return try step() }
        guard index < records.count else { return nil }
        defer { index += 1 }
        return records[index]
    }

    /// Several cursors' records merged in order (the scanning threads' collectors of one relation).
    static func merged(_ cursors: [RecordCursor]) throws -> RecordCursor {
        if cursors.count == 1 { return cursors[0] }
        var heads = try cursors.map { try $0.next() }
        return RecordCursor {
            var best: Int?
            for i in heads.indices {
                guard let h = heads[i] else { continue }
                if best == nil || OrphanCollector.precedes(h, heads[best!]!) { best = i }
            }
            guard let b = best else { return nil }
            let record = heads[b]
            heads[b] = try cursors[b].next()
            return record
        }
    }
}

/// Canonical foreign keys waiting to be probed together (see `Run.scan`).
struct ProbeBatch {
    static let size = 32

    enum ChildID {
        case none
        case decoded(UInt64, UInt64)
        case text(String)
    }

    var fk: [(UInt64, UInt64)] = []
    var child: [ChildID] = []

    init() {
        fk.reserveCapacity(Self.size)
        child.reserveCapacity(Self.size)
    }

    /// Probes the batch; each orphan goes to `orphan`.
    mutating func flush(set: IDSet.Probe, _ orphan: (OrphanedRecord) throws -> Void) throws {
        for (hi, lo) in fk { set.prefetch(hi, lo) }
        for (i, (hi, lo)) in fk.enumerated() where !set.containsDecoded(hi, lo) {
            let childID: String?
            switch child[i] {
            case .none: childID = nil
            case .decoded(let h, let l): childID = MattermostID.encode(h, l)
            case .text(let t): childID = t
            }
            try orphan(OrphanedRecord(parentID: MattermostID.encode(hi, lo), childID: childID))
        }
        fk.removeAll(keepingCapacity: true)
        child.removeAll(keepingCapacity: true)
    }
}
