import CSystemd
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
        case .journal: writeJournal(event, merged)
        case .stderr: writeStderr(event, merged)
        }
    }

    private func writeJournal(_ event: LogEvent, _ merged: Logger.Metadata) {
        var fields: [String] = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(event.level.syslogPriority)",
            "SYSLOG_IDENTIFIER=stewardd",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
            "LOGGER=\(label)",
        ]
        for (key, value) in merged {
            let name = JournalField.name(for: key)
            guard !name.isEmpty else { continue }
            fields.append("\(name)=\(value)")
        }
        JournalField.send(fields)
    }

    private func writeStderr(_ event: LogEvent, _ merged: Logger.Metadata) {
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
        var out = ""
        for c in key.uppercased().unicodeScalars {
            if (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" { out.unicodeScalars.append(c) } else { out += "_" }
        }
        while out.hasPrefix("_") { out.removeFirst() }
        if let first = out.first, first.isNumber { out = "F" + out }
        return String(out.prefix(64))
    }

    static func send(_ fields: [String]) {
        var cStrings = fields.map { Array($0.utf8) }
        var iovecs: [iovec] = []
        iovecs.reserveCapacity(cStrings.count)
        for i in cStrings.indices {
            cStrings[i].withUnsafeMutableBytes { raw in
                iovecs.append(iovec(iov_base: raw.baseAddress, iov_len: raw.count))
            }
        }
        // The pointers stay valid: `cStrings` is not mutated again before this call returns.
        _ = cStrings.withUnsafeBufferPointer { _ in
            iovecs.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }

    /// True when journald answers on its socket (sd_journal_sendv drops entries silently otherwise,
    /// and a socket file left by a stopped journald must not swallow our logs).
    static var journaldAvailable: Bool {
        UnixSocketPath.isAnswering("/run/systemd/journal/socket", type: SOCK_DGRAM)
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
