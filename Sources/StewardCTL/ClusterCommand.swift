import ArgumentParser
import Foundation
import StewardModel

/// `stewardctl cluster status`: the nodes sharing the daemon's store.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "The nodes sharing the store (PostgreSQL).", discussion: "Example: stewardctl cluster status", subcommands: [Status.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the nodes: name, version, host, last heartbeat, alive.",
            discussion: "Example: stewardctl cluster status --json")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let r = try options.call("GET", "/cluster/status", context: "unable to get the cluster status")
                if options.json { return options.printJSON(r.body) }
                guard let nodes = try? JSONDecoder().decode([ClusterInfo].self, from: Data(r.body)) else {
                    throw .error("unable to get the cluster status: unexpected answer")
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                for n in nodes {
                    let ago = max(0, now - n.lastHeartbeatAt) / 1000
                    options.say("\(TerminalText.field(n.id))  \(n.alive ? "alive" : "DEAD")  version \(TerminalText.field(n.version))  host \(TerminalText.field(n.hostname))  last heartbeat \(ago) s ago")
                }
            }
        }
    }
}
