@testable import LocalAPI
import Testing

/// `Range` as Go's http.ServeContent reads it, which mmctl's resumed download relies on.
struct ByteRangeTests {
    @Test func oneRangeIsPartial() {
        #expect(ByteRange.parse("bytes=100-", size: 1000) == .partial(offset: 100, length: 900))
        #expect(ByteRange.parse("bytes=0-0", size: 1000) == .partial(offset: 0, length: 1))
        #expect(ByteRange.parse("bytes=10-19", size: 1000) == .partial(offset: 10, length: 10))
        #expect(ByteRange.parse("bytes=990-5000", size: 1000) == .partial(offset: 990, length: 10), "an end past the file is cut")
        #expect(ByteRange.parse("bytes=-10", size: 1000) == .partial(offset: 990, length: 10))
        #expect(ByteRange.parse("bytes=-5000", size: 1000) == .partial(offset: 0, length: 1000))
        #expect(ByteRange.parse(" bytes=5- ", size: 1000) == .partial(offset: 5, length: 995))
    }

    @Test func pastTheEndIsUnsatisfiable() {
        #expect(ByteRange.parse("bytes=1000-", size: 1000) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", size: 1000) == .unsatisfiable)
    }

    @Test func anythingElseIsTheWholeFile() {
        for header in [nil, "", "bytes=", "bytes=-", "items=0-1", "bytes=5-1", "bytes=a-", "bytes=0-1,3-4", "bytes=+1-",
                       "bytes=99999999999999999999-", "bytes=1-2-3", "bytes= 1-2", String(repeating: "bytes=1-", count: 20)] {
            #expect(ByteRange.parse(header, size: 1000) == .whole, "\(header ?? "nil")")
        }
        #expect(ByteRange.parse("bytes=1-", ifRange: "\"etag\"", size: 1000) == .whole, "nothing we send can match an If-Range")
    }
}
