import Foundation
import StewardModel
import Testing

/// `POST /api/v4/integrity` answers every orphaned record, as Mattermost's SQL does — here 60,003 in
/// one relation, more than the daemon keeps in memory or sends from memory (it streams the answer
/// from a temporary file) and more than the cap of 10,000 it used to apply.
@Suite("Integrity: every record", .serialized)
struct IntegrityAllRecordsEndToEndTests {
    @Test func everyRecordOfABigAnswerAsMattermostsSQL() throws {
        let dir = Paths.makeTempDir("integrity-all")
        let tools = Paths.packageRoot.appendingPathComponent("tools/mmdb")
        let gen = try Command.run("/usr/bin/env", ["python3", tools.appendingPathComponent("generate.py").path, dir + "/steward.db",
                                                   "--posts", "1000", "--bulk-orphans", "60000"])
        try #require(gen.status == 0, "generator failed: \(gen.stderr)")
        let ref = try Command.run("/usr/bin/env", ["python3", tools.appendingPathComponent("reference.py").path, dir + "/steward.db"])
        try #require(ref.status == 0, "reference failed: \(ref.stderr)")
        let expected = try JSONDecoder().decode([IntegrityCheckResult].self, from: Data(ref.stdout.utf8))
        let daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))

        let r = try UnixHTTP.post(daemon.socket, "/api/v4/integrity")
        #expect(r.status == 200)
        let results = try JSONDecoder().decode([IntegrityCheckResult].self, from: Data(r.body))
        #expect(results[10].data?.records.count == 60_003)
        #expect(Array(results.prefix(41)) == expected)
        let journal = daemon.logLines(containing: "integrity check finished")
        #expect(journal.first?.contains("truncated=\"\"") == true, "nothing was cut")
    }
}
