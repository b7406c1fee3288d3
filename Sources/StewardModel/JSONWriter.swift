/// A small JSON writer for the fixed wire shapes whose key order must match Mattermost's
/// byte for byte (Foundation's encoder makes no promise about order).
public struct JSONWriter: Sendable {
    public private(set) var output = ""

    public init() {}

    /// Writes one array: `element` writes each item (an object, a string, a number …).
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        output.append("[")
        var first = true
        for item in items {
            if !first { output.append(",") }
            first = false
            element(&self, item)
        }
        output.append("]")
    }

    public mutating func reserve(_ bytes: Int) { output.reserveCapacity(bytes) }

    public mutating func string(_ s: String) { JSONWriter.appendQuoted(s, to: &output) }
    public mutating func number(_ n: Int64) { output.append(String(n)) }
    /// A value that is already JSON.
    public mutating func raw(_ json: String) { output.append(json) }

    /// An array of strings, written the one way.
    public static func strings<S: Sequence>(_ items: S) -> String where S.Element == String {
        var w = JSONWriter()
        w.array(items) { w, s in w.string(s) }
        return w.output
    }

    /// Writes one object; fields go straight into the output in the order written.
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        var o = ObjectWriter()
        swap(&o.out, &output)
        o.out.append("{")
        body(&o)
        o.out.append("}")
        swap(&o.out, &output)
    }

    public struct ObjectWriter: Sendable {
        fileprivate var out = ""
        fileprivate var first = true

        private mutating func key(_ key: String) {
            if !first { out.append(",") }
            first = false
            JSONWriter.appendQuoted(key, to: &out)
            out.append(":")
        }

        public mutating func field(_ key: String, _ value: String) {
            self.key(key)
            JSONWriter.appendQuoted(value, to: &out)
        }
        public mutating func field(_ key: String, _ value: Int) {
            self.key(key)
            out.append(String(value))
        }
        public mutating func field(_ key: String, _ value: Int64) {
            self.key(key)
            out.append(String(value))
        }
        public mutating func field(_ key: String, _ value: Bool) {
            self.key(key)
            out.append(value ? "true" : "false")
        }
        /// A value that is already JSON (an object or array written elsewhere).
        public mutating func raw(_ key: String, _ json: String) {
            self.key(key)
            out.append(json)
        }
        /// A string, or `null` for nil (Go's `*string`, `interface{}`).
        public mutating func nullable(_ key: String, _ value: String?) {
            if let value { field(key, value) } else { raw(key, "null") }
        }
        /// A nested object.
        public mutating func object(_ key: String, _ body: (inout ObjectWriter) -> Void) {
            self.key(key)
            var w = JSONWriter()
            swap(&w.output, &out)
            w.object(body)
            swap(&w.output, &out)
        }
        /// A nested array.
        public mutating func array<S: Sequence>(_ key: String, _ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
            self.key(key)
            var w = JSONWriter()
            swap(&w.output, &out)
            w.array(items, element)
            swap(&w.output, &out)
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
        let plain = s.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 != 0x3C && $0 != 0x3E && $0 != 0x26 && $0 != 0xE2 }
        if plain {
            out.append("\"")
            out.append(s)
            out.append("\"")
        } else {
            out.append(escaped(s))
        }
    }

    /// `appendQuoted` into bytes (an answer streamed in chunks: a million records without building
    /// a String per record).
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { bytes in
            if bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 != 0x3C && $0 != 0x3E && $0 != 0x26 && $0 != 0xE2 }) {
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
