import FuzzChecks

// libFuzzer's entry for one input. The check is FuzzTarget.configDecoder in FuzzChecks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTarget.configDecoder.fuzzOne(data, size)
}

@main enum Main {
    static func main() { fuzzTargetMain(.configDecoder, entry: fuzzOne) }
}
