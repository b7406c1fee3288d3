import Foundation
import Integrity
import Logging
import Maintenance
import NIOCore
import Store
import StewardModel

@testable import LocalAPI

/// Feeds `text` to a parser with `limits` in pieces of `step` bytes; every event, or the failure.
func parseInPieces(_ text: String, limits: HTTPRequestParser.Limits, step: Int = .max)
    -> Result<[HTTPRequestParser.Event], HTTPRequestParser.Failure>
{
    var parser = HTTPRequestParser(limits: limits)
    var buffer = ByteBuffer()
    var events: [HTTPRequestParser.Event] = []
    let bytes = Array(text.utf8)
    var offset = 0
    repeat {
        let end = min(bytes.count, offset + max(1, min(step, bytes.count)))
        buffer.writeBytes(bytes[offset..<end])
        offset = end
        do {
            while let e = try parser.next(&buffer) { events.append(e) }
        } catch {
            return .failure(error)
        }
    } while offset < bytes.count
    return .success(events)
}

/// A dispatcher over a fresh SQLite store with the given policy rules, as the daemon builds it
/// (no workers: jobs stay pending).
func makeTestDispatcher(rules: [PolicyRule], label: String) throws -> Dispatcher {
    let logger = Logger(label: "test")
    let pool = try DatabasePool(
        options: .init(path: NSTemporaryDirectory() + "steward-\(label)-\(UUID().uuidString).db"),
        migrations: StewardSchema.migrations)
    let services = APIServices(
        busy: ServerBusyService(store: pool, logger: logger), database: DatabaseMaintenance(store: pool, logger: logger),
        caches: CacheRegistry(), integrity: IntegrityChecker(store: pool),
        config: ConfigService(settings: RuntimeSettings(StewardConfig()), directory: NSTemporaryDirectory(), overridden: []) { [] },
        jobs: JobEngine(jobs: JobStore(db: pool), busy: ServerBusyService(store: pool, logger: logger),
                        settings: RuntimeSettings(StewardConfig()), workers: [], logger: logger))
    let policy = PolicyProvider(rules: rules, resolver: IdentityResolver(), logger: logger)
    return Dispatcher(policy: policy, services: services, logger: logger)
}
