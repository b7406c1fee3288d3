import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the built binaries are. `scripts/test` builds them before `swift test`; STEWARD_BIN_DIR
/// overrides (e.g. a release build).
enum Paths {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binDir: String {
        if let dir = ProcessInfo.processInfo.environment["STEWARD_BIN_DIR"] { return dir }
        return packageRoot.appendingPathComponent(".build/debug").path
    }

    static var stewardd: String { binDir + "/stewardd" }
    static var stewardctl: String { binDir + "/stewardctl" }

    static var isRoot: Bool { getuid() == 0 }

    /// A fresh directory that other users may traverse (0755), removed by the caller.
    static func makeTempDir(_ label: String) -> String {
        var template = Array("/tmp/steward-e2e-\(label)-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(path, 0o755)
        return path
    }

    static func tool(_ name: String) -> String? {
        for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/lib/systemd"] {
            let p = dir + "/" + name
            if access(p, X_OK) == 0 { return p }
        }
        return nil
    }
}
