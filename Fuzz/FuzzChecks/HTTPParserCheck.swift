#if canImport(Glibc)
import Glibc
#endif
import LocalAPI
import NIOCore

/// The request parser fed one byte stream (the fuzz input, as it would arrive on a connection)
/// whole, one byte at a time and in two sets of pseudo-random pieces whose sizes are derived from
/// the input itself, so every mutation also moves the split points.
///
/// Invariants (each a crash under libFuzzer):
/// - every way of splitting the stream yields the same events and the same failure (or none), and
///   leaves the same bytes unconsumed;
/// - the parser never stalls: after the last byte it has thrown, or what it still holds is a
///   legitimate partial request below the limits (at most `maxHeaderBytes` buffered, nothing at a
///   request boundary);
/// - no body exceeds `maxBodyBytes`, a body framed by Content-Length has exactly that length, and
///   a body only comes after a `.head` event for the same head;
/// - what it accepts is clean: method a token, origin-form target within `maxURLLength`, no
///   control characters in header names or values, HTTP/1.0 or 1.1;
/// - an accepted request serialized again (same head, Content-Length framing) parses back to the
///   same head and body.
package enum HTTPParserCheck {
    /// Small limits, so that inputs within the fuzzer's max_len (4096) reach every limit.
    package static let limits = HTTPRequestParser.Limits(maxHeaderBytes: 1024, maxURLLength: 256, maxBodyBytes: 512)
    /// `HTTPRequestParser.maxChunkLineBytes`.
    package static let maxChunkLineBytes = 256

    package struct Outcome: Equatable {
        package var events: [HTTPRequestParser.Event] = []
        package var failure: HTTPRequestParser.Failure?
        /// Bytes left in the buffer after the last piece (when nothing failed).
        package var leftover = 0
        package var atBoundary = false
    }

    package static func run(_ input: [UInt8]) throws(FuzzViolation) {
        let whole = try feed(input, pieces: [input.count])
        try checkFinalState(whole, input: input)
        var rng = SplitMix64(seed: fnv1a(input))
        let splits: [(String, [Int])] = [
            ("one byte at a time", Array(repeating: 1, count: input.count)),
            ("pieces of 1-16 bytes", randomPieces(input.count, maxPiece: 16, &rng)),
            ("pieces of 1-700 bytes", randomPieces(input.count, maxPiece: 700, &rng)),
        ]
        for (name, pieces) in splits {
            let split = try feed(input, pieces: pieces)
            if split.events != whole.events || split.failure != whole.failure
                || (whole.failure == nil && split.leftover != whole.leftover) {
                throw FuzzViolation(
                    "fed \(name) (\(pieces.count) pieces: \(pieces.prefix(16))...): \(describe(split)); fed whole: \(describe(whole))")
            }
        }
        for event in whole.events {
            if case .complete(let head, let body) = event { try roundTrip(head, body) }
        }
    }

    /// Feeds `input` in pieces of the given sizes, draining events after each; checks every event.
    package static func feed(_ input: [UInt8], pieces: [Int], limits: HTTPRequestParser.Limits = limits) throws(FuzzViolation) -> Outcome {
        var parser = HTTPRequestParser(limits: limits)
        var buffer = ByteBuffer()
        var outcome = Outcome()
        var pending: HTTPRequestParser.Head?
        var offset = 0
        for size in pieces {
            let end = min(input.count, offset + size)
            buffer.writeBytes(input[offset..<end])
            offset = end
            while true {
                let event: HTTPRequestParser.Event?
                do {
                    event = try parser.next(&buffer)
                } catch {
                    outcome.failure = error
                    return outcome
                }
                guard let event else { break }
                try check(event, pending: &pending, limits: limits)
                outcome.events.append(event)
            }
        }
        outcome.leftover = buffer.readableBytes
        outcome.atBoundary = parser.isAtRequestBoundary
        return outcome
    }

    static func check(_ event: HTTPRequestParser.Event, pending: inout HTTPRequestParser.Head?, limits: HTTPRequestParser.Limits) throws(FuzzViolation) {
        switch event {
        case .head(let head):
            if let pending { throw FuzzViolation("a second head \(head.method) \(head.uri) before the body of \(pending.uri)") }
            try checkClean(head, limits: limits)
            pending = head
        case .complete(let head, let body):
            try checkClean(head, limits: limits)
            if body.count > limits.maxBodyBytes { throw FuzzViolation("body of \(body.count) bytes over the limit \(limits.maxBodyBytes)") }
            if let pending, pending != head { throw FuzzViolation("body completes a different head than announced") }
            if pending == nil, !body.isEmpty { throw FuzzViolation("a body of \(body.count) bytes without a head event first") }
            for h in head.headers where h.name.lowercased() == "content-length" {
                guard Int(h.value) == body.count else {
                    throw FuzzViolation("Content-Length \(h.value) but a body of \(body.count) bytes")
                }
            }
            pending = nil
        }
    }

    static func checkClean(_ head: HTTPRequestParser.Head, limits: HTTPRequestParser.Limits) throws(FuzzViolation) {
        func isToken(_ s: String) -> Bool {
            !s.isEmpty && s.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".utf8.contains(c)
            }
        }
        guard isToken(head.method), head.method.utf8.count <= 16 else { throw FuzzViolation("accepted method \(Array(head.method.utf8))") }
        guard head.uri.utf8.first == UInt8(ascii: "/"), head.uri.utf8.count <= limits.maxURLLength,
              head.uri.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else { throw FuzzViolation("accepted target \(Array(head.uri.utf8))") }
        guard head.minorVersion == 0 || head.minorVersion == 1 else { throw FuzzViolation("accepted HTTP/1.\(head.minorVersion)") }
        for h in head.headers {
            guard isToken(h.name) else { throw FuzzViolation("accepted header name \(Array(h.name.utf8))") }
            guard h.value.utf8.allSatisfy({ ($0 >= 0x20 || $0 == 0x09) && $0 != 0x7f }),
                  h.value.utf8.first.map({ $0 != 0x20 && $0 != 0x09 }) ?? true,
                  h.value.utf8.last.map({ $0 != 0x20 && $0 != 0x09 }) ?? true
            else { throw FuzzViolation("accepted header value \(Array(h.value.utf8)) (control bytes or untrimmed)") }
        }
        if head.expectContinue && head.minorVersion != 1 { throw FuzzViolation("100-continue on HTTP/1.0") }
    }

    static func checkFinalState(_ o: Outcome, input: [UInt8]) throws(FuzzViolation) {
        guard o.failure == nil else { return }
        if o.atBoundary && o.leftover != 0 {
            throw FuzzViolation("at a request boundary with \(o.leftover) bytes unread")
        }
        if o.leftover > max(limits.maxHeaderBytes, maxChunkLineBytes) {
            throw FuzzViolation("stalled: \(o.leftover) bytes buffered, over every limit, without an event or a failure")
        }
    }

    /// A completed request serialized again with Content-Length framing parses back the same.
    static func roundTrip(_ head: HTTPRequestParser.Head, _ body: [UInt8]) throws(FuzzViolation) {
        var text = "\(head.method) \(head.uri) HTTP/1.\(head.minorVersion)\r\n"
        var expected = head
        expected.headers = head.headers.filter { !["content-length", "transfer-encoding"].contains($0.name.lowercased()) }
        for h in expected.headers { text += "\(h.name): \(h.value)\r\n" }
        if !body.isEmpty {
            text += "Content-Length: \(body.count)\r\n"
            expected.headers.append(("Content-Length", "\(body.count)"))
        }
        text += "\r\n"
        let bytes = Array(text.utf8) + body
        let big = HTTPRequestParser.Limits(maxHeaderBytes: 1 << 20, maxURLLength: 1 << 20, maxBodyBytes: 1 << 20)
        let again = try feed(bytes, pieces: [bytes.count], limits: big)
        guard again.failure == nil, case .complete(let h, let b)? = again.events.last, again.leftover == 0 else {
            throw FuzzViolation("serialized again, \(head.method) \(head.uri) does not parse: \(describe(again))")
        }
        guard h == expected, b == body else { throw FuzzViolation("serialized again, \(head.method) \(head.uri) parses differently") }
    }

    static func describe(_ o: Outcome) -> String {
        let events = o.events.map { e -> String in
            switch e {
            case .head(let h): return "head(\(h.method) \(h.uri))"
            case .complete(let h, let b): return "complete(\(h.method) \(h.uri), \(b.count) bytes)"
            }
        }
        return "events [\(events.joined(separator: ", "))], failure \(o.failure.map { "\($0)" } ?? "none"), \(o.leftover) bytes left"
    }

    static func randomPieces(_ total: Int, maxPiece: Int, _ rng: inout SplitMix64) -> [Int] {
        var pieces: [Int] = []
        var left = total
        while left > 0 {
            let n = min(left, 1 + Int(rng.next() % UInt64(maxPiece)))
            pieces.append(n)
            left -= n
        }
        return pieces
    }
}

/// FNV-1a: the split seed, a function of the input alone (libFuzzer's runs stay reproducible).
package func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

package struct SplitMix64 {
    var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
