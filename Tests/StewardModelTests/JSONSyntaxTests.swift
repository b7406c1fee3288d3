import StewardModel
import Testing

@Suite struct JSONSyntaxTests {
    @Test(arguments: [
        "{}", "[]", "0", "-1.5e+10", "\"a\\u00e9\\n\"", "true", "null", " { \"a\" : [1, 2, {\"b\": null}] } ",
        #"{"from":"/etc/a.json","to":"sqlite:///x"}"#,
    ])
    func accepts(_ text: String) {
        #expect(JSONSyntax.isValid(Array(text.utf8)))
    }

    @Test(arguments: [
        "", "{", "{\"a\"}", "{\"a\":}", "[1,]", "{,}", "01", "1.", "-", "tru", "\"unterminated", "\"bad \\x escape\"",
        "{} {}", "\"tab\there\"", "[1 2]", String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
    ])
    func rejects(_ text: String) {
        #expect(!JSONSyntax.isValid(Array(text.utf8)))
    }
}
