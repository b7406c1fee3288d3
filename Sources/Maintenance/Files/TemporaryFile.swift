#if canImport(Glibc)
import Glibc
#endif

/// A file with no name (`O_TMPFILE`, or created and unlinked at once where the file system has no
/// `O_TMPFILE`) in `$TMPDIR`, `/var/tmp` or `/tmp`: a large answer is written here and streamed, and
/// a crash leaves nothing behind. Owner-only (0600).
public final class TemporaryFile {
    private var descriptor: Int32
    public private(set) var size: Int64 = 0

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Linux's `O_TMPFILE` (`__O_TMPFILE | O_DIRECTORY`, the same on every architecture Swift runs
    /// on); Glibc's module does not export the macro.
    static let oTmpfile: Int32 = 0o20_200_000

    public init() throws(Failure) {
        var last: Int32 = 0
        for dir in Self.directories() {
            let fd = open(dir, Self.oTmpfile | O_RDWR | O_CLOEXEC, 0o600)
            if fd >= 0 { descriptor = fd; return }
            last = errno
            // No O_TMPFILE on this file system: a name, removed before anything is written.
            var template = Array("\(dir)/steward-XXXXXX".utf8CString)
            let named = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if named >= 0 {
                _ = fcntl(named, F_SETFD, FD_CLOEXEC)
                _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
                descriptor = named
                return
            }
            last = errno
        }
        throw Failure(description: "cannot create a temporary file: \(String(cString: strerror(last)))")
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    static func directories() -> [String] {
        var dirs: [String] = []
        if let raw = getenv("TMPDIR"), case let t = String(cString: raw), t.hasPrefix("/") { dirs.append(t) }
        return dirs + ["/var/tmp", "/tmp"]
    }

    /// Appends bytes.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "cannot write a temporary file: \(String(cString: strerror(errno)))") }
            offset += n
            size += Int64(n)
        }
    }

    /// The file, for reading from the start; the descriptor now belongs to the `OpenFile`.
    public func opened() -> OpenFile {
        let file = OpenFile(descriptor: descriptor, size: size)
        descriptor = -1
        return file
    }
}
