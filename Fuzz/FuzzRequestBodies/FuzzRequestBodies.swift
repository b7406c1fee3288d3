import FuzzChecks

#if STEWARD_LIBFUZZER
import CFuzzerDriver
#endif

// libFuzzer's entry for one input. The check is FuzzTarget.requestBodies in FuzzChecks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTarget.requestBodies.fuzzOne(data, size)
}

@main enum Main {
    static func main() {
        #if STEWARD_LIBFUZZER
        // Built by scripts/fuzz (-sanitize=fuzzer,address -D STEWARD_LIBFUZZER): libFuzzer's driver,
        // with libFuzzer's flags and corpus folders on the command line.
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        FuzzReplay.exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
        #else
        // A plain build: a replay tool, `FuzzRequestBodies FILE_OR_FOLDER...`.
        FuzzReplay.main(.requestBodies)
        #endif
    }
}
