import Testing

@testable import LocalAPI

/// `POST /jobs`'s body is read once, in one pass where its shape allows, and always as Foundation's
/// decoder reads it.
@Suite struct JobCreateBodyTests {
    /// mmctl sends a whole `model.Job` (Go's json.Marshal: every member, numbers and empty strings).
    static let mmctlBody = #"{"id":"","type":"export_process","priority":0,"create_at":0,"start_at":0,"last_activity_at":0,"status":"","progress":0,"data":{"include_attachments":"true"}}"#

    static let bodies: [String] = [
        mmctlBody,
        #"{"type":"db_optimize","data":{}}"#,
        #"{"type":"db_backup"}"#,
        #" { "data" : null , "type" : "db_backup" } "#,
        #"{"type":null}"#,
        #"{}"#,
        #"{"type":"a","type":"b"}"#,
        #"{"type":"db\u0062ackup","data":{"k\n":"v\"\u00e9"}}"#,
        #"{"type":"x","n":-0.5e+3,"t":true,"f":false}"#,
        // Shapes the one-pass reader leaves to the decoder, which refuses or accepts them itself.
        #"{"type":5}"#,
        #"{"type":"x","data":{"n":1}}"#,
        #"{"type":"x","data":"s"}"#,
        #"{"type":"x","list":[1,2,{"a":[]}]}"#,
        #"{"type":"x","nested":{"a":{"b":"c"}}}"#,
        #"["type"]"#,
        #""db_backup""#,
        #"{"type":"\ud800"}"#,
    ]

    @Test(arguments: bodies)
    func theOnePassReaderAgreesWithTheDecoder(_ body: String) {
        let decoded = RequestBodies.decodeAll(Array(body.utf8))
        #expect(decoded.create == decoded.createByDecoder)
    }

    @Test func readsWhatMmctlSends() throws {
        let d = RequestBodies.decodeAll(Array(Self.mmctlBody.utf8))
        #expect(d.create == .init(type: "export_process", data: ["include_attachments": "true"]))
        #expect(RequestBodies.decodeAll(Array(#"{"type":"a","type":"b"}"#.utf8)).create?.type == "a")
        #expect(RequestBodies.decodeAll(Array(#"{"type":5}"#.utf8)).create == nil)
    }

    /// Bytes that are not UTF-8 are refused as the decoder refuses them (the one-pass reader would
    /// otherwise repair them into U+FFFD and create a job of a type nobody sent).
    @Test func invalidUTF8IsRefusedLikeTheDecoder() {
        let body = Array(#"{"type":"db_backup"#.utf8) + [0xC3, 0x28] + Array(#"","data":{}}"#.utf8)
        let d = RequestBodies.decodeAll(body)
        #expect(d.create == d.createByDecoder)
        #expect(d.create == nil)
    }
}
