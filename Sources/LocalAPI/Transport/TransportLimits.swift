import NIOCore
import StewardModel

/// The abuse limits (docs/security.md), taken from `ServiceSettings` when a connection is accepted.
public struct TransportLimits: Sendable {
    public var maxHeaderBytes: Int
    public var maxBodyBytes: Int
    public var maxURLLength: Int
    /// From the first byte of a request until its end has arrived.
    public var requestReadTimeout: TimeAmount
    /// How long a keep-alive connection may sit with no request.
    public var idleTimeout: TimeAmount
    /// How long an answer may sit unsent because the client reads none of it.
    public var writeTimeout: TimeAmount

    public init(_ s: ServiceSettings) {
        maxHeaderBytes = s.maximumHeaderBytes
        maxBodyBytes = s.maximumPayloadSizeBytes
        maxURLLength = s.maximumURLLength
        requestReadTimeout = .seconds(Int64(s.readHeaderTimeoutSeconds))
        idleTimeout = .seconds(Int64(s.idleTimeoutSeconds))
        writeTimeout = .seconds(Int64(s.writeTimeoutSeconds))
    }

    /// The bounds and timeouts of each connection's state machine.
    var connectionBounds: ConnectionStateMachine.Bounds {
        var b = ConnectionStateMachine.Bounds()
        b.requestReadTimeout = requestReadTimeout
        b.idleTimeout = idleTimeout
        b.writeTimeout = writeTimeout
        // Unparsed input held back while a request waits may hold one whole request head.
        b.inbound = max(b.inbound, maxHeaderBytes)
        return b
    }
}
