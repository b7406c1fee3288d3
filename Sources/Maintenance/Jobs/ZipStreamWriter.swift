#if canImport(Glibc)
import Glibc
#endif

/// A zip archive written to a file descriptor as it is produced: stored (uncompressed) entries whose
/// bytes are streamed in chunks, so memory stays at one buffer whatever the archive's size.
///
/// The layout is Go's `archive/zip` (what Mattermost's own exports are written with): each local
/// header has flag bit 3 and zero sizes, a data descriptor follows the entry's bytes with its CRC-32
/// and sizes, and the central directory repeats them. Where a size or an offset does not fit in 32
/// bits, the descriptor has 8-byte sizes and the central directory zip64 fields and records, so an
/// export past 4 GiB is a valid archive rather than a trap.
struct ZipStreamWriter {
    private struct Entry {
        var name: [UInt8]
        var offset: UInt64
        var crc: UInt32
        var size: UInt64
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var written: UInt64 = 0
    private var entries: [Entry] = []
    private var current: Entry?
    /// Sizes and offsets from this value up are written as zip64 (lowered by tests only).
    let zip64Threshold: UInt64
    static let bufferSize = 64 * 1024

    init(descriptor: Int32, zip64Threshold: UInt64 = 0xFFFF_FFFF) {
        fd = descriptor
        self.zip64Threshold = zip64Threshold
        buffer.reserveCapacity(Self.bufferSize)
    }

    /// Starts an entry; the previous one must have been ended.
    mutating func begin(_ name: String) throws(JobFailure) {
        precondition(current == nil, "an entry is open")
        let nameBytes = Array(name.utf8)
        current = Entry(name: nameBytes, offset: position, crc: 0, size: 0)
        var h: [UInt8] = []
        le32(0x0403_4B50, &h)
        le16(Self.needsZip64Version, &h)
        le16(Self.flags, &h)
        le16(0, &h)  // stored
        le16(0, &h); le16(0x21, &h)  // time, date: 1980-01-01
        le32(0, &h); le32(0, &h); le32(0, &h)  // crc and sizes follow in the data descriptor
        le16(nameBytes.count, &h); le16(0, &h)
        try append(h + nameBytes)
    }

    /// Appends bytes to the open entry.
    mutating func write(_ bytes: [UInt8]) throws(JobFailure) {
        guard var entry = current else { preconditionFailure("no entry is open") }
        entry.crc = CRC32.update(entry.crc, bytes)
        entry.size += UInt64(bytes.count)
        current = entry
        try append(bytes)
    }

    mutating func endEntry() throws(JobFailure) {
        guard let entry = current else { preconditionFailure("no entry is open") }
        var d: [UInt8] = []
        le32(0x0807_4B50, &d)
        le32(entry.crc, &d)
        if entry.size >= zip64Threshold {
            le64(entry.size, &d); le64(entry.size, &d)
        } else {
            le32(UInt32(entry.size), &d); le32(UInt32(entry.size), &d)
        }
        try append(d)
        entries.append(entry)
        current = nil
    }

    /// Writes the central directory and flushes; the caller fsyncs and closes the descriptor.
    mutating func finish() throws(JobFailure) {
        precondition(current == nil, "an entry is open")
        let centralStart = position
        for e in entries {
            let big = e.size >= zip64Threshold, farOffset = e.offset >= zip64Threshold
            var extra: [UInt8] = []
            if big || farOffset {
                var fields: [UInt8] = []
                if big { le64(e.size, &fields); le64(e.size, &fields) }
                if farOffset { le64(e.offset, &fields) }
                le16(0x0001, &extra); le16(fields.count, &extra)
                extra += fields
            }
            var c: [UInt8] = []
            le32(0x0201_4B50, &c)
            le16(0x0300 | Self.needsZip64Version, &c)  // made by: Unix
            le16(Self.needsZip64Version, &c)
            le16(Self.flags, &c); le16(0, &c); le16(0, &c); le16(0x21, &c)
            le32(e.crc, &c)
            le32(big ? 0xFFFF_FFFF : UInt32(e.size), &c); le32(big ? 0xFFFF_FFFF : UInt32(e.size), &c)
            le16(e.name.count, &c); le16(extra.count, &c); le16(0, &c); le16(0, &c); le16(0, &c)
            le32(0o100600 << 16, &c)
            le32(farOffset ? 0xFFFF_FFFF : UInt32(e.offset), &c)
            try append(c + e.name + extra)
        }
        let centralSize = position - centralStart
        let zip64 = centralStart >= zip64Threshold || centralSize >= zip64Threshold || entries.count >= 0xFFFF
        var end: [UInt8] = []
        if zip64 {
            let recordOffset = position
            le32(0x0606_4B50, &end); le64(44, &end)
            le16(Self.needsZip64Version, &end); le16(Self.needsZip64Version, &end)
            le32(0, &end); le32(0, &end)
            le64(UInt64(entries.count), &end); le64(UInt64(entries.count), &end)
            le64(centralSize, &end); le64(centralStart, &end)
            le32(0x0706_4B50, &end); le32(0, &end); le64(recordOffset, &end); le32(1, &end)
        }
        let count = zip64 ? 0xFFFF : entries.count
        le32(0x0605_4B50, &end); le16(0, &end); le16(0, &end); le16(count, &end); le16(count, &end)
        le32(zip64 ? 0xFFFF_FFFF : UInt32(centralSize), &end)
        le32(zip64 ? 0xFFFF_FFFF : UInt32(centralStart), &end)
        le16(0, &end)
        try append(end)
        try flush()
    }

    /// Version 4.5 (zip64) is what a reader needs for the 8-byte descriptors; 2.0 otherwise would
    /// be enough, but the choice is made before the sizes are known.
    private static let needsZip64Version = 45
    /// Bit 3: sizes in the data descriptor; bit 11: names are UTF-8.
    private static let flags = 0x0808

    private var position: UInt64 { written + UInt64(buffer.count) }

    private mutating func append(_ bytes: [UInt8]) throws(JobFailure) {
        buffer += bytes
        if buffer.count >= Self.bufferSize { try flush() }
    }

    private mutating func flush() throws(JobFailure) {
        var offset = 0
        while offset < buffer.count {
            let n = buffer[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw JobFailure("writing the export failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
        written += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    private func le16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    private func le32(_ v: UInt32, _ a: inout [UInt8]) { for i in 0..<4 { a.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
    private func le64(_ v: UInt64, _ a: inout [UInt8]) { for i in 0..<8 { a.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
}

/// CRC-32 (IEEE), as zip uses, computed incrementally.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC of the bytes so far (`crc`, 0 to start) followed by `bytes`.
    static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            bytes.withUnsafeBufferPointer { b in
                for byte in b { c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
            }
        }
        return ~c
    }
}
