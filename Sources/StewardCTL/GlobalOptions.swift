import ArgumentParser
import Foundation

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's socket.", valueName: "path"))
    var socket: String = ProcessInfo.processInfo.environment["STEWARD_SOCKET"] ?? "/run/steward/steward.sock"

    @Flag(name: .long, help: "Print the server's JSON.")
    var json = false

    @Flag(name: .long, help: "Print nothing on success.")
    var quiet = false

    var client: SocketHTTPClient { SocketHTTPClient(socketPath: socket) }

    /// The global options typed before the subcommand (`stewardctl --json system getbusy`, as with
    /// mmctl), moved after it, where every command declares them. Only the leading run of them is
    /// moved; anything else before the subcommand (`--help`, `--version`, a typo) stays where it is
    /// and is judged by the parser, and nothing crosses a `--`.
    static func movedAfterSubcommand(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var i = 0
        scan: while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "--json", "--quiet":
                leading.append(a)
            case "--socket":
                guard i + 1 < arguments.count else { break scan }
                leading += [a, arguments[i + 1]]
                i += 1
            default:
                guard a.hasPrefix("--socket=") else { break scan }
                leading.append(a)
            }
            i += 1
        }
        var rest = Array(arguments[i...])
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: leading, at: end)
        return rest
    }

    /// Prints text: lines we composed, with what came from the daemon in them. Escaped on the way
    /// out (newlines and tabs kept); fields that must stay on one line are escaped where they are
    /// put in (`TerminalText.field`).
    func say(_ text: String) {
        if !quiet { print(TerminalText.escape(text, keepingLines: true)) }
    }

    /// Prints one JSON document (a line of `job logs --json`, a literal), made terminal-safe
    /// without becoming invalid JSON.
    func sayJSON(_ json: String) {
        if !quiet { print(TerminalText.json(json)) }
    }

    /// Pretty JSON (2-space indent, like mmctl's --json).
    func printJSON(_ body: [UInt8]) {
        guard !quiet else { return }
        if let object = try? JSONSerialization.jsonObject(with: Data(body)),
           let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) {
            print(TerminalText.json(String(decoding: pretty, as: UTF8.self)))
        } else {
            print(TerminalText.json(String(decoding: body, as: UTF8.self)))
        }
    }

    /// Sends a request; non-2xx answers become a CLIError carrying the server's message.
    func call(_ method: String, _ path: String, body: [UInt8] = [], context: String) throws(CLIError) -> SocketHTTPClient.Response {
        let response = try client.send(method, path, body: body)
        guard (200..<300).contains(response.status) else { throw CLIError.from(response, context: context) }
        return response
    }
}

/// Runs a command body and turns a CLIError into `Error: …` on stderr and its exit code.
func runReportingErrors(_ body: () throws(CLIError) -> Void) throws {
    do {
        try body()
    } catch {
        // Messages carry the daemon's text (escaped as fields in CLIError.from) and ours.
        FileHandle.standardError.write(Data("Error: \(TerminalText.escape(error.description, keepingLines: true))\n".utf8))
        throw error.exitCode
    }
}
