import CSystemd

/// One journal entry's fields (`NAME=value`), laid end to end in one buffer: two allocations per
/// entry, not two per field. Sent as a native-protocol datagram by `JournalWriter`, or alone with
/// `sd_journal_sendv`, one iovec per field.
public struct JournalEntry: Sendable {
    private var bytes: [UInt8] = []
    private var ends: [Int] = []

    public init() {
        bytes.reserveCapacity(512)
        ends.reserveCapacity(16)
    }

    /// Adds `name=value`; a field without a name (a key with no usable character) is left out.
    public mutating func append(_ name: String, _ value: String) {
        guard !name.isEmpty else { return }
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: "="))
        bytes.append(contentsOf: value.utf8)
        ends.append(bytes.count)
    }

    /// Appends the entry as journald's native protocol has it: `NAME=value\n` per field, or for a
    /// value holding a newline `NAME\n`, its length as 64-bit little-endian, the value and `\n`.
    func appendDatagram(to out: inout [UInt8]) {
        var start = 0
        for end in ends {
            let field = bytes[start..<end]
            let equals = field.firstIndex(of: UInt8(ascii: "="))!
            let value = field[(equals + 1)...]
            if value.contains(UInt8(ascii: "\n")) {
                out.append(contentsOf: field[..<equals])
                out.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(value.count).littleEndian) { out.append(contentsOf: $0) }
                out.append(contentsOf: value)
            } else {
                out.append(contentsOf: field)
            }
            out.append(UInt8(ascii: "\n"))
            start = end
        }
    }

    /// Sends this entry at once with `sd_journal_sendv` (which passes a large one in a memfd).
    public func sendAlone() {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var iovecs: [iovec] = []
            iovecs.reserveCapacity(ends.count)
            var start = 0
            for end in ends {
                iovecs.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base + start), iov_len: end - start))
                start = end
            }
            _ = iovecs.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
