#if canImport(Glibc)
import Glibc
#endif

/// Whole-file writes that never leave a partial file: a temporary file in the same directory,
/// fsync, rename over the target, fsync of the directory.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(ConfigStoreError) {
        let dir = PathName.directory(of: path) ?? "."
        let name = PathName.lastComponent(of: path)
        let tmp = "\(dir)/.\(name).tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        try writeDurably(bytes, to: tmp, exclusive: true, mode: mode, reportAs: path)
        guard rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw .unwritable("\(path): \(why)")
        }
        syncDirectory(dir)
    }

    /// Writes `bytes` to `path` (created, or truncated unless `exclusive`) and fsyncs it; on failure
    /// the file is removed and the error names `reportAs`.
    static func writeDurably(_ bytes: [UInt8], to path: String, exclusive: Bool, mode: mode_t, reportAs: String) throws(ConfigStoreError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (exclusive ? O_EXCL : O_TRUNC)
        let fd = open(path, flags, mode)
        guard fd >= 0 else { throw .unwritable("\(reportAs): \(String(cString: strerror(errno)))") }
        var ok = fchmod(fd, mode) == 0
        var offset = 0
        while ok && offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { ok = false } else { offset += n }
        }
        ok = ok && fsync(fd) == 0
        let reason = ok ? "" : String(cString: strerror(errno))
        close(fd)
        guard ok else {
            unlink(path)
            throw .unwritable("\(reportAs): \(reason)")
        }
    }

    /// Makes renames and unlinks in `dir` durable.
    static func syncDirectory(_ dir: String) {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// The file's bytes, nil when it does not exist.
    public static func read(_ path: String) throws(ConfigStoreError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .unreadable("\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable("\(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}
