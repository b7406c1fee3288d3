import Foundation
import Logging
import StewardModel
#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import LocalAPI

/// New connections are spread over the serving loops, whichever loop accepts them.
@Suite struct ConnectionPlacementTests {
    @Test func theLeastLoadedLoopGetsTheConnectionAndTheAcceptingOneWinsTies() {
        #expect(LocalAPIServer.placement(loads: [0, 0], acceptedOn: 1) == 1)
        #expect(LocalAPIServer.placement(loads: [1, 0], acceptedOn: 0) == 1)
        #expect(LocalAPIServer.placement(loads: [2, 2, 1, 1], acceptedOn: 0) == 2)
        #expect(LocalAPIServer.placement(loads: [3, 1, 1], acceptedOn: 2) == 2)
        #expect(LocalAPIServer.placement(loads: [5], acceptedOn: 0) == 0)
    }

    /// A burst of connections (a load generator's, a script's `xargs -P`) arrives before any loop
    /// has served one; the loop that wakes first accepts them all. Before placement, that loop kept
    /// every one of them.
    @Test func aBurstOfConnectionsIsSpreadEvenly() async throws {
        let logger = Logger(label: "test")
        let dispatcher = try makeTestDispatcher(rules: [PolicyRule(uids: [getuid()], roles: ["system_admin"])], label: "placement")
        let server = try LocalAPIServer(dispatcher: dispatcher, settings: ServiceSettings(), logger: logger)
        let loops = server.loopLoads.count
        try #require(loops >= 2, "this machine gives the process one CPU: nothing to spread")
        let path = NSTemporaryDirectory() + "steward-placement-\(UUID().uuidString).sock"
        let listener = try ListenerSocket.create(ListenerSettings(name: "test", path: path), groupID: nil)
        try await server.start([listener])
        defer { server.stopLoops() }

        let count = 8 * loops
        var clients: [Int32] = []
        defer { for fd in clients { close(fd) } }
        for _ in 0..<count { clients.append(try Self.connect(path)) }
        // Placement happens as the loops accept; wait for all of them (no timing assumption beyond
        // "eventually", bounded generously for a loaded machine).
        var loads = server.loopLoads
        for _ in 0..<2000 where loads.reduce(0, +) < count {
            try await Task.sleep(for: .milliseconds(5))
            loads = server.loopLoads
        }
        #expect(loads.reduce(0, +) == count)
        #expect(loads.max()! - loads.min()! <= 1, "loads \(loads)")
        await server.shutdown(timeout: .seconds(5))
    }

    private static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { close(fd); throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return fd
    }
}
