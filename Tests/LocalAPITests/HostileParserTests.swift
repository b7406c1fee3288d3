import NIOCore
import Testing

@testable import LocalAPI

/// Chunked bodies and trailers from a hostile peer: malformed chunk sizes are refused (never a
/// stall, never an overflow), the body limit is on the sum of the chunks, trailers stay within the
/// header limits, and whatever the input, the parser never keeps more than a bounded remainder.
@Suite struct HostileParserTests {
    let limits = HTTPRequestParser.Limits(maxHeaderBytes: 1024, maxURLLength: 64, maxBodyBytes: 100)
    let head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// Feeds `text` in pieces of `step` bytes; returns every event, or the failure.
    func parse(_ text: String, step: Int = .max) -> Result<[HTTPRequestParser.Event], HTTPRequestParser.Failure> {
        parseInPieces(text, limits: limits, step: step)
    }

    /// The bodies of the complete requests, or nil on failure.
    func bodies(_ text: String, step: Int = .max) -> [String]? {
        guard case .success(let events) = parse(text, step: step) else { return nil }
        return events.compactMap {
            if case .complete(_, let body) = $0 { return String(decoding: body, as: UTF8.self) }
            return nil
        }
    }

    func isBadRequest(_ r: Result<[HTTPRequestParser.Event], HTTPRequestParser.Failure>) -> Bool {
        if case .failure(.badRequest) = r { return true }
        return false
    }

    // MARK: chunk sizes

    @Test(arguments: [1, 1000])
    func negativeChunkSizeIsRefusedNotStalled(step: Int) {
        // Followed by plenty more input: before the fix the parser neither failed nor advanced.
        let r = parse(head + "-1\r\n" + String(repeating: "x", count: 500) + "\r\n0\r\n\r\n", step: step)
        #expect(isBadRequest(r), "\(r)")
    }

    @Test(arguments: ["+5", " 5", "5 ", "0x5", "", ";ext", "5\t", "g", "-0"])
    func malformedChunkSizeIsRefused(size: String) {
        let r = parse(head + size + "\r\nhello\r\n0\r\n\r\n")
        #expect(isBadRequest(r), "'\(size)': \(r)")
    }

    @Test(arguments: [1, 1000])
    func sixteenHexDigitsAreAccepted(step: Int) {
        #expect(bodies(head + "000000000000000a\r\n0123456789\r\n0\r\n\r\n", step: step) == ["0123456789"])
        #expect(bodies(head + "000000000000000A;x=y\r\n0123456789\r\n0000000000000000\r\n\r\n", step: step) == ["0123456789"])
    }

    @Test func seventeenHexDigitsAreRefused() {
        #expect(isBadRequest(parse(head + "0000000000000000a\r\n0123456789\r\n0\r\n\r\n")))
        #expect(isBadRequest(parse(head + "00000000000000000\r\n\r\n")))
    }

    @Test(arguments: ["ffffffffffffffff", "FFFFFFFFFFFFFFFF", "8000000000000000", "7fffffffffffffff", "0100000000000000"])
    func hugeChunkSizeIsTooLargeNotACrash(size: String) {
        #expect(parse(head + size + "\r\nabc") == .failure(.bodyTooLarge))
    }

    @Test(arguments: [1, 1000])
    func chunkLineOverTheBoundIsRefused(step: Int) {
        let line = "5;" + String(repeating: "e", count: 255)  // 257 bytes
        #expect(isBadRequest(parse(head + line + "\r\nhello\r\n0\r\n\r\n", step: step)))
        // Without its CRLF ever coming, too.
        #expect(isBadRequest(parse(head + line + "eeee", step: step)))
    }

    /// A line of exactly the bound (256 bytes) must be treated alike however it arrives.
    /// Regression (fixed in 01c42d2): fed byte by byte, the partial-line check counted the CR that
    /// had arrived without its LF, so this line was refused at 257 buffered bytes although the
    /// same line arriving whole was accepted.
    @Test(arguments: [1, 1000])
    func chunkLineAtTheBoundIsAccepted(step: Int) {
        let line = "5;" + String(repeating: "e", count: 254)  // 256 bytes
        let r = parse(head + line + "\r\nhello\r\n0\r\n\r\n", step: step)
        #expect(bodies(head + line + "\r\nhello\r\n0\r\n\r\n", step: step) == ["hello"], "step \(step): \(r)")
    }

    @Test(arguments: [1, 7, 1000])
    func bodyLimitIsOnTheSumOfTheChunks(step: Int) {
        let sixty = String(repeating: "a", count: 60)
        #expect(parse(head + "3c\r\n\(sixty)\r\n3c\r\n\(sixty)\r\n0\r\n\r\n", step: step) == .failure(.bodyTooLarge))
        let fifty = String(repeating: "b", count: 50)
        #expect(bodies(head + "32\r\n\(fifty)\r\n32\r\n\(fifty)\r\n0\r\n\r\n", step: step) == [fifty + fifty])
        #expect(parse(head + "32\r\n\(fifty)\r\n32\r\n\(fifty)\r\n1\r\n") == .failure(.bodyTooLarge))
    }

    // MARK: trailers

    func trailers(_ n: Int, value: String = "v") -> String {
        (0..<n).map { "X-T\($0): \(value)\r\n" }.joined()
    }

