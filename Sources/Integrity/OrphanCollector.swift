import StewardModel

/// The first `limit` orphans in Mattermost's order (by foreign key; NULL first, then bytewise; ties by
/// child id), in memory bounded by twice the limit however many there are.
struct OrphanCollector {
    let limit: Int
    /// Twice the limit: sorting once per `limit` additions keeps the cost linear. Saturated, so a
    /// limit near Int.max (the config caps it far below) cannot overflow.
    private let compactAt: Int
    private(set) var total = 0
    private var records: [OrphanedRecord] = []

    init(limit: Int) {
        self.limit = limit
        let (twice, overflow) = limit.multipliedReportingOverflow(by: 2)
        compactAt = overflow ? Int.max : twice
    }

    /// Once `limit` records are kept, the last of them: anything not before it can never be kept.
    private var cutoff: OrphanedRecord?

    mutating func add(_ r: OrphanedRecord) {
        total += 1
        if let cutoff, !Self.precedes(r, cutoff) { return }
        records.append(r)
        if records.count >= compactAt { compact() }
    }

    mutating func sortedRecords() -> [OrphanedRecord] {
        compact()
        return records
    }

    private mutating func compact() {
        records.sort(by: Self.precedes)
        if records.count > limit { records.removeLast(records.count - limit) }
        if records.count == limit { cutoff = records.last }
    }

    static func precedes(_ a: OrphanedRecord, _ b: OrphanedRecord) -> Bool {
        if a.parentID != b.parentID { return less(a.parentID, b.parentID) }
        return less(a.childID, b.childID)
    }

    private static func less(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): return false
        case (nil, _): return true
        case (_, nil): return false
        case let (x?, y?): return x.utf8.lexicographicallyPrecedes(y.utf8)
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

    mutating func flush(into found: inout OrphanCollector, set: IDSet) {
        for (hi, lo) in fk { set.prefetch(hi, lo) }
        for (i, (hi, lo)) in fk.enumerated() where !set.containsDecoded(hi, lo) {
            let childID: String?
            switch child[i] {
            case .none: childID = nil
            case .decoded(let h, let l): childID = MattermostID.encode(h, l)
            case .text(let t): childID = t
            }
            found.add(OrphanedRecord(parentID: MattermostID.encode(hi, lo), childID: childID))
        }
        fk.removeAll(keepingCapacity: true)
        child.removeAll(keepingCapacity: true)
    }
}
