/// An invariant a fuzz check found broken. The libFuzzer entry points turn it into a crash
/// (`fatalError`), so libFuzzer saves the input; the regression tests turn it into a test failure.
package struct FuzzViolation: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// The fuzz targets by name: the folder names under Fuzz/corpus and Fuzz/regressions.
package enum FuzzTarget: String, CaseIterable, Sendable {
    case httpParser = "FuzzHTTPParser"
    case requestBodies = "FuzzRequestBodies"
    case configDecoder = "FuzzConfigDecoder"

    /// Runs this target's check on one input.
    package func check(_ input: [UInt8]) throws(FuzzViolation) {
        switch self {
        case .httpParser: try HTTPParserCheck.run(input)
        case .requestBodies: try RequestBodiesCheck.run(input)
        case .configDecoder: try ConfigDecoderCheck.run(input)
        }
    }

    /// The body of `LLVMFuzzerTestOneInput`: a violated invariant is a crash.
    package func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        let input = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
        do {
            try check(input)
        } catch {
            fatalError("\(rawValue): \(error.description)")
        }
        return 0
    }
}
