import Foundation
import Postgres
import PostgresTestSupport
import StewardModel
import Testing

/// `LISTEN`/`NOTIFY` through `PGConnection`: what a listener receives, when (at commit, never on
/// rollback), and that a lost server is an error, not a silent wait.
@Suite(.serialized, .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"))
struct PGNotificationTests {
    func connect(_ cluster: PostgresTestCluster, _ database: String) throws -> PGConnection {
        try PGConnection(try PostgresDSN(cluster.dsn(database: database)))
    }

    /// Waits (up to 30 s, in steps) until `count` notifications have arrived.
    func receive(_ listener: PGConnection, count: Int) throws -> [PGNotification] {
        var got: [PGNotification] = []
        for _ in 0..<30 where got.count < count {
            got += try listener.waitForNotifications(timeoutMilliseconds: 1000)
        }
        return got
    }

    @Test func aListenerReceivesChannelPayloadAndSender() throws {
        let cluster = PostgresTestCluster.shared!
        let db = try cluster.createDatabase()
        let listener = try connect(cluster, db), sender = try connect(cluster, db)
        let channel = #"steward "busy" events"#
        try listener.listen(channel)
        try listener.listen("other")
        #expect(try listener.pendingNotifications().isEmpty)

        try sender.notify(channel, #"{"busy":true,"expires":1700000000}"#)
        let got = try receive(listener, count: 1)
        #expect(got == [PGNotification(channel: channel, payload: #"{"busy":true,"expires":1700000000}"#, senderPID: sender.backendPID)])

        // In a transaction: nothing on rollback, delivered at commit. Notifications arrive in
        // order, so receiving only the later ones shows the rolled-back one never came.
        _ = try? sender.transaction { () throws -> Void in
            try sender.notify(channel, "rolled back")
            throw CancellationError()
        }
        try sender.transaction { try sender.notify(channel, "committed") }
        try listener.unlisten(channel)
        try sender.notify(channel, "after unlisten")
        try sender.notify("other", "marker")
        let later = try receive(listener, count: 2)
        #expect(later.map(\.payload) == ["committed", "marker"], "\(later)")
    }

    @Test func aServerGoneIsAnErrorForTheListener() throws {
        let cluster = try PostgresTestCluster.makePrivate()
        defer { cluster.stopAndRemove() }
        let listener = try connect(cluster, "postgres")
        try listener.listen("events")
        cluster.stop()
        var failure: PGError?
        do {
            for _ in 0..<30 { _ = try listener.waitForNotifications(timeoutMilliseconds: 1000) }
        } catch {
            failure = error
        }
        #expect(failure?.kind == .connectionLost, "\(String(describing: failure))")
    }
}
