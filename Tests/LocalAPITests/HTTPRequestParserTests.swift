import NIOCore
import Testing

@testable import LocalAPI

@Suite struct HTTPRequestParserTests {
    let limits = HTTPRequestParser.Limits(maxHeaderBytes: 1024, maxURLLength: 64, maxBodyBytes: 100)

    /// Feeds `text` in pieces of `step` bytes; returns every event, or the failure.
    func parse(_ text: String, step: Int = .max) -> Result<[HTTPRequestParser.Event], HTTPRequestParser.Failure> {
        parseInPieces(text, limits: limits, step: step)
    }

    func completes(_ text: String, step: Int = .max) -> [(HTTPRequestParser.Head, String)] {
        guard case .success(let events) = parse(text, step: step) else { return [] }
        return events.compactMap {
            if case .complete(let h, let body) = $0 { return (h, String(decoding: body, as: UTF8.self)) }
            return nil
        }
    }

    @Test func simpleGetKeepsAliveOnHTTP11() throws {
        let r = completes("GET /api/v4/system/ping?x=1 HTTP/1.1\r\nHost: _\r\nAccept:  */*  \r\n\r\n")
        let (head, body) = try #require(r.first)
        #expect(head.method == "GET" && head.uri == "/api/v4/system/ping?x=1" && head.minorVersion == 1)
        #expect(head.keepAlive && body.isEmpty)
        #expect(head.headers.map(\.name) == ["Host", "Accept"])
        #expect(head.headers[1].value == "*/*")
    }

    @Test func keepAliveRulesForConnectionHeaderAndHTTP10() {
        #expect(completes("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").first?.0.keepAlive == false)
        #expect(completes("GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n").first?.0.keepAlive == false)
        #expect(completes("GET / HTTP/1.0\r\n\r\n").first?.0.keepAlive == false)
        #expect(completes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").first?.0.keepAlive == true)
    }

    @Test(arguments: [1, 2, 7, 1000])
    func contentLengthBodyInPieces(step: Int) {
        let r = completes("POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}", step: step)
        #expect(r.count == 1)
        #expect(r.first?.1 == "{\"a\":\"bcd\"}")
    }

    @Test(arguments: [1, 3, 1000])
    func chunkedBodyWithExtensionsAndTrailers(step: Int) {
        let text = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n"
        #expect(completes(text, step: step).first?.1 == "{\"a\":1}")
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        let r = completes("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /c HTTP/1.1\r\n\r\n")
        #expect(r.map(\.0.uri) == ["/a", "/b", "/c"])
        #expect(r[1].1 == "{}")
    }

    @Test func expectContinueIsReportedWithTheHead() throws {
        guard case .success(let events) = parse("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n") else {
            Issue.record("parse failed")
            return
        }
        guard case .head(let head)? = events.first else {
            Issue.record("expected a head event before the body")
            return
        }
        #expect(head.expectContinue)
    }

    @Test func limitsAreEnforced() {
        #expect(parse("GET /" + String(repeating: "a", count: 64) + " HTTP/1.1\r\n\r\n") == .failure(.uriTooLong))
        #expect(parse("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 1100)) == .failure(.headersTooLarge))
        #expect(parse("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 1100) + "\r\n\r\n") == .failure(.headersTooLarge))
        #expect(parse("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n") == .failure(.bodyTooLarge))
        #expect(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + String(repeating: "c", count: 64) + "\r\n40\r\n") == .failure(.bodyTooLarge))
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 2a\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET http://host/ HTTP/1.1\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET /  HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "GET / HTTP/1.1\r\nExpect: something\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\u{7f}b\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
    ])
    func malformedRequestsAreRefused(_ text: String) {
        guard case .failure(let f) = parse(text) else {
            Issue.record("accepted: \(text.debugDescription)")
            return
        }
        if case .badRequest = f {} else { Issue.record("expected a bad request, got \(f)") }
    }
}
