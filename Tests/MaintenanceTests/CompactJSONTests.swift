@testable import Maintenance
import Testing

/// Props from the store, made one line or refused, before they go into an export line.
struct CompactJSONTests {
    func compact(_ s: String) -> String? { CompactJSON.object(s).map { String(decoding: $0, as: UTF8.self) } }

    @Test func whitespaceBetweenTokensGoesAndStringsStay() {
        #expect(compact("{}") == "{}")
        #expect(compact(" {\n \"a\" : [ 1 , -2.5e3, true, null ],\r\n\t\"b\": {\"c\": \"x y\\n\\u00e9\"} } ") == #"{"a":[1,-2.5e3,true,null],"b":{"c":"x y\n\u00e9"}}"#)
        #expect(compact(#"{"k":"über \"q\""}"#) == #"{"k":"über \"q\""}"#)
    }

    @Test func notAnObjectIsRefused() {
        for s in ["", "[]", "null", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}",
                  "{\"a\":\"\n\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{} {}", "{\"a\":1} x", "{'a':1}"] {
            #expect(compact(s) == nil, "\(s)")
        }
        let deep = String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 70)
        #expect(compact(deep) == nil, "nesting is bounded")
        let fine = String(repeating: "{\"a\":", count: 10) + "1" + String(repeating: "}", count: 10)
        #expect(compact(fine) == fine)
    }
}
