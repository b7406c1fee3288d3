import ArgumentParser
import Foundation
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// `stewardctl job …`: the jobs API. `wait` (and `create --wait`) exit 0 on success, 2 on warning,
/// 1 on error, 3 when canceled.
struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Maintenance jobs.", discussion: "Example: stewardctl job create db_backup --wait",
        subcommands: [List.self, Show.self, Create.self, Wait.self, Cancel.self, Update.self, Logs.self, Download.self, Delete.self, Types.self])

    static func decodeJob(_ r: SocketHTTPClient.Response) throws(CLIError) -> Job {
        guard let job = try? JSONDecoder().decode(Job.self, from: Data(r.body)) else { throw .error("unexpected answer") }
        return job
    }

    /// One job as lines of text; every string in it is the daemon's (data: the job creator's), so
    /// each is escaped as a field — a newline in a value cannot forge a line.
    static func describe(_ job: Job) -> String {
        func time(_ ms: Int64) -> String { ms == 0 ? "-" : Date(timeIntervalSince1970: Double(ms) / 1000).ISO8601Format() }
        let f = TerminalText.field
        var lines = ["ID: \(f(job.id))", "Type: \(f(job.type))", "Status: \(job.status.rawValue)", "Progress: \(job.progress)",
                     "Created: \(time(job.createAt))", "Started: \(time(job.startAt))"]
        if !job.data.isEmpty { lines.append("Data: " + job.data.keys.sorted().map { "\(f($0))=\(f(job.data[$0]!))" }.joined(separator: " ")) }
        return lines.joined(separator: "\n")
    }

    /// Polls until the job is finished, drawing a bar (progress and status) on a terminal; in a
    /// pipe, or with --json or --quiet, nothing but the caller's final answer is printed.
    static func wait(_ id: String, _ options: GlobalOptions) throws(CLIError) -> Job {
        let tty = isatty(STDOUT_FILENO) == 1 && !options.quiet && !options.json
        var lastDrawn = ""
        while true {
            let job = try decodeJob(try options.call("GET", "/jobs/\(id)", context: "unable to get the job"))
            if tty {
                let p = Int(min(100, max(0, job.progress)))
                let bar = String(repeating: "#", count: p / 5) + String(repeating: ".", count: 20 - p / 5)
                let line = "\r[\(bar)] \(p)% \(job.status.rawValue)   "
                if line != lastDrawn { FileHandle.standardOutput.write(Data(line.utf8)) }
                lastDrawn = line
            }
            if job.status.isFinished {
                if tty { print("") }
                return job
            }
            usleep(200_000)
        }
    }

    static func exitCode(for job: Job) -> ExitCode {
        switch job.status {
        case .success: return .success
        case .warning: return ExitCode(2)
        case .canceled: return ExitCode(3)
        default: return .failure
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.", discussion: "Example: stewardctl job list --type db_backup --status success --per-page 20")
        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "Only this type.") var type: String?
        @Option(name: .long, help: "Only this status.") var status: String?
        @Option(name: .long) var page = 0
        @Option(name: .customLong("per-page")) var perPage = 5
        @Flag(name: .long, help: "Every page.") var all = false

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                var jobs: [Job] = []
                var page = self.page
                repeat {
                    var q = "page=\(page)&per_page=\(perPage)"
                    if let type { q += "&job_type=\(type)" }
                    if let status { q += "&status=\(status)" }
                    let r = try options.call("GET", "/jobs?\(q)", context: "failed to get jobs")
                    guard let batch = try? JSONDecoder().decode([Job].self, from: Data(r.body)) else { throw .error("unexpected answer") }
                    jobs += batch
                    if batch.isEmpty || !all { break }
                    page += 1
                } while true
                if options.json { return options.printJSON(Array(Job.json(jobs).utf8)) }
                if jobs.isEmpty { return options.say("No jobs found") }
                options.say(jobs.map(JobCommand.describe).joined(separator: "\n\n"))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job.", discussion: "Example: stewardctl job show 9m7kd3b6qtbq8p1mh4c1h5x3ga --json")
        @OptionGroup var options: GlobalOptions
        @Argument var id: String

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let r = try options.call("GET", "/jobs/\(id)", context: "unable to get the job")
                options.json ? options.printJSON(r.body) : options.say(JobCommand.describe(try JobCommand.decodeJob(r)))
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a job (db_backup, db_optimize, integrity_check, …).", discussion: "Example: stewardctl job create db_optimize --data vacuum=true --wait")
        @OptionGroup var options: GlobalOptions
        @Argument var type: String
        @Option(name: .long, parsing: .upToNextOption, help: "Data as key=value.") var data: [String] = []
        @Flag(name: .long, help: "Wait for the job to finish; the exit code says how it ended.") var wait = false
        @Option(name: .customLong("once-per"), help: ArgumentHelp(
            "At most one such job per window of this length (90s, 30m, 24h, 7d; windows aligned to 00:00 UTC), across every node: a second call in the window gets the first one's job.",
            valueName: "period")) var oncePer: String?

        func validate() throws {
            if let oncePer, ScheduleWindow.parsePeriod(oncePer) == nil {
                throw ValidationError("--once-per takes a whole number of s, m, h or d between 60s and 366d, got '\(oncePer)'")
            }
        }

        func run() throws {
            var finished: Job?
            try runReportingErrors { () throws(CLIError) in
                var map: [String: String] = [:]
                for kv in data {
                    guard let eq = kv.firstIndex(of: "=") else { throw .error("--data takes key=value, got '\(kv)'") }
                    map[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
                }
                let body = "{\"type\":\(JSONWriter.quote(type)),\"data\":\(Job.dataJSON(map))}"
                let path = oncePer.map { "/jobs?once_per=\($0)" } ?? "/jobs"
                let r = try options.call("POST", path, body: Array(body.utf8), context: "unable to create the job")
                let job = try JobCommand.decodeJob(r)
                if r.status == 200, !options.quiet {
                    // 200, not 201: the window's job already existed (another node's timer made it).
                    let f = TerminalText.field
                    FileHandle.standardError.write(Data("job \(f(job.id)) was already created in this window; not creating another\n".utf8))
                }
                if wait {
                    finished = try JobCommand.wait(job.id, options)
                    options.json ? options.printJSON(Array(finished!.json.utf8)) : options.say(JobCommand.describe(finished!))
                } else {
                    options.json ? options.printJSON(r.body) : options.say(TerminalText.field(job.id))
                }
            }
            if let finished, finished.status != .success { throw JobCommand.exitCode(for: finished) }
        }
    }

    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Wait for a job to finish; exit 0 success, 2 warning, 1 error, 3 canceled.", discussion: "Example: stewardctl job wait 9m7kd3b6qtbq8p1mh4c1h5x3ga || echo \"ended with $?\"")
        @OptionGroup var options: GlobalOptions
        @Argument var id: String

        func run() throws {
            var finished: Job?
            try runReportingErrors { () throws(CLIError) in
                finished = try JobCommand.wait(id, options)
                options.json ? options.printJSON(Array(finished!.json.utf8)) : options.say(JobCommand.describe(finished!))
            }
            if let finished, finished.status != .success { throw JobCommand.exitCode(for: finished) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a pending or running job.", discussion: "Example: stewardctl job cancel 9m7kd3b6qtbq8p1mh4c1h5x3ga")
        @OptionGroup var options: GlobalOptions
        @Argument var id: String

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                _ = try options.call("POST", "/jobs/\(id)/cancel", context: "unable to cancel the job")
                options.say("Cancel requested")
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a job's status.", discussion: "Example: stewardctl job update 9m7kd3b6qtbq8p1mh4c1h5x3ga pending --force")
        @OptionGroup var options: GlobalOptions
        @Argument var id: String
        @Argument var status: String
        @Flag(name: .long) var force = false

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let body = "{\"force\":\(force),\"status\":\(JSONWriter.quote(status))}"
                _ = try options.call("PATCH", "/jobs/\(id)/status", body: Array(body.utf8), context: "unable to update the job")
            }
        }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A job's log lines.", discussion: "Example: stewardctl job logs 9m7kd3b6qtbq8p1mh4c1h5x3ga --follow")
        @OptionGroup var options: GlobalOptions
        @Argument var id: String
        @Flag(name: .long, help: "Keep printing new lines until the job finishes.") var follow = false

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                var offset = 0
                while true {
                    let r = try options.call("GET", "/jobs/\(id)/logs?offset=\(offset)&limit=1000", context: "unable to get the job's logs")
                    guard let entries = try? JSONDecoder().decode([JobLogEntry].self, from: Data(r.body)) else { throw .error("unexpected answer") }
                    for e in entries {
                        options.json
                            ? options.sayJSON(e.json)
                            : options.say("\(e.timestamp) \(TerminalText.field(e.level)) \(e.progress)% \(TerminalText.field(e.msg))")
                    }
                    offset += entries.count
                    guard follow else { return }
                    let job = try JobCommand.decodeJob(try options.call("GET", "/jobs/\(id)", context: "unable to get the job"))
                    if job.status.isFinished && entries.isEmpty { return }
                    usleep(300_000)
                }
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a finished job and its files.", discussion: "Example: stewardctl job delete 9m7kd3b6qtbq8p1mh4c1h5x3ga")
        @OptionGroup var options: GlobalOptions
        @Argument var id: String

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                _ = try options.call("DELETE", "/jobs/\(id)", context: "unable to delete the job")
                options.say("Job deleted")
            }
        }
    }
}
