import LocalAPI
import StewardModel

/// A request body (the fuzz input) through what the server does with it: the dispatcher's JSON
/// syntax check (`JSONSyntax.isValid`), then, for a body that passes, `decodeJSON` as every body
/// type (`RequestBodies.decodeAll`).
///
/// Invariants (each a crash under libFuzzer; crashes, hangs and leaks inside the checks count too):
/// - the syntax check is consistent with the grammar: surrounding whitespace never changes its
///   answer; a valid document stays valid inside `[...]`, `{"k":...}` and after `[1,` (while the
///   nesting stays below its depth limit), and never stays valid with a `}` appended;
/// - decoding is deterministic (two runs, the same result);
/// - `POST /jobs`'s body (`CreateBody.decode`, decoded once for access and handler) reads as
///   Foundation's decoder reads it: the one-pass reader, where it answers, gives the decoder's
///   answer, and refuses what the decoder refuses;
/// - `StatusBody` decodes every JSON object in UTF-8 without `\u` escapes (its fields are read
///   leniently).
package enum RequestBodiesCheck {
    package static func run(_ input: [UInt8]) throws(FuzzViolation) {
        let valid = JSONSyntax.isValid(input)
        try checkSyntax(input, valid: valid)
        guard RequestBodies.passesDispatcher(input) else { return }
        let decoded = RequestBodies.decodeAll(input)
        if RequestBodies.decodeAll(input) != decoded { throw FuzzViolation("decoding the same body twice differs") }
        if decoded.create != decoded.createByDecoder {
            throw FuzzViolation("POST /jobs reads \(String(describing: decoded.create)) where the decoder reads \(String(describing: decoded.createByDecoder))")
        }
        // JSONSyntax checks the grammar only: not that the bytes are UTF-8, nor that `\u` escapes
        // pair surrogates, both of which the decoder refuses (Fuzz/regressions/FuzzRequestBodies/
        // *-found-by-fuzzer*); such a body decodes as no body type, which the handlers answer 400.
        let isObject = input.isEmpty || input.first(where: { !whitespace.contains($0) }) == UInt8(ascii: "{")
        if isObject && decoded.status == nil && String(validating: input, as: UTF8.self) != nil && !hasUnicodeEscape(input) {
            throw FuzzViolation("StatusBody refused a JSON object")
        }
    }

    static func hasUnicodeEscape(_ b: [UInt8]) -> Bool {
        zip(b, b.dropFirst()).contains { $0 == UInt8(ascii: "\\") && $1 == UInt8(ascii: "u") }
    }

    static let whitespace: [UInt8] = [0x20, 0x09, 0x0a, 0x0d]

    static func checkSyntax(_ input: [UInt8], valid: Bool) throws(FuzzViolation) {
        if JSONSyntax.isValid(whitespace + input + whitespace.reversed()) != valid {
            throw FuzzViolation("surrounding whitespace changes the syntax check (\(valid) alone)")
        }
        guard valid else { return }
        if JSONSyntax.isValid(input + Array("}".utf8)) { throw FuzzViolation("valid with a `}` appended") }
        // Each `[` or `{` opens at most one level; below the validator's depth limit (256) with room for one more.
        let opens = input.reduce(0) { $0 + ($1 == UInt8(ascii: "[") || $1 == UInt8(ascii: "{") ? 1 : 0) }
        guard opens < 250 else { return }
        for (prefix, suffix) in [("[", "]"), ("{\"k\":", "}"), ("[1,", "]"), ("{\"a\":[],\"k\" :\t", "\n}")] {
            if !JSONSyntax.isValid(Array(prefix.utf8) + input + Array(suffix.utf8)) {
                throw FuzzViolation("valid alone but not inside \(prefix)...\(suffix)")
            }
        }
    }
}
