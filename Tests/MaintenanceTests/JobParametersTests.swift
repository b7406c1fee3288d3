import Maintenance
import StewardModel
import Testing

/// The check of job data against a type's parameters: pure, no store.
@Suite struct JobParametersTests {
    let params = JobParameters([
        JobParameter("n", .integer(1...100), "a count"),
        JobParameter("flag", .boolean, default: "false", "a switch"),
    ])

    func refused(_ data: [String: String]) -> JobParameterError? {
        do {
            _ = try params.validate(data, type: "t")
            return nil
        } catch {
            return error
        }
    }

    @Test func valuesWithinTheirRangesPass() throws {
        #expect(try params.validate(["n": "1"], type: "t") == ["n": "1"])
        #expect(try params.validate(["n": "100", "flag": "true"], type: "t") == ["n": "100", "flag": "true"])
        #expect(try params.validate([:], type: "t") == [:])
    }

    @Test(arguments: ["0", "101", "-1", "+5", " 5", "5 ", "1e2", "", "0x10", "99999999999999999999", "-9223372036854775809"])
    func integersOutsideTheirRangeOrNotDecimalAreRefused(value: String) {
        #expect(refused(["n": value])?.key == "n", "\(value.debugDescription)")
        #expect(refused(["n": value])?.description == "data.n of a t job must be an integer from 1 to 100")
    }

    @Test(arguments: ["yes", "1", "TRUE", ""])
    func booleansAreTrueOrFalse(value: String) {
        #expect(refused(["flag": value])?.allowed == "true or false")
    }

    @Test func unknownKeysAreRefusedNamingTheAcceptedOnes() {
        let e = refused(["n": "5", "file": "x"])
        #expect(e?.key == "file" && e?.allowed == "")
        #expect(e?.description == "t jobs take no data key 'file' (accepted: n, flag)")
        #expect(refused(["k": "v"]).map { _ in true } == true)
        let long = String(repeating: "k", count: 500)
        #expect((refused([long: "v"])?.description.count ?? 0) < 120, "a long key is cut in the message")
    }

    @Test func workersReadCheckedValuesAndFailOnStoredBadOnes() throws {
        func job(_ data: [String: String]) -> Job { Job(id: NewID.make(), type: "t", createAt: 0, status: .pending, data: data) }
        #expect(try params.integer("n", in: job(["n": "7"])) == 7)
        #expect(try params.integer("n", in: job([:])) == nil)
        #expect(try params.boolean("flag", in: job([:])) == false)
        // Data stored before the check existed fails the job instead of trapping.
        #expect(throws: JobFailure.self) { try params.integer("n", in: job(["n": "-1"])) }
    }
}