    @Test(arguments: [1, 1000])
    func upToThirtyTwoTrailersAreDropped(step: Int) throws {
        let r = parse(head + "2\r\nhi\r\n0\r\n" + trailers(32) + "\r\nGET /next HTTP/1.1\r\n\r\n", step: step)
        guard case .success(let events) = r else {
            Issue.record("failed: \(r)")
            return
        }
        let completes = events.compactMap { e -> (HTTPRequestParser.Head, [UInt8])? in
            if case .complete(let h, let b) = e { return (h, b) }
            return nil
        }
        try #require(completes.count == 2)
        #expect(completes[0].1 == Array("hi".utf8))
        #expect(!completes[0].0.headers.contains { $0.name.hasPrefix("X-T") }, "trailers are not merged into the head")
        #expect(completes[1].0.uri == "/next")
    }

    @Test(arguments: [1, 1000])
    func thirtyThreeTrailersAreTooLarge(step: Int) {
        #expect(parse(head + "0\r\n" + trailers(33) + "\r\n", step: step) == .failure(.headersTooLarge))
    }

    @Test(arguments: [1, 1000])
    func trailerBytesBeyondTheHeaderLimitAreTooLarge(step: Int) {
        let long = String(repeating: "v", count: 400)
        #expect(parse(head + "0\r\n" + trailers(3, value: long) + "\r\n", step: step) == .failure(.headersTooLarge))
        // One unterminated trailer line that never ends.
        #expect(parse(head + "0\r\nX-T: " + String(repeating: "v", count: 2000), step: step) == .failure(.headersTooLarge))
    }

    @Test func trailerWithoutAColonIsRefused() {
        #expect(isBadRequest(parse(head + "0\r\nX-T: v\r\nnocolon\r\n\r\n")))
    }

    /// Trailer lines are held to the rules of header lines (found by the differential test against
    /// NIOHTTP1: they used to be checked for a colon only), and framing fields are refused there.
    @Test(arguments: ["X-T: v\nX-U: w", "X-T: a\u{0}b", "X T: v", "X-T : v", "Content-Length: 5", "transfer-encoding: chunked", "Host: other"])
    func trailersAreValidatedLikeHeaders(line: String) {
        for step in [1, 1000] {
            #expect(isBadRequest(parse(head + "2\r\n{}\r\n0\r\n" + line + "\r\n\r\n", step: step)), "\(line.debugDescription), step \(step)")
        }
    }

    /// Trailers that fill the header limit exactly are accepted however the final CRLF arrives (a
    /// lone CR waiting for its LF used to count against the limit).
    @Test func trailersExactlyAtTheLimitAreAcceptedWhenSplit() {
        // 32 lines of 32 bytes with their CRLF: 1024 bytes, the limit.
        let lines = (0..<32).map { i in "X-\(i < 10 ? "0" : "")\(i): " + String(repeating: "v", count: 24) + "\r\n" }.joined()
        #expect(lines.utf8.count == limits.maxHeaderBytes)
        for step in [1, 2, 3, 1000] {
            guard case .success(let events) = parse(head + "0\r\n" + lines + "\r\n", step: step) else {
                Issue.record("refused at step \(step)")
                continue
            }
            #expect(events.contains { if case .complete = $0 { return true } else { return false } }, "step \(step)")
        }
    }

    // MARK: the bounded-remainder invariant

    static let hostileInputs: [String] = {
        func trailerLines(_ n: Int) -> String { HostileParserTests.trailerLines(n) }
        let head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        let filler = String(repeating: "a", count: 3000)
        let crlfs = String(repeating: "\r\n", count: 1500)
        return [
            head + "-1\r\n" + filler,
            head + "-1\r\n" + crlfs,
            head + "+5\r\n" + filler,
            head + "0x5\r\n" + filler,
            head + "\r\n" + filler,
            head + "ffffffffffffffff\r\n" + filler,
            head + "5;" + filler,
            head + "5\r\nhello" + filler,
            head + "0\r\n" + trailerLines(40) + filler,
            head + "0\r\nX: " + filler,
            head + "0\r\nnocolon\r\n" + filler,
            "GET / HTTP/1.1\r\nX: " + filler,
            head + "1\r\na\r\n" + String(repeating: "1\r\na\r\n", count: 200),
        ]
    }()

    /// Valid input, near the limits: must be accepted, and within the bound as well.
    static let acceptedInputs: [String] = {
        func trailerLines(_ n: Int) -> String { HostileParserTests.trailerLines(n) }
        let head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        return [
            String(repeating: head + "64;" + String(repeating: "e", count: 250) + "\r\n" + String(repeating: "a", count: 100)
                + "\r\n0\r\n" + trailerLines(32) + "\r\n", count: 5),
            String(repeating: "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 900) + "\r\n\r\n", count: 5),
        ]
    }()

    static func trailerLines(_ n: Int) -> String { (0..<n).map { "X-T\($0): v\r\n" }.joined() }

    /// Indexed, so a failing case is named by its number rather than by kilobytes of input.
    @Test(arguments: (hostileInputs + acceptedInputs).indices)
    func parserThrowsOrKeepsOnlyABoundedRemainder(index: Int) {
        let input = (Self.hostileInputs + Self.acceptedInputs)[index]
        let mustAccept = index >= Self.hostileInputs.count
        var parser = HTTPRequestParser(limits: limits)
        var buffer = ByteBuffer()
        let bound = limits.maxHeaderBytes + HTTPRequestParser.maxChunkLineBytes
        var worst = 0
        for byte in input.utf8 {
            buffer.writeInteger(byte)
            do {
                while try parser.next(&buffer) != nil {}
            } catch {
                if mustAccept { Issue.record("valid input \(index) refused: \(error)") }
                return
            }
            worst = max(worst, buffer.readableBytes)
            if buffer.readableBytes >= bound {
                Issue.record("parser keeps \(buffer.readableBytes) unconsumed bytes without failing")
                return
            }
        }
        #expect(worst < bound)
    }
}
