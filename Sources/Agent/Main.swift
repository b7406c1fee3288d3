import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Maintenance
import StewardModel

/// `stewardd`: the Steward daemon.
@main
struct StewardDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stewardd",
        abstract: "Steward: a local-socket admin agent with Mattermost's local-mode API.",
        discussion: """
            Development mode: --data-dir DIR (socket DIR/steward.sock, database DIR/steward.db,
            config DIR/config.json created with defaults if absent; no root needed).
            Production mode: --config PATH (or STEWARD_CONFIG), default /etc/steward/config.json.

            Exit codes (sysexits): 0 clean stop; 1 the service group ended with an error; 64 usage
            error; 71 the serving threads could not start; 73 a listener or the store could not be
            created or reached; 78 configuration error.

            Example: stewardd --data-dir ./steward-dev
            """,
        version: StewardVersion.version)

    @Option(name: .long, help: "Development mode: keep socket, database and config in this folder.")
    var dataDir: String?

    @Option(name: .long, help: "Production mode: the config file or database (sqlite:///path/to/db, or postgres://user:password@host/db?sslmode=… as Mattermost's database config store); default $STEWARD_CONFIG or /etc/steward/config.json.")
    var config: String?

    @Flag(name: .customLong("print-default-config"), help: "Print the production defaults as a config file and exit.")
    var printDefaultConfig = false

    func validate() throws {
        if dataDir != nil && config != nil { throw ValidationError("use either --data-dir or --config, not both") }
    }

    func run() async throws {
        if printDefaultConfig {
            let bytes = ConfigCodec.encode(StewardConfig.production)
            _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            return
        }
        let source: ConfigSource
        if let dataDir {
            var dir = FilePath.absolute(dataDir)
            while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            source = ConfigSource(location: .file(dir + "/config.json"), developmentDataDir: dir)
        } else {
            let text = config ?? ProcessInfo.processInfo.environment["STEWARD_CONFIG"] ?? "/etc/steward/config.json"
            do {
                source = ConfigSource(location: try .parse(text, relativeTo: FileManager.default.currentDirectoryPath), developmentDataDir: nil)
            } catch {
                // Before logging is set up; the message never shows a DSN's password.
                let line = Array("stewardd: --config: \(error)\n".utf8)
                _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                throw ExitCode(78)
            }
        }
        let code = await StewardDaemon.run(source: source)
        if code != 0 { throw ExitCode(code) }
    }
}
