import Foundation
import StewardModel
import Testing

/// The hand-written JSON paths the job routes use instead of Foundation's: checked byte for byte
/// against Mattermost's key order and Go's escapes, and against Foundation's decoder on tricky input.
@Suite struct JSONFastPathTests {
    /// model.Job as Go's encoding/json writes it (keys in struct order, map keys sorted, `<>&`
    /// and U+2028/9 escaped).
    @Test func aJobIsMattermostsBytes() {
        let job = Job(id: "abcdefghijklmnopqrstuvwxyz", type: "db_backup", createAt: 1, startAt: 2, lastActivityAt: 3,
                      status: .success, progress: 100, data: ["z": "last", "a": "<b>&\"q\"\n\u{2028}é", "m": ""])
        #expect(job.json == #"{"id":"abcdefghijklmnopqrstuvwxyz","type":"db_backup","priority":0,"create_at":1,"start_at":2,"last_activity_at":3,"status":"success","progress":100,"data":{"a":"\u003cb\u003e\u0026\"q\"\n\u2028é","m":"","z":"last"}}"#)
        #expect(Job.json([job, job]) == "[" + job.json + "," + job.json + "]")
        #expect(Job.json([]) == "[]")
    }

    /// Numbers are written digit by digit into the writer's bytes: the same text as `String(n)`.
    @Test(arguments: [Int64.min, Int64.min + 1, -1_000_000_007, -10, -1, 0, 1, 9, 10, 99, 100, 1_764_633_600_000, Int64.max])
    func numbersAreStringsDigits(n: Int64) {
        var w = JSONWriter()
        w.array([n, 7]) { w, v in w.number(v) }
        w.object { o in o.field("n", n) }
        #expect(w.output == "[" + String(n) + ",7]{\"n\":" + String(n) + "}")
    }

    @Test(arguments: [
        #"{}"#, #" { } "#, #"{"a":"b"}"#, #"{"k":"with \"quotes\" and \\ and \/"}"#, #"{"e":"\u00e9\ud83d\ude00\n\t\b\f\r"}"#,
        #"{"a":"1","b":"2","a":"3"}"#, "{\"plain\":\"é ü 😀\"}",
    ])
    func agreesWithFoundation(text: String) throws {
        let expected = try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        #expect(JSONStringMap.parse(text) == expected)
    }

    @Test(arguments: [
        "", "[]", #"{"a":1}"#, #"{"a":"b""#, #"{"a":"b",}"#, #"{"a" "b"}"#, #"{"a":"\x"}"#, #"{"a":"\ud83d"}"#,
        #"{"a":"\udc00"}"#, "{\"a\":\"raw\ncontrol\"}", #"{"a":"b"} trailing"#, #"{"a":null}"#,
    ])
    func refusesWhatIsNotAFlatStringMap(text: String) {
        #expect(JSONStringMap.parse(text) == nil, "\(text)")
    }
}

/// Every wire shape now goes through `JSONWriter`: its bytes, in Mattermost's key order (Go's
/// `json.Marshal` of the model types), pinned here.
@Suite struct WireGoldenBytesTests {
    @Test func integrityResults() {
        let data = RelationalIntegrityCheckData(parentName: "Channels", childName: "Posts", parentIDAttr: "ChannelId", childIDAttr: "Id",
                                                records: [OrphanedRecord(parentID: "c<1>", childID: "p1"), OrphanedRecord(parentID: nil, childID: nil)])
        let results = [IntegrityCheckResult(data: data, err: nil), IntegrityCheckResult(data: nil, err: "no such table")]
        #expect(IntegrityCheckResult.json(results) == #"[{"data":{"parent_name":"Channels","child_name":"Posts","parent_id_attr":"ChannelId","child_id_attr":"Id","records":[{"parent_id":"c\u003c1\u003e","child_id":"p1"},{"parent_id":null,"child_id":null}]},"err":null},{"data":null,"err":"no such table"}]"#)
        #expect(IntegrityCheckResult.json([]) == "[]")
        let empty = RelationalIntegrityCheckData(parentName: "A", childName: "B", parentIDAttr: "x", childIDAttr: "", records: [])
        #expect(empty.json == #"{"parent_name":"A","child_name":"B","parent_id_attr":"x","child_id_attr":"","records":[]}"#)
    }

    @Test func jobLogsAndData() {
        let entries = [JobLogEntry(idx: 0, level: "info", msg: "a \"b\"", progress: 5, timestamp: 7)]
        #expect(JobLogEntry.json(entries) == #"[{"idx":0,"level":"info","msg":"a \"b\"","progress":5,"timestamp":7}]"#)
        #expect(JobLogEntry.json([]) == "[]")
        #expect(Job.dataJSON([:]) == "{}")
        #expect(Job.dataJSON(["b": "2", "a": "1"]) == #"{"a":"1","b":"2"}"#)
    }

    @Test func jobTypeCatalogue() {
        let info = JobTypeInfo(type: "db_backup", summary: "s", runnable: true, runsWhileBusy: true, artifact: .backup, timer: nil,
                               permissions: ["read": ["read_jobs"], "create": ["manage_jobs", "x"]],
                               parameters: [.init(name: "n", type: "integer", minimum: 0, maximum: 9, defaultValue: nil, description: "d")])
        #expect(JobTypeInfo.json([info]) == #"[{"type":"db_backup","summary":"s","runnable":true,"runs_while_busy":true,"artifact":"backup","timer":null,"permissions":{"create":["manage_jobs","x"],"read":["read_jobs"]},"parameters":[{"name":"n","type":"integer","minimum":0,"maximum":9,"default":null,"description":"d"}]}]"#)
    }

    @Test func nestedWriters() {
        var w = JSONWriter()
        w.object { o in
            o.object("a") { a in a.field("t", true) }
            o.array("b", [1, 2] as [Int64]) { w, n in w.number(n) }
            o.object("empty") { _ in }
            o.array("none", [String]()) { w, s in w.string(s) }
        }
        #expect(w.output == #"{"a":{"t":true},"b":[1,2],"empty":{},"none":[]}"#)
        #expect(JSONWriter.strings(["x", "y\n"]) == #"["x","y\n"]"#)
    }
}
