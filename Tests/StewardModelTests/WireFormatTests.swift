import Foundation
import StewardModel
import Testing

@Suite struct WireFormatTests {
    @Test(arguments: [
        (Int64(-62_135_596_800), "Mon Jan 1 00:00:00 +0000 UTC 0001"),
        (Int64(1_762_333_384), "Wed Nov 5 09:03:04 +0000 UTC 2025"),
        (Int64(0), "Thu Jan 1 00:00:00 +0000 UTC 1970"),
        (Int64(1_795_365_563), "Sun Nov 22 16:39:23 +0000 UTC 2026"),
    ])
    func goTimeLayout(seconds: Int64, expected: String) {
        #expect(GoTime.format(unixSeconds: seconds) == expected)
    }

    @Test func notBusyIsGoZeroTime() {
        #expect(ServerBusyState(expiresAt: nil).json == #"{"busy":false,"expires":-62135596800,"expires_ts":"Mon Jan 1 00:00:00 +0000 UTC 0001"}"#)
        #expect(ServerBusyState(expiresAt: 1_762_333_384).json == #"{"busy":true,"expires":1762333384,"expires_ts":"Wed Nov 5 09:03:04 +0000 UTC 2025"}"#)
    }

    @Test func appErrorKeysInMattermostOrder() {
        let e = AppError(id: "x.y", message: "M \"q\"", detailedError: "d<>", requestID: "r", statusCode: 400)
        #expect(e.json == #"{"id":"x.y","message":"M \"q\"","detailed_error":"d\u003c\u003e","request_id":"r","status_code":400}"#)
        let decoded = try? JSONDecoder().decode(AppError.self, from: Data(e.json.utf8))
        #expect(decoded == e)
    }

    @Test func invalidURLParamMessageMatchesMattermost() {
        #expect(AppError.invalidURLParam("seconds must be 1 - 86400").message
            == "Invalid or missing seconds must be 1 - 86400 parameter in request URL.")
    }

    @Test func newIDsAreValidAndDistinct() {
        let ids = (0..<1000).map { _ in NewID.make() }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy(NewID.isValid))
        #expect(!NewID.isValid("1234"))
        #expect(!NewID.isValid(String(repeating: "a", count: 25) + "-"))
    }

    @Test func quoteEscapesControlCharacters() {
        #expect(JSONWriter.quote("a\nb\u{1}") == #""a\nb\u0001""#)
    }
}
