import FuzzChecks

// libFuzzer's entry for one input. The check is FuzzTarget.requestBodies in FuzzChecks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTarget.requestBodies.fuzzOne(data, size)
}

@main enum Main {
    static func main() { fuzzTargetMain(.requestBodies, entry: fuzzOne) }
}
