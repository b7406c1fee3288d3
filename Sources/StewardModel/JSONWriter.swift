/// A small JSON writer for the fixed wire shapes whose key order must match Mattermost's
/// byte for byte (Foundation's encoder makes no promise about order).
///
/// It writes bytes, not a String: appending many short pieces to a Swift String costs a
/// capacity, flag and ASCII check per piece (a third of a 60-job list's CPU), one array append
/// does not. `output` decodes the bytes once at the end.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    /// What was written.
    public var output: String { String(decoding: bytes, as: UTF8.self) }

    public init() {}

    /// Writes one array: `element` writes each item (an object, a string, a number …).
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }

    public mutating func string(_ s: String) { JSONWriter.appendQuoted(s, to: &bytes) }
    public mutating func number(_ n: Int64) { JSONWriter.appendNumber(n, to: &bytes) }
    /// A value that is already JSON.
    public mutating func raw(_ json: String) { bytes.append(contentsOf: json.utf8) }

    /// An array of strings, written the one way.
    public static func strings<S: Sequence>(_ items: S) -> String where S.Element == String {
        var w = JSONWriter()
        w.array(items) { w, s in w.string(s) }
        return w.output
    }

    /// Writes one object; fields go straight into the output in the order written.
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        var o = ObjectWriter()
        swap(&o.out, &bytes)
        o.out.append(UInt8(ascii: "{"))
        body(&o)
        o.out.append(UInt8(ascii: "}"))
        swap(&o.out, &bytes)
    }

    public struct ObjectWriter: Sendable {
        fileprivate var out: [UInt8] = []
        fileprivate var first = true

        private mutating func key(_ key: String) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONWriter.appendQuoted(key, to: &out)
            out.append(UInt8(ascii: ":"))
        }

        public mutating func field(_ key: String, _ value: String) {
            self.key(key)
            JSONWriter.appendQuoted(value, to: &out)
        }
        public mutating func field(_ key: String, _ value: Int) {
            self.key(key)
            JSONWriter.appendNumber(Int64(value), to: &out)
        }
        public mutating func field(_ key: String, _ value: Int64) {
            self.key(key)
            JSONWriter.appendNumber(value, to: &out)
        }
        public mutating func field(_ key: String, _ value: Bool) {
            self.key(key)
            out.append(contentsOf: (value ? "true" : "false").utf8)
        }
        /// A value that is already JSON (an object or array written elsewhere).
        public mutating func raw(_ key: String, _ json: String) {
            self.key(key)
            out.append(contentsOf: json.utf8)
        }
        /// Bytes that are already JSON.
        public mutating func raw(_ key: String, bytes: [UInt8]) {
            self.key(key)
            out.append(contentsOf: bytes)
        }
        /// A string, or `null` for nil (Go's `*string`, `interface{}`).
        public mutating func nullable(_ key: String, _ value: String?) {
            if let value { field(key, value) } else { raw(key, "null") }
        }
        /// A nested object.
        public mutating func object(_ key: String, _ body: (inout ObjectWriter) -> Void) {
            self.key(key)
            var w = JSONWriter()
            swap(&w.bytes, &out)
            w.object(body)
            swap(&w.bytes, &out)
        }
        /// A nested array.
        public mutating func array<S: Sequence>(_ key: String, _ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
            self.key(key)
            var w = JSONWriter()
            swap(&w.bytes, &out)
            w.array(items, element)
            swap(&w.bytes, &out)
        }
    }

    /// Decimal digits of `n`, as `String(n)` writes them, without making the String.
    static func appendNumber(_ n: Int64, to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        var m = n.magnitude
        if m == 0 { return out.append(UInt8(ascii: "0")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            while m > 0 {
                buf[23 - count] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                count += 1
            }
            out.append(contentsOf: buf[(24 - count)...])
        }
    }

    public static func quote(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    /// Appends `s` as a JSON string literal. Most strings (ids, types, numbers as text) need no
    /// escape: one scan of their bytes, then one append.
    public static func appendQuoted(_ s: String, to out: inout String) {
        // 0xE2 starts U+2028 and U+2029 (escaped below): such strings take the careful path.
        let plain = s.utf8.withContiguousStorageIfAvailable { isPlain($0) } ?? isPlain(Array(s.utf8))
        if plain {
            out.append("\"")
            out.append(s)
            out.append("\"")
        } else {
            out.append(escaped(s))
        }
    }

    /// No byte needs an escape.
    @inline(__always)
    static func isPlain(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 != 0x3C && $0 != 0x3E && $0 != 0x26 && $0 != 0xE2 }
    }

    /// `appendQuoted` into bytes (an answer streamed in chunks: a million records without building
    /// a String per record).
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { bytes in
            if isPlain(bytes) {
                out.append(0x22)
                out.append(contentsOf: bytes)
                out.append(0x22)
            } else {
                out.append(contentsOf: escaped(String(decoding: bytes, as: UTF8.self)).utf8)
            }
        }
    }

    /// JSON string literal with the escapes RFC 8259 requires (and `<`, `>`, `&` as Go does).
    static func escaped(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }
}
