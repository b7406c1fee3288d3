/// A set of key values for one parent table, built once per check.
///
/// Mattermost ids (26 characters of its base32 alphabet, canonical padding) are stored decoded as
/// 128-bit values in a flat open-addressing table — 16 bytes each instead of a String — and probed
/// straight from SQLite's column bytes without allocating. Any other value goes to a String set, so
/// the answer is exact whatever the keys look like.
///
/// A class over raw buffers: probing it in the hot loop costs no copy-on-write check and no
/// reference counting of its storage.
final class IDSet {
    private var slots: UnsafeMutablePointer<UInt64>      // hi, lo pairs
    private var occupied: UnsafeMutablePointer<UInt64>   // one bit per slot
    private var mask: Int
    private(set) var count = 0
    private var others = Set<String>()

    init(expected: Int = 1024) {
        var capacity = 1024
        while capacity * 7 < expected * 10 { capacity <<= 1 }
        (slots, occupied) = Self.allocate(capacity)
        mask = capacity - 1
    }

    deinit {
        slots.deallocate()
        occupied.deallocate()
    }

    private static func allocate(_ capacity: Int) -> (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>) {
        let s = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity * 2)
        let o = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, capacity / 64))
        o.initialize(repeating: 0, count: max(1, capacity / 64))
        return (s, o)
    }

    var totalCount: Int { count + others.count }

    func insert(_ bytes: UnsafeBufferPointer<UInt8>) {
        if let (hi, lo) = MattermostID.decode(bytes) {
            insertDecoded(hi, lo)
        } else {
            others.insert(String(decoding: bytes, as: UTF8.self))
        }
    }

    @inline(__always)
    func contains(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if let (hi, lo) = MattermostID.decode(bytes) { return containsDecoded(hi, lo) }
        return !others.isEmpty && others.contains(String(decoding: bytes, as: UTF8.self))
    }

    @inline(__always)
    private static func hash(_ hi: UInt64, _ lo: UInt64) -> Int {
        var h = lo ^ (hi &* 0x9E37_79B9_7F4A_7C15)
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    @inline(__always)
    private func isOccupied(_ i: Int) -> Bool { occupied[i >> 6] & (1 << UInt64(i & 63)) != 0 }

    @inline(__always)
    private func containsDecoded(_ hi: UInt64, _ lo: UInt64) -> Bool {
        var i = Self.hash(hi, lo) & mask
        while isOccupied(i) {
            if slots[2 * i] == hi && slots[2 * i + 1] == lo { return true }
            i = (i + 1) & mask
        }
        return false
    }

    private func insertDecoded(_ hi: UInt64, _ lo: UInt64) {
        if (count + 1) * 10 > (mask + 1) * 7 { grow() }
        var i = Self.hash(hi, lo) & mask
        while isOccupied(i) {
            if slots[2 * i] == hi && slots[2 * i + 1] == lo { return }
            i = (i + 1) & mask
        }
        slots[2 * i] = hi
        slots[2 * i + 1] = lo
        occupied[i >> 6] |= 1 << UInt64(i & 63)
        count += 1
    }

    private func grow() {
        let (oldSlots, oldOccupied, oldCapacity) = (slots, occupied, mask + 1)
        (slots, occupied) = Self.allocate(oldCapacity * 2)
        mask = oldCapacity * 2 - 1
        count = 0
        for i in 0..<oldCapacity where oldOccupied[i >> 6] & (1 << UInt64(i & 63)) != 0 {
            insertDecoded(oldSlots[2 * i], oldSlots[2 * i + 1])
        }
        oldSlots.deallocate()
        oldOccupied.deallocate()
    }
}

/// Mattermost's 26-character ids: base32 (alphabet `ybndrfg8ejkmcpqxot1uwisza345h769`) of 16 bytes.
enum MattermostID {
    /// Character → 5-bit value, 0xFF for characters outside the alphabet. Never freed.
    nonisolated(unsafe) private static let table: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        t.initialize(repeating: 0xFF, count: 256)
        for (i, c) in "ybndrfg8ejkmcpqxot1uwisza345h769".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return UnsafePointer(t)
    }()

    /// The 128-bit value of a canonical id, nil for anything else (wrong length, other characters,
    /// non-zero padding bits: those must not collide with a canonical id).
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard bytes.count == 26, let p = bytes.baseAddress else { return nil }
        let t = table
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        var bad: UInt8 = 0
        for k in 0..<25 {
            let v = t[Int(p[k])]
            bad |= v
            hi = (hi << 5) | (lo >> 59)
            lo = (lo << 5) | UInt64(v & 31)
        }
        let last = t[Int(p[25])]
        // Any 0xFF lookup sets the high bits of `bad`; valid values never do.
        if bad & 0xE0 != 0 || last == 0xFF || last & 3 != 0 { return nil }
        hi = (hi << 3) | (lo >> 61)
        lo = (lo << 3) | UInt64(last >> 2)
        return (hi, lo)
    }
}
