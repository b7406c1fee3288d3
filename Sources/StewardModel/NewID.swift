#if canImport(Glibc)
import Glibc
#endif
import CStewardShims

/// Mattermost-style 26-character ids: 16 random bytes in base32 with Mattermost's alphabet.
public enum NewID {
    private static let alphabet = Array("ybndrfg8ejkmcpqxot1uwisza345h769".utf8)
    private static let pool = Locked(RandomPool())

    /// Random bytes from getrandom(2), fetched 4 KiB at a time rather than one syscall per id.
    private struct RandomPool: ~Copyable {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var offset = 4096

        mutating func take16() -> (UInt64, UInt64) {
            if offset + 16 > bytes.count {
                var filled = 0
                while filled < bytes.count {
                    let n = bytes.withUnsafeMutableBytes { getrandom($0.baseAddress! + filled, $0.count - filled, 0) }
                    if n > 0 { filled += n }
                }
                offset = 0
            }
            defer { offset += 16 }
            return bytes.withUnsafeBytes {
                ($0.loadUnaligned(fromByteOffset: offset, as: UInt64.self), $0.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            }
        }
    }

    public static func make() -> String {
        let words = pool.withLock { $0.take16() }
        return withUnsafeBytes(of: words) { encode($0) }
    }

    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: 26) { out in
            var buffer: UInt32 = 0
            var bits = 0
            var n = 0
            for b in bytes {
                buffer = (buffer << 8) | UInt32(b)
                bits += 8
                while bits >= 5 {
                    out[n] = alphabet[Int((buffer >> UInt32(bits - 5)) & 31)]
                    n += 1
                    bits -= 5
                }
            }
            if bits > 0 {
                out[n] = alphabet[Int((buffer << UInt32(5 - bits)) & 31)]
                n += 1
            }
            return n
        }
    }

    /// Exactly 26 ASCII letters or digits, as Mattermost's `IsValidId` requires.
    public static func isValid(_ id: String) -> Bool {
        id.utf8.count == 26 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }
}
