import CSystemd
import Logging
import StewardModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The daemon-wide log level, changed live by a config reload.
final class SharedLogLevel: Sendable {
    private let level: Mutex<Logger.Level>
    init(_ level: Logger.Level) { self.level = Mutex(level) }
    var value: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

/// A swift-log handler that writes structured journal entries with `sd_journal_sendv`: MESSAGE,
/// PRIORITY, CODE_FILE/LINE/FUNC, SYSLOG_IDENTIFIER, MESSAGE_ID (from the `message_id` metadata key)
/// and every other metadata key as an upper-case field (`peer_uid` → `PEER_UID`).
///
/// Client data only ever travels in its own fields, never interpolated into MESSAGE.
struct JournalLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    let label: String
    let sharedLevel: SharedLogLevel

    var logLevel: Logger.Level {
        get { sharedLevel.value }
        set { sharedLevel.value = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String] = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(event.level.syslogPriority)",
            "SYSLOG_IDENTIFIER=stewardd",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
            "LOGGER=\(label)",
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged {
            let name = JournalField.name(for: key)
            guard !name.isEmpty else { continue }
            fields.append("\(name)=\(value)")
        }
        JournalField.send(fields)
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
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = Array("/run/systemd/journal/socket".utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: path)
            raw[path.count] = 0
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}

/// Fallback without journald: one line per entry on stderr, `key="value"` pairs JSON-quoted so a
/// client-supplied value cannot forge a line.
struct StderrLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    let label: String
    let sharedLevel: SharedLogLevel

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
        var line = "<\(event.level.syslogPriority)>stewardd \(event.level): \(JSONWriter.quote(event.message.description))"
        for key in merged.keys.sorted() {
            line += " \(key)=\(JSONWriter.quote("\(merged[key]!)"))"
        }
        line += "\n"
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
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
