import ArgumentParser
import Foundation
import StewardModel

extension JobCommand {
    /// `stewardctl job types`: the daemon's job type catalogue (`GET /jobs/types`) as a table.
    struct Types: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the job types: parameters, artifact, timer, permissions.",
            discussion: "Types Steward lists but does not run (Mattermost's others) are shown with --all.\n\nExample: stewardctl job types --json")
        @OptionGroup var options: GlobalOptions
        @Flag(name: .long, help: "Also the types without a worker.") var all = false

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let r = try options.call("GET", "/jobs/types", context: "unable to get the job types")
                if options.json { return options.printJSON(r.body) }
                guard let types = try? JSONDecoder().decode([JobTypeInfo].self, from: Data(r.body)) else { throw .error("unexpected answer") }
                guard !options.quiet else { return }
                print(Self.table(types.filter { all || $0.runnable }))
            }
        }

        /// One row per type; parameters as `name=min..max (default)` or `name=true|false`.
        static func table(_ types: [JobTypeInfo]) -> String {
            let header = ["TYPE", "WHILE BUSY", "ARTIFACT", "TIMER", "CREATE NEEDS", "PARAMETERS"]
            let rows = types.map { t -> [String] in
                let parameters = t.parameters.map { p -> String in
                    let range = p.type == "boolean" ? "true|false" : "\(p.minimum ?? 0)..\(p.maximum ?? 0)"
                    return "\(p.name)=\(range)" + (p.defaultValue.map { " (\($0))" } ?? "")
                }
                return [t.type, t.runnable ? (t.runsWhileBusy ? "yes" : "no") : "-", t.artifact.rawValue, t.timer ?? "-",
                        t.permissions["create"]?.joined(separator: "|") ?? "-", parameters.isEmpty ? "-" : parameters.joined(separator: ", ")]
            }
            // The daemon's text, escaped cell by cell before it reaches a terminal.
            let all = [header] + rows.map { $0.map { TerminalText.escape($0) } }
            let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
            return all.map { row in
                row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ")
            }.joined(separator: "\n")
        }
    }
}
