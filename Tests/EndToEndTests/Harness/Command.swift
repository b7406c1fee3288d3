import Foundation

/// Runs a program to completion and captures its output.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Command {
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    timeout: TimeInterval = 60, in directory: String? = nil) throws -> CommandResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Drain both pipes while the process runs so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        group.wait()
        return CommandResult(
            status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `arguments` as `user` through runuser (a real unprivileged identity).
    @discardableResult
    static func runAs(_ user: String, _ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
        try run(Paths.tool("runuser")!, ["-u", user, "--", executable] + arguments, environment: environment)
    }

    /// `stewardctl` with a socket, as root or as `user`; in `directory` when given.
    @discardableResult
    static func stewardctl(_ arguments: [String], socket: String, as user: String? = nil, in directory: String? = nil) throws -> CommandResult {
        let args = arguments + ["--socket", socket]
        if let user { return try runAs(user, Paths.stewardctl, args) }
        return try run(Paths.stewardctl, args, in: directory)
    }
}
