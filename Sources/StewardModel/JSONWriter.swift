/// A small JSON writer for the fixed wire shapes whose key order must match Mattermost's
/// byte for byte (Foundation's encoder makes no promise about order).
public struct JSONWriter: Sendable {
    public private(set) var output = ""

    public init() {}

    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        var o = ObjectWriter()
        body(&o)
        output += "{" + o.parts.joined(separator: ",") + "}"
    }

    public struct ObjectWriter: Sendable {
        fileprivate var parts: [String] = []

        public mutating func field(_ key: String, _ value: String) {
            parts.append(JSONWriter.quote(key) + ":" + JSONWriter.quote(value))
        }
        public mutating func field(_ key: String, _ value: Int) {
            parts.append(JSONWriter.quote(key) + ":" + String(value))
        }
        public mutating func field(_ key: String, _ value: Int64) {
            parts.append(JSONWriter.quote(key) + ":" + String(value))
        }
        public mutating func field(_ key: String, _ value: Bool) {
            parts.append(JSONWriter.quote(key) + ":" + (value ? "true" : "false"))
        }
        /// A value that is already JSON (an object or array written elsewhere).
        public mutating func raw(_ key: String, _ json: String) {
            parts.append(JSONWriter.quote(key) + ":" + json)
        }
    }

    /// JSON string literal with the escapes RFC 8259 requires (and `<`, `>`, `&` as Go does).
    public static func quote(_ s: String) -> String {
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
