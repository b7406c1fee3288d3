/// JSON text from the store (a post's `Props`), checked and made one line before it goes into an
/// export line: the text is written as it is, minus the whitespace between tokens — a newline in it
/// would end the JSON line early. Text that is not a JSON object (truncated, hand-edited, nested
/// deeper than `maxDepth`) is refused, so one bad row cannot make a line the importer rejects.
enum CompactJSON {
    static let maxDepth = 64

    /// The object `text` holds without insignificant whitespace; nil when it is not one.
    static func object(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var scanner = Scanner(bytes: Array(text.utf8), out: out)
        scanner.skipSpace()
        guard scanner.peek == UInt8(ascii: "{"), scanner.value(depth: 0) else { return nil }
        scanner.skipSpace()
        guard scanner.atEnd else { return nil }
        return scanner.out
    }

    private struct Scanner {
        let bytes: [UInt8]
        var out: [UInt8]
        var i = 0

        init(bytes: [UInt8], out: [UInt8]) {
            self.bytes = bytes
            self.out = out
        }

        var atEnd: Bool { i >= bytes.count }
        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func skipSpace() {
            while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
        }

        mutating func take(_ c: UInt8) -> Bool {
            guard peek == c else { return false }
            out.append(c)
            i += 1
            return true
        }

        mutating func value(depth: Int) -> Bool {
            skipSpace()
            guard let c = peek else { return false }
            switch c {
            case UInt8(ascii: "{"):
                guard depth < CompactJSON.maxDepth else { return false }
                _ = take(c)
                skipSpace()
                if take(UInt8(ascii: "}")) { return true }
                while true {
                    skipSpace()
                    guard peek == UInt8(ascii: "\""), string() else { return false }
                    skipSpace()
                    guard take(UInt8(ascii: ":")), value(depth: depth + 1) else { return false }
                    skipSpace()
                    if take(UInt8(ascii: "}")) { return true }
                    guard take(UInt8(ascii: ",")) else { return false }
                }
            case UInt8(ascii: "["):
                guard depth < CompactJSON.maxDepth else { return false }
                _ = take(c)
                skipSpace()
                if take(UInt8(ascii: "]")) { return true }
                while true {
                    guard value(depth: depth + 1) else { return false }
                    skipSpace()
                    if take(UInt8(ascii: "]")) { return true }
                    guard take(UInt8(ascii: ",")) else { return false }
                }
            case UInt8(ascii: "\""):
                return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default:
                return number()
            }
        }

        mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8), n = w.count
            guard i + n <= bytes.count, bytes[i..<(i + n)].elementsEqual(w) else { return false }
            out.append(contentsOf: bytes[i..<(i + n)])
            i += n
            return true
        }

        mutating func number() -> Bool {
            let start = i
            if peek == UInt8(ascii: "-") { i += 1 }
            guard let first = peek, isDigit(first) else { return false }
            if first == UInt8(ascii: "0") { i += 1 } else { while let c = peek, isDigit(c) { i += 1 } }
            if peek == UInt8(ascii: ".") {
                i += 1
                guard let c = peek, isDigit(c) else { return false }
                while let c = peek, isDigit(c) { i += 1 }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                i += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
                guard let c = peek, isDigit(c) else { return false }
                while let c = peek, isDigit(c) { i += 1 }
            }
            out.append(contentsOf: bytes[start..<i])
            return true
        }

        /// A string literal, copied as it is: escapes checked, no raw control character.
        mutating func string() -> Bool {
            guard take(UInt8(ascii: "\"")) else { return false }
            let start = i
            while let c = peek {
                if c == UInt8(ascii: "\"") {
                    out.append(contentsOf: bytes[start..<i])
                    out.append(c)
                    i += 1
                    return true
                }
                if c < 0x20 { return false }
                if c == UInt8(ascii: "\\") {
                    i += 1
                    guard let e = peek else { return false }
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 1
                    case UInt8(ascii: "u"):
                        guard i + 4 < bytes.count, bytes[(i + 1)...(i + 4)].allSatisfy(isHex) else { return false }
                        i += 5
                    default:
                        return false
                    }
                    continue
                }
                i += 1
            }
            return false
        }

        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) }
    }
}
