import Foundation
import Maintenance
import PostgresTestSupport
import StewardModel
import Store

/// The stores a test of behaviour shared by both runs on: a temporary SQLite file, and a fresh
/// database on the tests' own PostgreSQL server (left out, with the reason printed once, when
/// PostgreSQL is not installed).
enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    var description: String { rawValue }

    /// The kinds this machine can run.
    static var available: [StoreKind] {
        if let reason = PostgresTestCluster.unavailableReason {
            reportOnce("PostgreSQL store cases skipped: \(reason)")
            return [.sqlite]
        }
        return allCases
    }

    private static let reported = Locked(false)
    private static func reportOnce(_ text: String) {
        if reported.withLock({ r in defer { r = true }; return !r }) { print(text) }
    }

    /// A new, empty store of this kind with `migrations` applied; `reopen` opens the same one again.
    func make(migrations: [Migration] = StewardSchema.migrations) throws -> (store: any SQLStore, reopen: () throws -> any SQLStore) {
        switch self {
        case .sqlite:
            let path = NSTemporaryDirectory() + "steward-store-\(UUID().uuidString).db"
            let open = { () throws -> any SQLStore in try DatabasePool(options: .init(path: path), migrations: migrations) }
            return (try open(), open)
        case .postgres:
            let cluster = PostgresTestCluster.shared!
            let dsn = try PostgresDSN(cluster.dsn(database: try cluster.createDatabase()))
            let open = { () throws -> any SQLStore in try PostgresPool(options: .init(dsn: dsn), migrations: migrations) }
            return (try open(), open)
        }
    }
}
