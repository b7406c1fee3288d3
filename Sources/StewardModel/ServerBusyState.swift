#if canImport(Glibc)
import Glibc
#endif

/// Mattermost's `model.ServerBusyState`: `{"busy":bool,"expires":unix seconds,"expires_ts":Go time}`.
public struct ServerBusyState: Sendable, Equatable, Codable {
    /// Go's zero `time.Time` in Unix seconds: what Mattermost reports when not busy.
    public static let zeroTimeUnix: Int64 = -62_135_596_800

    public var busy: Bool
    public var expires: Int64
    public var expiresTS: String

    public init(busy: Bool, expires: Int64, expiresTS: String) {
        self.busy = busy
        self.expires = expires
        self.expiresTS = expiresTS
    }

    /// The state for an expiry instant in Unix seconds; `nil` means not busy.
    public init(expiresAt: Int64?) {
        if let expiresAt {
            self.init(busy: true, expires: expiresAt, expiresTS: GoTime.format(unixSeconds: expiresAt))
        } else {
            self.init(busy: false, expires: Self.zeroTimeUnix, expiresTS: GoTime.format(unixSeconds: Self.zeroTimeUnix))
        }
    }

    enum CodingKeys: String, CodingKey {
        case busy, expires
        case expiresTS = "expires_ts"
    }

    /// `json.Marshal` output: keys in Mattermost's order, no trailing newline.
    public var json: String {
        var w = JSONWriter()
        w.object { o in
            o.field("busy", busy)
            o.field("expires", expires)
            o.field("expires_ts", expiresTS)
        }
        return w.output
    }
}

/// Formats instants with Go's layout `Mon Jan 2 15:04:05 -0700 MST 2006` in UTC, as Mattermost's
/// `expires_ts` does (day not zero-padded, four-digit year).
public enum GoTime {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func format(unixSeconds: Int64) -> String {
        var t = time_t(unixSeconds)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "" }
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = Int(parts.tm_year) + 1900
        var yearText = String(year)
        if year >= 0 && yearText.count < 4 { yearText = String(repeating: "0", count: 4 - yearText.count) + yearText }
        return "\(days[Int(parts.tm_wday)]) \(months[Int(parts.tm_mon)]) \(parts.tm_mday) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000 UTC \(yearText)"
    }
}
