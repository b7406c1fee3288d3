import ArgumentParser
import Foundation
import StewardModel

/// `stewardctl config migrate|show|reload`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "The daemon's configuration.", discussion: "Example: stewardctl config show", subcommands: [Migrate.self, Show.self, Reload.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a config from one store to another (file path or sqlite:///path/to/db).",
            discussion: "Relative paths are taken from the daemon's config directory. The running daemon keeps its own store.\n\nExample: stewardctl config migrate /etc/steward/config.json sqlite:///var/lib/steward/config.db")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The source store.") var from: String
        @Argument(help: "The destination store.") var to: String

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let body = Array(#"{"from":\#(JSONWriter.quote(from)),"to":\#(JSONWriter.quote(to))}"#.utf8)
                _ = try options.call("POST", "/config/migrate", body: body, context: "unable to migrate the configuration")
                options.json ? options.say(#"{"status":"ok"}"#) : options.say("Configuration migrated to \(to)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the config in force (secrets included).", discussion: "Example: stewardctl config show --json > running-config.json")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let r = try options.call("GET", "/config", context: "unable to get the configuration")
                // The document as the daemon wrote it (its formatting is the store's), made terminal-safe.
                if !options.quiet { FileHandle.standardOutput.write(Data(TerminalText.json(r.text).utf8)) }
                if !options.json, let overridden = r.headers["x-steward-overridden"], !overridden.isEmpty {
                    let names = overridden.split(separator: ",").map { TerminalText.field(String($0)) }.joined(separator: ", ")
                    FileHandle.standardError.write(Data("Set by the environment: \(names)\n".utf8))
                }
            }
        }
    }

    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-read the config store and apply it (as SIGHUP).", discussion: "Example: stewardctl config reload")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                _ = try options.call("POST", "/config/reload", context: "unable to reload the configuration")
                options.json ? options.say(#"{"status":"ok"}"#) : options.say("Configuration reloaded")
            }
        }
    }
}
