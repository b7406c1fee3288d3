import StewardModel

/// Text from the daemon made safe to print. Job data, log lines, error messages and file names are
/// whatever a job's creator (or a compromised daemon) put there; written raw, an ESC or CSI sequence
/// could recolour the terminal, move the cursor, set its title or answer back on its input, and a
/// newline or CR could forge a line that looks like ours. Everything stewardctl prints that came
/// from the daemon goes through `escape`: always, not only on a terminal, since a file or a pipe
/// ends up on one soon enough.
enum TerminalText {
    /// Writes every C0 control (U+0000–U+001F), DEL and C1 control (U+0080–U+009F) as an escape —
    /// `\n`, `\r`, `\t`, `\x1b`, `\x7f`, `\u{9b}` — except newline and tab when `keepingLines` is set
    /// (text made of several lines we composed ourselves, each field already escaped).
    /// Backslashes are left alone: the result is for reading, not for parsing back.
    static func escape(_ text: String, keepingLines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, keepingLines) }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar, keepingLines) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                out += scalar.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u{" + hex + "}"
            }
        }
        return out
    }

    /// One field that must stay on one line (a job data value, an id, a file name, a message).
    static func field(_ text: String) -> String { escape(text) }

    /// JSON for `--json` and `config show`: the daemon's JSON escapes C0 controls inside strings,
    /// but DEL and the C1 controls are legal raw in JSON strings, and CR is legal whitespace. In
    /// valid JSON those can only be inside strings (DEL, C1: written as `\u00XX`) or whitespace
    /// (CR: dropped), so the document stays valid and means the same. Text that is not valid JSON
    /// is printed as text, through `escape`.
    static func json(_ text: String) -> String {
        guard JSONSyntax.isValid(Array(text.utf8)) else { return escape(text, keepingLines: true) }
        guard text.unicodeScalars.contains(where: { $0 == "\r" || isRawInJSON($0) }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars where scalar != "\r" {
            if isRawInJSON(scalar) {
                out += "\\u00" + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func needsEscape(_ s: Unicode.Scalar, _ keepingLines: Bool) -> Bool {
        if keepingLines && (s == "\n" || s == "\t") { return false }
        return s.value < 0x20 || (0x7F...0x9F).contains(s.value)
    }

    private static func isRawInJSON(_ s: Unicode.Scalar) -> Bool { (0x7F...0x9F).contains(s.value) }
}
