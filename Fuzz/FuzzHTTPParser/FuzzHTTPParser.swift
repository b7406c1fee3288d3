import FuzzChecks

// libFuzzer's entry for one input. The check is FuzzTarget.httpParser in FuzzChecks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTarget.httpParser.fuzzOne(data, size)
}

@main enum Main {
    static func main() { fuzzTargetMain(.httpParser, entry: fuzzOne) }
}
