/// A schedule window: "at most one job of this type and data per `period`". Windows are aligned to
/// the Unix epoch (River's `UniqueOpts.ByPeriod`): a 24 h window runs from 00:00 to 24:00 UTC, so
/// timers of several nodes firing minutes apart — `RandomizedDelaySec` included — land in one
/// window however far each drifts, as long as they fire away from the window's edge.
public struct ScheduleWindow: Sendable, Equatable {
    /// The shortest and the longest period accepted: below a minute a timer is a loop, above a
    /// year a typo.
    public static let periods: ClosedRange<Int64> = 60...(366 * 86_400)

    public let periodSeconds: Int64
    public let startMilliseconds: Int64

    public var endMilliseconds: Int64 { startMilliseconds + periodSeconds * 1000 }

    public init(periodSeconds: Int64, now milliseconds: Int64) {
        self.periodSeconds = periodSeconds
        let period = periodSeconds * 1000
        self.startMilliseconds = milliseconds - ((milliseconds % period) + period) % period
    }

    /// `86400`, `90s`, `30m`, `24h`, `7d`: a whole number of seconds, minutes, hours or days within
    /// `periods`; nil for anything else.
    public static func parsePeriod(_ text: String) -> Int64? {
        guard text.count <= 12, let last = text.last else { return nil }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let unit = units[last] ?? 1
        let digits = units[last] == nil ? Substring(text) : text.dropLast()
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits) else { return nil }
        let (seconds, overflow) = n.multipliedReportingOverflow(by: unit)
        return !overflow && periods.contains(seconds) ? seconds : nil
    }
}
