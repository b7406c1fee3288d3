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
        /// Per part (Teams → Channels has two, concatenated; none for an absent table), the
        /// collector of each scanning thread, merged in order when read.
        var parts: [[OrphanCollector]]
        /// At most this many records for the check (0: all), shared by its parts.
        var limit: Int

        /// The check's records in order, at most `limit`.
        mutating func forEach(_ body: (OrphanedRecord) throws -> Void) throws {
            var sent = 0
            for p in parts.indices {
                var cursors: [RecordCursor] = []
                for w in parts[p].indices { cursors.append(try parts[p][w].cursor()) }
                let merged = try RecordCursor.merged(cursors)
                while let r = try merged.next() {
                    if limit > 0 && sent == limit { break }
                    try body(r)
                    sent += 1
                }
                // Drained, so the spills' statements are free for the next part.
                while try merged.next() != nil {}
            }
        }
    }

    private var outcomes: [Outcome]

    init(_ outcomes: [Outcome]) {
        self.outcomes = outcomes
    }

    var count: Int { outcomes.count }

    /// Writes the JSON array, handing `sink` chunks of about `chunk` bytes. Records are written as
    /// bytes straight into the chunk (no String per record).
    func write(chunk: Int = 64 * 1024, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(chunk + 512)
        func flushIfFull() throws {
            if buffer.count >= chunk {
                try buffer.withUnsafeBytes(sink)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        func raw(_ s: StaticString) { buffer.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        func string(_ s: String?) {
            if let s { JSONWriter.appendQuoted(s, to: &buffer) } else { raw("null") }
        }
        raw("[")
        for i in outcomes.indices {
            if i > 0 { raw(",") }
            let o = outcomes[i]
            if let err = o.err {
                raw("{\"data\":null,\"err\":")
                string(err)
                raw("}")
                try flushIfFull()
                continue
            }
            // Mattermost's key order (`json.Marshal` of RelationalIntegrityCheckData).
            raw("{\"data\":{\"parent_name\":"); string(o.parentName)
            raw(",\"child_name\":"); string(o.childName)
            raw(",\"parent_id_attr\":"); string(o.parentIDAttr)
            raw(",\"child_id_attr\":"); string(o.childIDAttr)
            raw(",\"records\":[")
            var first = true
            try outcomes[i].forEach { r in
                if !first { raw(",") }
                first = false
                raw("{\"parent_id\":"); string(r.parentID)
                raw(",\"child_id\":"); string(r.childID)
                raw("}")
                try flushIfFull()
            }
            raw("]},\"err\":null}")
            try flushIfFull()
        }
        raw("]")
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
            try outcomes[i].forEach { records.append($0) }
            out.append(IntegrityCheckResult(data: RelationalIntegrityCheckData(
                parentName: o.parentName, childName: o.childName, parentIDAttr: o.parentIDAttr,
                childIDAttr: o.childIDAttr, records: records), err: nil))
        }
        return out
    }
}
