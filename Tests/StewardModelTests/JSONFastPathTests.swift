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
