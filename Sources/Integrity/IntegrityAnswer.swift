import StewardModel

/// The answer of a check run — Mattermost's `IntegrityCheckResult` array — written as JSON a chunk
/// at a time, so an answer with millions of records never sits in memory: records come from each
/// relation's collector (in memory, or read back from the run's spill in order).
///
/// Used by one caller at a time (the handler or the job, after the run).
final class IntegrityAnswer: @unchecked Sendable {
    struct Outcome {
        var parentName: String, childName: String, parentIDAttr: String, childIDAttr: String
        var err: String?
        /// One collector per part (Teams → Channels has two, concatenated); none for an absent table.
        var parts: [OrphanCollector]
    }

    private var outcomes: [Outcome]
    /// Kept alive with the answer: spilled records are read from it while writing.
    private let spill: OrphanSpill

    init(_ outcomes: [Outcome], spill: OrphanSpill) {
        self.outcomes = outcomes
        self.spill = spill
    }

    var count: Int { outcomes.count }

    /// Writes the JSON array, handing `sink` chunks of about `chunk` bytes.
    func write(chunk: Int = 64 * 1024, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(chunk + 512)
        func emit(_ s: String) throws {
            buffer.append(contentsOf: s.utf8)
            if buffer.count >= chunk {
                try buffer.withUnsafeBytes(sink)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let q = JSONWriter.quote
        try emit("[")
        for i in outcomes.indices {
            if i > 0 { try emit(",") }
            let o = outcomes[i]
            if let err = o.err {
                try emit("{\"data\":null,\"err\":\(q(err))}")
                continue
            }
            // Mattermost's key order (`json.Marshal` of RelationalIntegrityCheckData).
            try emit("{\"data\":{\"parent_name\":\(q(o.parentName)),\"child_name\":\(q(o.childName)),\"parent_id_attr\":\(q(o.parentIDAttr)),\"child_id_attr\":\(q(o.childIDAttr)),\"records\":[")
            var first = true
            for p in outcomes[i].parts.indices {
                try outcomes[i].parts[p].forEach { r in
                    try emit((first ? "" : ",") + "{\"parent_id\":\(r.parentID.map(q) ?? "null"),\"child_id\":\(r.childID.map(q) ?? "null")}")
                    first = false
                }
            }
            try emit("]},\"err\":null}")
        }
        try emit("]")
        if !buffer.isEmpty { try buffer.withUnsafeBytes(sink) }
    }

    /// The answer as values (small answers and tests).
    func results() throws -> [IntegrityCheckResult] {
        var out: [IntegrityCheckResult] = []
        for i in outcomes.indices {
            let o = outcomes[i]
            if let err = o.err {
                out.append(IntegrityCheckResult(data: nil, err: err))
                continue
            }
            var records: [OrphanedRecord] = []
            for p in outcomes[i].parts.indices { try outcomes[i].parts[p].forEach { records.append($0) } }
            out.append(IntegrityCheckResult(data: RelationalIntegrityCheckData(
                parentName: o.parentName, childName: o.childName, parentIDAttr: o.parentIDAttr,
                childIDAttr: o.childIDAttr, records: records), err: nil))
        }
        return out
    }
}
