import Journal
import LocalAPI
import Logging
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// The daemon-wide log level, changed live by a config reload.
final class SharedLogLevel: Sendable {
    private let level: Locked<Logger.Level>
    init(_ level: Logger.Level) { self.level = Locked(level) }
    var value: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

/// The daemon's swift-log handler. With journald it writes structured journal entries with
/// `sd_journal_sendv`: MESSAGE, PRIORITY, CODE_FILE/LINE/FUNC, SYSLOG_IDENTIFIER, MESSAGE_ID (from the
/// `message_id` metadata key) and every other metadata key as an upper-case field (`peer_uid` →
/// `PEER_UID`). Without journald it writes one line per entry on stderr, `key="value"` pairs
/// JSON-quoted so a client-supplied value cannot forge a line.
///
/// Client data only ever travels in its own fields, never interpolated into MESSAGE.
struct StewardLogHandler: LogHandler {
    enum Sink: Sendable { case journal, stderr }

    var metadata: Logger.Metadata = [:]
    let label: String
    let sharedLevel: SharedLogLevel
    let sink: Sink

    init(label: String, sharedLevel: SharedLogLevel, sink: Sink) {
        self.label = label
        self.sharedLevel = sharedLevel
        self.sink = sink
    }

    var logLevel: Logger.Level {
        get { sharedLevel.value }
        set { sharedLevel.value = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        switch sink {
        case .journal: Self.writeJournal(event, merged, label: label)
        case .stderr: Self.writeStderr(event, merged)
        }
    }

    private static func writeJournal(_ event: LogEvent, _ merged: Logger.Metadata, label: String) {
        var entry = JournalEntry()
        entry.append("MESSAGE", event.message.description)
        entry.append("PRIORITY", String(event.level.syslogPriority))
        entry.append("SYSLOG_IDENTIFIER", "stewardd")
        entry.append("CODE_FILE", event.file)
        entry.append("CODE_LINE", String(event.line))
        entry.append("CODE_FUNC", event.function)
        entry.append("LOGGER", label)
        for (key, value) in merged {
            entry.append(JournalField.name(for: key), value.description)
        }
        JournalWriter.shared.write(entry, urgent: event.level >= .error)
    }

    private static func writeStderr(_ event: LogEvent, _ merged: Logger.Metadata) {
        var line = "<\(event.level.syslogPriority)>stewardd \(event.level): \(JSONWriter.quote(event.message.description))"
        for key in merged.keys.sorted() {
            line += " \(key)=\(JSONWriter.quote("\(merged[key]!)"))"
        }
        line += "\n"
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

enum JournalField {
    /// Journal field names are upper-case letters, digits and underscores, not starting with `_`.
    static func name(for key: String) -> String {
        // The common case, a key such as `peer_uid`: upper-cased byte by byte.
        let utf8 = key.utf8
        if let first = utf8.first, utf8.count <= 64, first != UInt8(ascii: "_"), !isDigit(first),
           utf8.allSatisfy({ isLower($0) || isUpper($0) || isDigit($0) || $0 == UInt8(ascii: "_") }) {
            return String(decoding: utf8.map { isLower($0) ? $0 - 32 : $0 }, as: UTF8.self)
        }
        var out = ""
        for c in key.uppercased().unicodeScalars {
            if (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" { out.unicodeScalars.append(c) } else { out += "_" }
        }
        while out.hasPrefix("_") { out.removeFirst() }
        if let first = out.first, first.isNumber { out = "F" + out }
        return String(out.prefix(64))
    }

    private static func isLower(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }
    private static func isUpper(_ b: UInt8) -> Bool { b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") }
    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// True when journald answers on its socket (sd_journal_sendv drops entries silently otherwise,
    /// and a socket file left by a stopped journald must not swallow our logs).
    static var journaldAvailable: Bool {
        UnixSocketPath.isAnswering(JournalWriter.journaldPath, type: SOCK_DGRAM)
    }
}

extension Logger.Level {
    var syslogPriority: Int {
        switch self {
        case .critical: return 2
        case .error: return 3
        case .warning: return 4
        case .notice: return 5
        case .info: return 6
        case .debug, .trace: return 7
        }
    }

    init?(configName: String) {
        switch configName {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning": self = .warning
        case "error": self = .error
        case "critical": self = .critical
        default: return nil
        }
    }
}
