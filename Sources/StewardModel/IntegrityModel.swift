/// Mattermost's `model.OrphanedRecord`: `child_id` is null for relations whose child has no id column.
public struct OrphanedRecord: Sendable, Equatable, Hashable, Codable {
    public var parentID: String?
    public var childID: String?

    public init(parentID: String?, childID: String?) {
        self.parentID = parentID
        self.childID = childID
    }

    enum CodingKeys: String, CodingKey {
        case parentID = "parent_id"
        case childID = "child_id"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(parentID, forKey: .parentID)
        try c.encode(childID, forKey: .childID)
    }
}

/// Mattermost's `model.RelationalIntegrityCheckData`. `parentIDAttr` is the child's foreign-key column.
public struct RelationalIntegrityCheckData: Sendable, Equatable, Codable {
    public var parentName: String
    public var childName: String
    public var parentIDAttr: String
    public var childIDAttr: String
    public var records: [OrphanedRecord]

    public init(parentName: String, childName: String, parentIDAttr: String, childIDAttr: String, records: [OrphanedRecord]) {
        self.parentName = parentName
        self.childName = childName
        self.parentIDAttr = parentIDAttr
        self.childIDAttr = childIDAttr
        self.records = records
    }

    enum CodingKeys: String, CodingKey {
        case parentName = "parent_name", childName = "child_name", parentIDAttr = "parent_id_attr"
        case childIDAttr = "child_id_attr", records
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        parentName = try c.decode(String.self, forKey: .parentName)
        childName = try c.decode(String.self, forKey: .childName)
        parentIDAttr = try c.decode(String.self, forKey: .parentIDAttr)
        childIDAttr = try c.decode(String.self, forKey: .childIDAttr)
        records = try c.decodeIfPresent([OrphanedRecord].self, forKey: .records) ?? []
    }

    /// `json.Marshal` output: Mattermost's key order, `records` always an array.
    public var json: String {
        var w = JSONWriter()
        w.object { o in
            o.field("parent_name", parentName)
            o.field("child_name", childName)
            o.field("parent_id_attr", parentIDAttr)
            o.field("child_id_attr", childIDAttr)
            o.array("records", records) { w, r in
                w.object { rec in
                    rec.nullable("parent_id", r.parentID)
                    rec.nullable("child_id", r.childID)
                }
            }
        }
        return w.output
    }
}

/// Mattermost's `model.IntegrityCheckResult`: `data` or `err`. Steward's `err` is always a string
/// (Go clients type-assert it), never an object.
public struct IntegrityCheckResult: Sendable, Equatable, Codable {
    public var data: RelationalIntegrityCheckData?
    public var err: String?

    public init(data: RelationalIntegrityCheckData?, err: String?) {
        self.data = data
        self.err = err
    }

    public var json: String {
        var w = JSONWriter()
        w.object { o in
            o.raw("data", data?.json ?? "null")
            o.nullable("err", err)
        }
        return w.output
    }

    /// The whole answer of `POST /api/v4/integrity`.
    public static func json(_ results: [IntegrityCheckResult]) -> String {
        var w = JSONWriter()
        w.array(results) { w, r in w.raw(r.json) }
        return w.output
    }
}
