#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock milliseconds since the epoch; injectable so domain logic is testable without sleeping.
public struct WallClock: Sendable {
    public var nowMilliseconds: @Sendable () -> Int64

    public init(nowMilliseconds: @escaping @Sendable () -> Int64) {
        self.nowMilliseconds = nowMilliseconds
    }

    public static let system = WallClock {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
