import ArgumentParser
import Foundation
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// `stewardctl integrity`: mmctl's `integrity` command against stewardd.
struct IntegrityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrity",
        abstract: "Check the relational integrity of the store (Mattermost's relations).",
        discussion: "Reads every checked table once; on a large store that takes a while. Asks for YES on a terminal unless --confirm is given, and refuses without --confirm when not interactive. On a terminal (stderr), the check runs as an integrity_check job (relations only) and a progress bar shows the tables read; otherwise, or when the job cannot be created, it is mmctl's POST /api/v4/integrity.\n\nExample: stewardctl integrity --confirm --json")

    @OptionGroup var options: GlobalOptions
    @Flag(name: .long, help: "Run without asking.") var confirm = false
    @Flag(name: .shortAndLong, help: "List every orphaned record.") var verbose = false

    func run() throws {
        try runReportingErrors { () throws(CLIError) in
            if !confirm {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw .error("refusing to run the integrity check without --confirm when not interactive")
                }
                FileHandle.standardOutput.write(
                    Data("This check may harm performance on live systems. Are you sure you want to proceed? (YES/NO): ".utf8))
                guard readLine() == "YES" else { throw .error("aborted") }
            }
            let showProgress = isatty(STDERR_FILENO) == 1 && !options.quiet && !options.json
            let results: [IntegrityCheckResult]
            if showProgress, let viaJob = try Self.asJob(options) { results = viaJob } else { results = try Self.direct(options) }
            let failed = results.compactMap(\.err)
            if options.json {
                let data = results.compactMap(\.data)
                options.printJSON(Array("[\(data.map(\.json).joined(separator: ","))]".utf8))
            } else {
                for data in results.compactMap(\.data) { Self.report(data, verbose: verbose, options: options) }
            }
            if !failed.isEmpty {
                throw .error(failed.map(TerminalText.field).joined(separator: "\n"))
            }
        }
    }

    /// mmctl's call: the answer when the check is done.
    static func direct(_ options: GlobalOptions) throws(CLIError) -> [IntegrityCheckResult] {
        let r = try options.call("POST", "/integrity", context: "unable to perform integrity check")
        guard let results = try? JSONDecoder().decode([IntegrityCheckResult].self, from: Data(r.body)) else {
            throw .error("unable to perform integrity check. Error: unexpected answer")
        }
        return results
    }

    /// The same check as an `integrity_check` job with `relations_only`, its progress drawn on stderr
    /// while it runs, its report downloaded at the end. Nil when the daemon refuses the job (4xx: no
    /// permission for the job type, an older daemon): the caller falls back to `direct`. Any other
    /// failure is reported, and a job left running is cancelled.
    static func asJob(_ options: GlobalOptions) throws(CLIError) -> [IntegrityCheckResult]? {
        let body = Array(#"{"type":"integrity_check","data":{"relations_only":"true"}}"#.utf8)
        let created = try options.client.send("POST", "/jobs", body: body)
        if (400..<500).contains(created.status) { return nil }
        guard (200..<300).contains(created.status) else { throw CLIError.from(created, context: "unable to perform integrity check") }
        let job = try JobCommand.decodeJob(created)
        do {
            return try follow(job, options)
        } catch {
            _ = try? options.client.send("POST", "/jobs/\(job.id)/cancel")
            throw error
        }
    }

    private static func follow(_ job: Job, _ options: GlobalOptions) throws(CLIError) -> [IntegrityCheckResult] {
        var shown = -1
        while true {
            let now = try JobCommand.decodeJob(try options.call("GET", "/jobs/\(job.id)", context: "unable to get the job"))
            let p = Int(max(0, min(100, now.status.isFinished ? 100 : now.progress * 100 / 70)))
            if p != shown {
                let bar = String(repeating: "#", count: p / 5) + String(repeating: ".", count: 20 - p / 5)
                FileHandle.standardError.write(Data("\r[\(bar)] \(p)% of the tables read".utf8))
                shown = p
            }
            if now.status.isFinished {
                FileHandle.standardError.write(Data("\n".utf8))
                guard now.status == .success || now.status == .warning else {
                    throw .error("unable to perform integrity check. Error: the job ended \(now.status.rawValue): \(TerminalText.field(now.data["error"] ?? ""))")
                }
                break
            }
            usleep(200_000)
        }
        struct Report: Decodable { var relations: [IntegrityCheckResult] }
        let r = try options.call("GET", "/jobs/\(job.id)/download", context: "unable to download the report")
        guard let report = try? JSONDecoder().decode(Report.self, from: Data(r.body)) else {
            throw .error("unable to perform integrity check. Error: unexpected report")
        }
        return report.relations
    }

    static func report(_ data: RelationalIntegrityCheckData, verbose: Bool, options: GlobalOptions) {
        // Table and column names come from the config or the schema, ids from the rows.
        let childName = TerminalText.field(data.childName), parentName = TerminalText.field(data.parentName)
        let childIDAttr = TerminalText.field(data.childIDAttr), parentIDAttr = TerminalText.field(data.parentIDAttr)
        options.say("Found \(data.records.count) in relation \(childName) orphans of relation \(parentName)")
        guard verbose else { return }
        for record in data.records {
            let parent = record.parentID.map { $0.isEmpty ? "empty" : TerminalText.field($0) } ?? "NULL"
            let missing = record.parentID == nil || record.parentID == ""
            if let child = record.childID.map(TerminalText.field) {
                options.say(missing
                    ? "  Child \(child) (\(childName).\(childIDAttr)) has \(parent) ParentIdAttr (\(childName).\(parentIDAttr))"
                    : "  Child \(child) (\(childName).\(childIDAttr)) is missing Parent \(parent) (\(childName).\(parentIDAttr))")
            } else {
                options.say(missing
                    ? "  Child has \(parent) ParentIdAttr (\(childName).\(parentIDAttr))"
                    : "  Child is missing Parent \(parent) (\(childName).\(parentIDAttr))")
            }
        }
    }
}
