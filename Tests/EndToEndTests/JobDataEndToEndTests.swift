import Foundation
import StewardModel
import Testing

/// Job data is untrusted: whoever may create a job of a type sends it. Every key is checked against
/// the type's declared parameters before the job exists, so a value a worker could trap on (the
/// daemon ran as root and died of SIGILL on `step_delay_ms: -1`) or a key it never asked for (a
/// forged `file` naming another job's artifact) is a 400, and the daemon goes on.
@Suite("Job data", .serialized)
struct JobDataEndToEndTests {
    let dir = Paths.makeTempDir("jobdata")

    func post(_ d: DaemonProcess, _ body: String) throws -> HTTPResult {
        try UnixHTTP.post(d.socket, "/api/v4/jobs", body: body)
    }

    @Test func valuesOutOfRangeAndUnknownKeysAreRefusedAndNothingTraps() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let refused: [(String, String)] = [
            (#"{"type":"db_backup","data":{"step_delay_ms":"-1"}}"#, "step_delay_ms"),
            (#"{"type":"db_backup","data":{"step_delay_ms":"99999999999"}}"#, "step_delay_ms"),
            (#"{"type":"db_backup","data":{"step_delay_ms":"1e3"}}"#, "step_delay_ms"),
            (#"{"type":"data_retention","data":{"retention_days":"999999999999999"}}"#, "retention_days"),
            (#"{"type":"data_retention","data":{"retention_days":"0"}}"#, "retention_days"),
            (#"{"type":"db_optimize","data":{"vacuum":"yes"}}"#, "vacuum"),
            (#"{"type":"message_export","data":{"start_time":"-5","end_time":"10"}}"#, "start_time"),
            (#"{"type":"db_optimize","data":{"file":"db_backup/steward-1-x.db","is_downloadable":"true"}}"#, "file"),
        ]
        for (body, key) in refused {
            let r = try post(d, body)
            #expect(r.status == 400, "\(body): \(r.status) \(r.text)")
            #expect(r.json()["id"] as? String == "api.job.create.invalid_data.app_error", "\(body)")
            #expect((r.json()["message"] as? String)?.contains(key) == true, "the message names the key: \(r.text)")
        }
        #expect(try UnixHTTP.get(d.socket, "/api/v4/jobs").text == "[]", "no job was created")
        // Values in range still make jobs, and the workers run them (the daemon is alive).
        let ok = try post(d, #"{"type":"db_backup","data":{"step_delay_ms":"0"}}"#)
        #expect(ok.status == 201, "\(ok.text)")
        let id = try #require(ok.json()["id"] as? String)
        #expect(eventually(timeout: 30) {
            (try? UnixHTTP.get(d.socket, "/api/v4/jobs/\(id)"))?.json()["status"] as? String == "success"
        })
        #expect(try post(d, #"{"type":"data_retention","data":{"retention_days":"30"}}"#).status == 201)
        #expect(d.process.isRunning)
    }

    /// The range is in the message, so an operator knows what to send instead.
    @Test func theMessageSaysWhatIsAllowed() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
        let r = try post(d, #"{"type":"data_retention","data":{"retention_days":"0"}}"#)
        #expect(r.json()["message"] as? String == "The job's data is not valid: data.retention_days of a data_retention job must be an integer from 1 to 36500.")
        let unknown = try post(d, #"{"type":"db_backup","data":{"nope":"1"}}"#)
        #expect((unknown.json()["message"] as? String)?.contains("(accepted: step_delay_ms)") == true, "\(unknown.text)")
    }
}
