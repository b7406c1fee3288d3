import ArgumentParser
import Foundation
import StewardModel

@main
enum StewardCTLMain {
    static func main() {
        StewardCTL.main(GlobalOptions.movedAfterSubcommand(Array(CommandLine.arguments.dropFirst())))
    }
}

struct StewardCTL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stewardctl",
        abstract: "Talk to stewardd over its local socket.",
        discussion: """
            Exit codes: 0 ok; 1 error (the daemon's message is printed); 69 daemon not reachable;
            77 permission denied; 64 usage error. --socket, --json and --quiet go before or after the
            subcommand.

            Example: stewardctl --socket /run/steward/ops.sock --json system getbusy
            """,
        version: StewardVersion.version,
        subcommands: [SystemCommand.self, ConfigCommand.self, JobCommand.self, CacheCommand.self, DatabaseCommand.self, IntegrityCommand.self,
                      ClusterCommand.self])
}

struct SystemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system", abstract: "Ping and the server-busy flag.", discussion: "Example: stewardctl system ping",
        subcommands: [Ping.self, GetBusy.self, SetBusy.self, ClearBusy.self])

    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the daemon answers (and its database with --server-status).", discussion: "Example: stewardctl system ping --server-status")
        @OptionGroup var options: GlobalOptions
        @Flag(name: .long, help: "Also check the database.") var serverStatus = false

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let r = try options.call("GET", "/system/ping" + (serverStatus ? "?get_server_status=true" : ""), context: "unable to ping")
                if options.json { return options.printJSON(r.body) }
                let ping = try? JSONDecoder().decode(PingResponse.self, from: Data(r.body))
                var line = "Server status: \(TerminalText.field(ping?.status ?? "unknown"))"
                if let db = ping?.databaseStatus { line += ", database: \(TerminalText.field(db))" }
                if let v = r.headers["x-version-id"] { line += " (version \(TerminalText.field(v)))" }
                options.say(line)
            }
        }
    }

    struct GetBusy: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "getbusy", abstract: "Show whether the server is busy.", discussion: "Example: stewardctl --json system getbusy")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let r = try options.call("GET", "/server_busy", context: "unable to get busy state")
                if options.json { return options.printJSON(r.body) }
                guard let state = try? JSONDecoder().decode(ServerBusyState.self, from: Data(r.body)) else {
                    throw .error("unable to get busy state: unexpected answer")
                }
                options.say(state.busy ? "busy: true expires: \(TerminalText.field(state.expiresTS))" : "busy: false")
            }
        }
    }

    struct SetBusy: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "setbusy", abstract: "Mark the server busy for a while.", discussion: "Example: stewardctl system setbusy --seconds 3600")
        @OptionGroup var options: GlobalOptions
        @Option(name: .shortAndLong, help: "Seconds until the flag clears itself (1-86400).") var seconds: Int64

        func validate() throws {
            if seconds <= 0 { throw ValidationError("seconds must be a number > 0") }
        }

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                _ = try options.call("POST", "/server_busy?seconds=\(seconds)", context: "unable to set busy state")
                options.json ? options.say(#"{"status":"ok"}"#) : options.say("Busy state set")
            }
        }
    }

    struct ClearBusy: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clearbusy", abstract: "Clear the busy flag.", discussion: "Example: stewardctl system clearbusy")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                _ = try options.call("DELETE", "/server_busy", context: "unable to clear busy state")
                options.json ? options.say(#"{"status":"ok"}"#) : options.say("Busy state cleared")
            }
        }
    }
}

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache", abstract: "The daemon's caches.", discussion: "Example: stewardctl cache invalidate", subcommands: [Invalidate.self])

    struct Invalidate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Purge every cache the daemon keeps.", discussion: "Example: stewardctl cache invalidate")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let r = try options.call("POST", "/caches/invalidate", context: "unable to invalidate caches")
                options.json ? options.printJSON(r.body) : options.say("Caches invalidated")
            }
        }
    }
}

struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "db", abstract: "The daemon's store.", discussion: "Example: stewardctl db recycle", subcommands: [Recycle.self])

    struct Recycle: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close and reopen the store's connections.", discussion: "Example: stewardctl db recycle")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let r = try options.call("POST", "/database/recycle", context: "unable to recycle database connections")
                options.json ? options.printJSON(r.body) : options.say("Database connections recycled")
            }
        }
    }
}
