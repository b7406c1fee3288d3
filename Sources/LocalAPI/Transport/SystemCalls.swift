#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers where a Glibc name clashes with a method name in scope.
enum SystemCalls {
    static func close(_ fd: Int32) -> Int32 { Glibc.close(fd) }
}
