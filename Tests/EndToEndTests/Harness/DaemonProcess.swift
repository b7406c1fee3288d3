import Foundation
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// A real `stewardd` process in development mode on a temporary folder.
final class DaemonProcess: @unchecked Sendable {
    let dataDir: String
    let logPath: String
    let process: Process
    var socket: String { dataDir + "/steward.sock" }

    /// The default development config for `dataDir`, journal off so the log lands on stderr where the
    /// test reads it.
    static func config(dataDir: String) -> StewardConfig {
        var c = StewardConfig.development(dataDir: dataDir)
        c.logSettings.enableJournal = false
        return c
    }

    /// The development config plus a listener anyone may connect to (`DIR/pub/ops.sock`, 0666, in a
    /// 0755 directory), so only the peer-credential policy decides who gets what.
    static func configWithOpenListener(dataDir: String) throws -> (config: StewardConfig, socket: String) {
        try FileManager.default.createDirectory(
            atPath: dataDir + "/pub", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var c = config(dataDir: dataDir)
        c.serviceSettings.listeners.append(ListenerSettings(name: "ops.sock", path: dataDir + "/pub/ops.sock", mode: "0666"))
        return (c, dataDir + "/pub/ops.sock")
    }

    static func writeConfig(_ config: StewardConfig, dataDir: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: URL(fileURLWithPath: dataDir + "/config.json"))
    }

    /// Starts stewardd on `dataDir` (written config first, when given) and waits until the socket at
    /// `waitFor` (default: the data dir's) answers ping.
    /// `configArgument`, when given, runs production mode (`--config VALUE`) instead of `--data-dir`.
    init(dataDir: String, config: StewardConfig? = nil, environment: [String: String] = [:],
         launcher: [String] = [], waitFor: String? = nil, wait: Bool = true, configArgument: String? = nil) throws {
        self.dataDir = dataDir
        self.logPath = dataDir + "/stewardd.log"
        if let config { try Self.writeConfig(config, dataDir: dataDir) }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process = Process()
        let mode = configArgument.map { ["--config", $0] } ?? ["--data-dir", dataDir]
        if launcher.isEmpty {
            process.executableURL = URL(fileURLWithPath: Paths.stewardd)
            process.arguments = mode
        } else {
            process.executableURL = URL(fileURLWithPath: launcher[0])
            process.arguments = Array(launcher.dropFirst()) + [Paths.stewardd] + mode
        }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "LISTEN_FDS")
        env.removeValue(forKey: "LISTEN_PID")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if wait { try waitUntilServing(waitFor ?? socket) }
    }

    func waitUntilServing(_ path: String, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw HTTPTestError(description: "stewardd exited with \(process.terminationStatus): \(self.log)")
            }
            if let r = try? UnixHTTP.get(path, "/api/v4/system/ping"), r.status == 200 { return }
            usleep(20_000)
        }
        throw HTTPTestError(description: "stewardd did not answer on \(path) in time: \(log)")
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Log lines (stderr format) that contain every one of `fragments`.
    func logLines(containing fragments: String...) -> [String] {
        log.split(separator: "\n").map(String.init).filter { line in fragments.allSatisfy { line.contains($0) } }
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for exit; returns the exit status, or nil on timeout (the process is then killed).
    @discardableResult
    func waitForExit(timeout: TimeInterval = 15) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning {
            signal(SIGTERM)
            waitForExit()
        }
    }

    deinit { stop() }
}

/// Waits until `condition` holds or `timeout` passes.
func eventually(timeout: TimeInterval = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// Polls `GET /jobs/{id}` on `socket` until the job's status is `expected` (or `timeout`); the
/// last status seen, so a failed expectation shows where the job stopped.
func jobStatus(_ socket: String, _ id: String, becomes expected: String, timeout: TimeInterval) -> String {
    var status = ""
    _ = eventually(timeout: timeout) {
        status = ((try? UnixHTTP.get(socket, "/api/v4/jobs/\(id)").json()) ?? [:])["status"] as? String ?? ""
        return status == expected
    }
    return status
}
