/// A reader for the one JSON shape job data has: an object whose values are all strings
/// (Mattermost's `StringMap`). Job lists decode one per row, and Foundation's `JSONDecoder` cost
/// about 40 µs each — most of a list's time. Anything else (another value type, a syntax error)
/// answers nil, and the caller decides.
public enum JSONStringMap {
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> [String: String]? {
        var p = Parser(bytes: bytes)
        return p.object()
    }

    public static func parse(_ text: String) -> [String: String]? {
        var copy = text
        return copy.withUTF8 { parse($0) }
    }

    /// A member of a top-level object read by `fields`.
    public enum Field: Equatable, Sendable {
        case string(String)
        case map([String: String])
        case null
        /// A number or a boolean: skipped, only its presence is known.
        case scalar
    }

    /// The members of a top-level object whose values are strings, numbers, booleans, null or flat
    /// string maps (a request body such as `model.Job`); nil for anything else (a nested array or
    /// deeper object, a syntax error), and the caller falls back to a general decoder. A repeated
    /// key keeps its first value.
    public static func fields(_ bytes: UnsafeBufferPointer<UInt8>) -> [String: Field]? {
        var p = Parser(bytes: bytes)
        guard p.expect(UInt8(ascii: "{")) else { return nil }
        var out: [String: Field] = [:]
        p.skipSpace()
        if p.i < bytes.count, bytes[p.i] == UInt8(ascii: "}") {
            p.i += 1
            return p.atEnd() ? out : nil
        }
        while true {
            guard let key = p.string(), p.expect(UInt8(ascii: ":")), let value = p.field() else { return nil }
            if out[key] == nil { out[key] = value }
            if p.expect(UInt8(ascii: ",")) { continue }
            guard p.expect(UInt8(ascii: "}")) else { return nil }
            return p.atEnd() ? out : nil
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func expect(_ c: UInt8) -> Bool {
            skipSpace()
            guard i < bytes.count, bytes[i] == c else { return false }
            i += 1
            return true
        }

        mutating func object(toEnd: Bool = true) -> [String: String]? {
            guard expect(UInt8(ascii: "{")) else { return nil }
            var out: [String: String] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
                return !toEnd || atEnd() ? out : nil
            }
            while true {
                guard let key = string(), expect(UInt8(ascii: ":")), let value = string() else { return nil }
                // A repeated key keeps its first value, as Foundation's decoder (used before) does.
                if out[key] == nil { out[key] = value }
                if expect(UInt8(ascii: ",")) { continue }
                guard expect(UInt8(ascii: "}")) else { return nil }
                return !toEnd || atEnd() ? out : nil
            }
        }

        /// One member value for `fields`.
        mutating func field() -> Field? {
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "\""): return string().map(Field.string)
            case UInt8(ascii: "{"): return object(toEnd: false).map(Field.map)
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "t"): return literal("true") ? .scalar : nil
            case UInt8(ascii: "f"): return literal("false") ? .scalar : nil
            case UInt8(ascii: "-"), 0x30...0x39: return number() ? .scalar : nil
            default: return nil
            }
        }

        mutating func literal(_ word: StaticString) -> Bool { JSONGrammar.literal(word, bytes, at: &i) }

        mutating func number() -> Bool { JSONGrammar.number(bytes, at: &i) }

        mutating func atEnd() -> Bool {
            skipSpace()
            return i == bytes.count
        }

        /// A string literal; the common case (no escapes) is one copy of the bytes.
        mutating func string() -> String? {
            guard expect(UInt8(ascii: "\"")) else { return nil }
            let start = i
            while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") {
                if bytes[i] < 0x20 { return nil }
                i += 1
            }
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self).unicodeScalars)
            var run = i
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<i]), as: UTF8.self).unicodeScalars)
                    i += 1
                    return String(scalars)
                }
                if c < 0x20 { return nil }
                guard c == UInt8(ascii: "\\") else { i += 1; continue }
                scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<i]), as: UTF8.self).unicodeScalars)
                i += 1
                guard i < bytes.count else { return nil }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    guard let unit = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(unit) {
                        // A high surrogate must be followed by a low one.
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { return nil }
                        i += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low),
                              let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)) else { return nil }
                        scalars.append(scalar)
                    } else {
                        guard let scalar = Unicode.Scalar(unit) else { return nil }  // a lone low surrogate
                        scalars.append(scalar)
                    }
                default: return nil
                }
                run = i
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x41 + 10
                case 0x61...0x66: d = c - 0x61 + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }
    }
}

/// Whether bytes are well-formed UTF-8 (no overlong forms, no surrogates), without building a String.
public enum UTF8Check {
    public static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var decoder = UTF8()
        var input = bytes.makeIterator()
        while true {
            switch decoder.decode(&input) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
