#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
#if STEWARD_LIBFUZZER
import CFuzzerDriver
#endif

/// Each fuzz target's `main`: built by scripts/fuzz (-sanitize=fuzzer,address -D STEWARD_LIBFUZZER)
/// it runs libFuzzer's driver with libFuzzer's flags and corpus folders from the command line,
/// calling `entry` (the target's `LLVMFuzzerTestOneInput`); a plain build is a replay tool,
/// `TARGET FILE_OR_FOLDER...`.
package func fuzzTargetMain(
    _ target: FuzzTarget, entry: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Never {
    #if STEWARD_LIBFUZZER
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    FuzzReplay.exit(LLVMFuzzerRunDriver(&argc, &argv, entry))
    #else
    FuzzReplay.main(target)
    #endif
}

/// The `main` of a fuzz target built without libFuzzer: runs the check over every file named on
/// the command line (a folder means the files in it), prints each violation, exits 1 if any.
package enum FuzzReplay {
    package static func main(_ target: FuzzTarget, arguments: [String] = CommandLine.arguments) -> Never {
        let paths = arguments.dropFirst()
        if paths.isEmpty {
            print("usage: \(target.rawValue) FILE_OR_FOLDER... (replays inputs through the \(target.rawValue) check)")
            exit(2)
        }
        var failed = 0
        var count = 0
        for path in paths {
            for file in files(at: path) {
                count += 1
                guard let data = FileManager.default.contents(atPath: file) else {
                    print("\(file): unreadable")
                    failed += 1
                    continue
                }
                do {
                    try target.check(Array(data))
                } catch {
                    print("\(file): \(error.description)")
                    failed += 1
                }
            }
        }
        print("\(target.rawValue): \(count) inputs, \(failed) violations")
        exit(failed == 0 ? 0 : 1)
    }

    package static func exit(_ status: Int32) -> Never { Glibc.exit(status) }

    /// `path` itself, or the regular files directly inside it (sorted), if it is a folder.
    package static func files(at path: String) -> [String] {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [path] }
        guard isDirectory else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
    }
}
