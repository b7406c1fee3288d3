import Foundation
import StewardModel
import Testing

/// `GET /api/v4/jobs/types` is built from the declarations `POST /jobs` validates with and the units
/// in `systemd/` schedule: checked here against both, over a real socket, so the catalogue cannot
/// say one thing while the daemon or the timers do another.
@Suite("Job type catalogue", .serialized)
struct JobCatalogueEndToEndTests {
    let dir = Paths.makeTempDir("catalogue")

    func catalogue(_ d: DaemonProcess) throws -> [JobTypeInfo] {
        let r = try UnixHTTP.get(d.socket, "/api/v4/jobs/types")
        #expect(r.status == 200 && r.headers["content-type"]?.hasPrefix("application/json") == true)
        return try JSONDecoder().decode([JobTypeInfo].self, from: Data(r.body))
    }

    @Test func whatTheCatalogueSaysIsWhatCreateAccepts() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = DaemonProcess.config(dataDir: dir)
        config.jobSettings.runJobs = false
        let d = try DaemonProcess(dataDir: dir, config: config)
        let types = try catalogue(d)
        #expect(types.map(\.type) == JobTypes.allTypes)
        let runnable = types.filter(\.runnable)
        #expect(Set(runnable.map(\.type)) == JobTypes.stewardTypes.union(JobTypes.mattermostWorkerTypes))
        let backup = try #require(types.first { $0.type == "db_backup" })
        #expect(backup.artifact == .backup && backup.runsWhileBusy && backup.permissions["download"] == ["download_backup"])
        #expect(types.first { $0.type == "db_optimize" }?.permissions["download"] == nil, "no artifact, no download")

        func create(_ type: String, _ key: String, _ value: String) throws -> HTTPResult {
            try UnixHTTP.post(d.socket, "/api/v4/jobs", body: #"{"type":"\#(type)","data":{"\#(key)":"\#(value)"}}"#)
        }
        var disagreements: [String] = []
        for t in runnable {
            for p in t.parameters {
                var accepted: [String], refused: [String]
                switch p.type {
                case "integer":
                    let (lo, hi) = (try #require(p.minimum), try #require(p.maximum))
                    accepted = ["\(lo)", "\(hi)"]
                    refused = ["\(hi + 1)", lo > Int64.min ? "\(lo - 1)" : "x", "1.5"]
                case "boolean":
                    accepted = ["true", "false"]
                    refused = ["yes", "1"]
                default:
                    disagreements.append("\(t.type).\(p.name): unknown type \(p.type)")
                    continue
                }
                for v in accepted where try create(t.type, p.name, v).status != 201 { disagreements.append("\(t.type).\(p.name)=\(v) refused") }
                for v in refused where try create(t.type, p.name, v).status != 400 { disagreements.append("\(t.type).\(p.name)=\(v) accepted") }
            }
            if try create(t.type, "not_a_parameter", "1").status != 400 { disagreements.append("\(t.type) took an unknown key") }
        }
        #expect(disagreements == [])
    }

    /// Every timer the catalogue names is a unit in `systemd/` whose service creates that type, and
    /// every timer there is named by the type it creates.
    @Test func timersAreTheUnitsThatCreateTheType() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let types = try catalogue(d)
        let unitDir = Paths.packageRoot.appendingPathComponent("systemd").path
        let timers = try FileManager.default.contentsOfDirectory(atPath: unitDir).filter { $0.hasSuffix(".timer") }.sorted()
        #expect(types.compactMap(\.timer).sorted() == timers)
        for t in types {
            guard let timer = t.timer else { continue }
            let service = String(timer.dropLast(".timer".count)) + ".service"
            let text = try String(contentsOfFile: unitDir + "/" + service, encoding: .utf8)
            #expect(text.contains("stewardctl job create \(t.type) "), "\(service) creates \(t.type)")
        }
    }

    @Test func stewardctlPrintsTheCatalogue() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let table = try Command.stewardctl(["job", "types"], socket: d.socket)
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("TYPE") == true)
        #expect(lines.count == 1 + JobTypes.stewardTypes.count + JobTypes.mattermostWorkerTypes.count, "\(table.stdout)")
        #expect(lines.contains { $0.hasPrefix("db_backup ") && $0.contains("steward-backup.timer") && $0.contains("step_delay_ms=0..60000 (0)") })
        let all = try Command.stewardctl(["job", "types", "--all"], socket: d.socket)
        #expect(all.stdout.split(separator: "\n").count == 1 + JobTypes.allTypes.count)
        let json = try Command.stewardctl(["job", "types", "--json"], socket: d.socket)
        let decoded = try JSONDecoder().decode([JobTypeInfo].self, from: Data(json.stdout.utf8))
        #expect(decoded == (try catalogue(d)))
    }
}
