import StewardModel

/// The configuration in force, shared by the services; a reload replaces it.
public final class RuntimeSettings: Sendable {
    private let config: Locked<StewardConfig>

    public init(_ config: StewardConfig) { self.config = Locked(config) }

    public var current: StewardConfig { config.withLock { $0 } }

    public func replace(with next: StewardConfig) { config.withLock { $0 = next } }
}
