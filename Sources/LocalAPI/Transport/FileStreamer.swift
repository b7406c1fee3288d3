import Dispatch
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file to a connection in chunks, each read on a Dispatch thread (disk reads may block)
/// and written before the next is read, so memory stays at one chunk whatever the file's size.
enum FileStreamer {
    static let chunkSize = 256 * 1024

    /// True when the whole file was written.
    static func stream(_ file: ResponseFile, to connection: Connection) async -> Bool {
        let fd = file.file.descriptor
        var sent: Int64 = 0
        while sent < file.size {
            let want = Int(min(Int64(chunkSize), file.size - sent))
            let at = file.offset + sent
            let chunk: [UInt8]? = await withCheckedContinuation { cont in
                BlockingPool.shared.submit {
                    var bytes = [UInt8](repeating: 0, count: want)
                    let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(at)) }
                    cont.resume(returning: n > 0 ? Array(bytes[0..<n]) : nil)
                }
            }
            // A file that shrank since it was opened ends the answer early (the connection closes).
            guard let chunk, await connection.writeAndWait(chunk) else { return false }
            sent += Int64(chunk.count)
        }
        return true
    }
}
