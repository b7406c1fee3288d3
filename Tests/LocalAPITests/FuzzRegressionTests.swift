import FoundationEssentials
import FuzzChecks
import NIOCore
import Testing

@testable import LocalAPI

/// The fuzz targets' checks over every input under Fuzz/regressions/<target>/ (inputs that once
/// found a bug, and the crash-like cases written by hand) and Fuzz/corpus/<target>/, so that they
/// stay in the normal test run.
@Suite struct FuzzRegressionTests {
    static let root: String = {
        // Tests/LocalAPITests/FuzzRegressionTests.swift -> the package root.
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static func inputs(_ folder: String, _ target: FuzzTarget) -> [String] {
        FuzzReplay.files(at: "\(root)/Fuzz/\(folder)/\(target.rawValue)")
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        try #require(FileManager.default.contents(atPath: path).map { Array($0) }, "cannot read \(path)")
    }

    @Test(arguments: FuzzTarget.allCases)
    func regressionInputsPassTheirCheck(_ target: FuzzTarget) throws {
        let files = Self.inputs("regressions", target)
        #expect(!files.isEmpty, "no regression inputs for \(target.rawValue)")
        for file in files {
            let input = try Self.bytes(file)
            let name = String(file.split(separator: "/").last ?? "")
            #expect(throws: Never.self, "\(name)") { try target.check(input) }
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedCorpusPassesItsCheck(_ target: FuzzTarget) throws {
        let files = Self.inputs("corpus", target)
        #expect(files.count >= 10, "seed corpus of \(target.rawValue) too small")
        for file in files {
            let input = try Self.bytes(file)
            #expect(throws: Never.self, "\(file)") { try target.check(input) }
        }
    }

    // What the crash-like regression inputs must come to, beyond the check's invariants.

    func outcome(_ name: String) throws -> HTTPParserCheck.Outcome {
        let input = try Self.bytes("\(Self.root)/Fuzz/regressions/FuzzHTTPParser/\(name)")
        return try HTTPParserCheck.feed(input, pieces: [input.count])
    }

    func completed(_ o: HTTPParserCheck.Outcome) -> [[UInt8]] {
        o.events.compactMap { if case .complete(_, let body) = $0 { body } else { nil } }
    }

    @Test(arguments: [
        "chunk-size-minus-one", "chunk-size-minus-one-pipelined", "chunk-size-plus", "chunk-size-leading-space",
        "chunk-size-empty", "chunk-size-only-extension", "chunk-size-17-digits-zeros", "chunk-size-200-zeros",
        "chunk-data-then-lf-only", "content-length-13-digits", "content-length-empty", "content-length-space-inside",
        "header-value-del", "header-value-nul", "only-crlfs",
    ])
    func refusedAsBadRequest(_ name: String) throws {
        let o = try outcome(name)
        guard case .badRequest? = o.failure else {
            Issue.record("\(name): \(o.failure.map { "\($0)" } ?? "accepted")")
            return
        }
        #expect(completed(o).isEmpty)
    }

    @Test(arguments: [
        ("chunk-line-257-bytes", HTTPRequestParser.Failure.badRequest("chunk size line too long")),
        ("chunk-line-long-no-crlf", .badRequest("chunk size line too long")),
        ("chunk-size-16-f", .bodyTooLarge), ("chunk-size-16-7f", .bodyTooLarge), ("chunk-sum-over-limit", .bodyTooLarge),
        ("content-length-12-digits", .bodyTooLarge), ("trailers-33", .headersTooLarge),
        ("trailer-huge-no-crlf", .headersTooLarge), ("head-one-over-limit", .headersTooLarge),
        ("head-no-terminator-over-limit", .headersTooLarge), ("url-one-over-limit", .uriTooLong),
    ])
    func refusedWithLimit(_ name: String, _ failure: HTTPRequestParser.Failure) throws {
        #expect(try outcome(name).failure == failure, "\(name)")
    }

    @Test(arguments: [
        ("chunk-size-huge-leading-zeros", 1), ("chunk-line-254-bytes", 1), ("chunk-sum-at-limit", 512), ("trailers-32", 0),
        ("content-length-leading-zeros", 2), ("content-length-at-limit", 512), ("head-exactly-at-limit", 0),
        ("url-at-limit", 0), ("header-value-high-bytes", 0),
    ])
    func acceptedAtTheLimit(_ name: String, _ bodyBytes: Int) throws {
        let o = try outcome(name)
        #expect(o.failure == nil, "\(name): \(o.failure.map { "\($0)" } ?? "")")
        #expect(completed(o).map(\.count) == [bodyBytes], "\(name)")
    }
}
