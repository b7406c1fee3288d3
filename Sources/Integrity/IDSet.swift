import CStewardShims
#if canImport(Glibc)
import Glibc
#endif

/// A set of key values for one parent table, built once per check.
///
/// Mattermost ids (26 characters of its base32 alphabet, canonical padding) are stored decoded as
/// 128-bit values in a flat open-addressing table — 16 bytes each instead of a String — and probed
/// straight from SQLite's column bytes without allocating. Any other value goes to a String set, so
/// the answer is exact whatever the keys look like.
///
/// A class over raw buffers: probing it in the hot loop costs no copy-on-write check and no
/// reference counting of its storage. Built by one thread, then only read — by every scanning
/// thread at once (hence `@unchecked Sendable`: nothing mutates it after it is built).
final class IDSet: @unchecked Sendable {
    /// hi, lo pairs; (0, 0) marks an empty slot (the id that decodes to 0 is kept in `hasZero`), so a
    /// probe touches one cache line, not a bitmap as well.
    private var slots: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private(set) var count = 0
    private var hasZero = false
    private var others = Set<String>()

    init(expected: Int = 1024) {
        var capacity = 1024
        // Bounded, so no caller's hint can overflow the arithmetic (the checker clamps it too).
        let expected = min(max(expected, 0), 1 << 40)
        while capacity * 7 < expected * 10 { capacity <<= 1 }
        slots = Self.allocate(capacity)
        mask = capacity - 1
    }

    deinit { free(slots) }

    /// Zeroed slot storage. Large tables ask for transparent huge pages: probes land at random
    /// places, and with 4 KiB pages most of them would also miss the TLB.
    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<UInt64> {
        let bytes = capacity * 16
        let alignment = bytes >= 4 << 20 ? 2 << 20 : 64
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, bytes) == 0, let raw else { fatalError("out of memory for \(capacity) ids") }
        if alignment > 64 { _ = madvise(raw, bytes, 14 /* MADV_HUGEPAGE */) }
        memset(raw, 0, bytes)
        return raw.bindMemory(to: UInt64.self, capacity: capacity * 2)
    }

    var totalCount: Int { count + (hasZero ? 1 : 0) + others.count }

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

    /// Inserts decoded ids, prefetching every slot of the batch before writing any.
    func insertBatch(_ ids: UnsafeBufferPointer<(UInt64, UInt64)>) {
        while (count + ids.count) * 10 > (mask + 1) * 7 { grow() }
        for (hi, lo) in ids { steward_prefetch(slots + 2 * (Self.hash(hi, lo) & mask), 1) }
        for (hi, lo) in ids { insertDecoded(hi, lo) }
    }

    /// Prefetches the slot where a probe for (hi, lo) starts.
    @inline(__always)
    func prefetch(_ hi: UInt64, _ lo: UInt64) {
        steward_prefetch(slots + 2 * (Self.hash(hi, lo) & mask), 0)
    }

    @inline(__always)
    fileprivate static func hash(_ hi: UInt64, _ lo: UInt64) -> Int {
        var h = lo ^ (hi &* 0x9E37_79B9_7F4A_7C15)
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// Small enough (≤ 64 KiB of slots: teams, schemes, commands) to stay in L1/L2 while a table
    /// streams past: probing it at once is cheaper than batching. Bigger sets (users and channels
    /// too) miss the cache on most probes, so those are batched and prefetched (measured: probing
    /// a 512 KiB user set at once spent 79 % of the probe on its first load).
    var fitsInCache: Bool { (mask + 1) * 16 <= 64 << 10 }

    @inline(__always)
    func containsDecoded(_ hi: UInt64, _ lo: UInt64) -> Bool { probe.containsDecoded(hi, lo) }

    /// The finished set as plain values for the scanning threads' hot loop: copying or reading it
    /// touches no reference count. (Several threads retaining one shared object per row made two
    /// threads slower than one: every retain is an atomic write to the same cache line.)
    var probe: Probe { Probe(slots: UnsafePointer(slots), mask: mask, hasZero: hasZero, set: self) }

    struct Probe {
        let slots: UnsafePointer<UInt64>
        let mask: Int
        let hasZero: Bool
        /// For the rare non-canonical key only; the set outlives every probe (the run holds it).
        unowned(unsafe) let set: IDSet

        @inline(__always)
        func containsDecoded(_ hi: UInt64, _ lo: UInt64) -> Bool {
            if hi == 0 && lo == 0 { return hasZero }
            var i = IDSet.hash(hi, lo) & mask
            while true {
                let h = slots[2 * i], l = slots[2 * i + 1]
                if h == hi && l == lo { return true }
                if h == 0 && l == 0 { return false }
                i = (i + 1) & mask
            }
        }

        @inline(__always)
        func prefetch(_ hi: UInt64, _ lo: UInt64) { steward_prefetch(slots + 2 * (IDSet.hash(hi, lo) & mask), 0) }

        func contains(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { set.contains(bytes) }
    }

    private func insertDecoded(_ hi: UInt64, _ lo: UInt64) {
        if hi == 0 && lo == 0 {
            hasZero = true
            return
        }
        if (count + 1) * 10 > (mask + 1) * 7 { grow() }
        var i = Self.hash(hi, lo) & mask
        while true {
            let h = slots[2 * i], l = slots[2 * i + 1]
            if h == hi && l == lo { return }
            if h == 0 && l == 0 { break }
            i = (i + 1) & mask
        }
        slots[2 * i] = hi
        slots[2 * i + 1] = lo
        count += 1
    }

    private func grow() {
        let (old, oldCapacity) = (slots, mask + 1)
        slots = Self.allocate(oldCapacity * 2)
        mask = oldCapacity * 2 - 1
        count = 0
        for i in 0..<oldCapacity where old[2 * i] != 0 || old[2 * i + 1] != 0 {
            insertDecoded(old[2 * i], old[2 * i + 1])
        }
        free(old)
    }
}

/// Mattermost's 26-character ids: base32 (alphabet `ybndrfg8ejkmcpqxot1uwisza345h769`) of 16 bytes.
enum MattermostID {
    private static let alphabet = Array("ybndrfg8ejkmcpqxot1uwisza345h769".utf8)

    /// The canonical id for a decoded value (the inverse of `decode`).
    static func encode(_ hi: UInt64, _ lo: UInt64) -> String {
        let v = UInt128(hi) << 64 | UInt128(lo)
        return String(unsafeUninitializedCapacity: 26) { out in
            // 25 groups of 5 bits from the top, then the last 3 bits followed by two padding zeros.
            for k in 0..<25 { out[k] = alphabet[Int((v >> (123 - 5 * k)) & 31)] }
            out[25] = alphabet[Int((v & 7) << 2)]
            return 26
        }
    }

    /// The 128-bit value of a canonical id, nil for anything else (wrong length, other characters,
    /// non-zero padding bits: those must not collide with a canonical id).
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard bytes.count == 26, let p = bytes.baseAddress else { return nil }
        // Character → 5-bit value, 0xFF outside the alphabet (a C constant: no lazy-global check per call).
        let t = steward_base32_values!
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
