import ArgumentParser
import Foundation
import StewardModel

/// How a command failed; each kind has its own documented exit code.
enum CLIError: Error, CustomStringConvertible {
    /// Exit 1: the daemon answered with an error, or the request could not be made.
    case error(String)
    /// Exit 69 (EX_UNAVAILABLE): no daemon reachable on the socket.
    case unreachable(String)
    /// Exit 77 (EX_NOPERM): the daemon (or the socket's mode) refused us.
    case permissionDenied(String)

    var description: String {
        switch self {
        case .error(let m), .unreachable(let m), .permissionDenied(let m): return m
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .error: return .failure
        case .unreachable: return ExitCode(69)
        case .permissionDenied: return ExitCode(77)
        }
    }

    /// The server's AppError message (and detail) for a non-2xx answer.
    static func from(_ response: SocketHTTPClient.Response, context: String) -> CLIError {
        let e = try? JSONDecoder().decode(AppError.self, from: Data(response.body))
        var text = TerminalText.field(e?.message ?? "HTTP \(response.status)")
        if let d = e?.detailedError, !d.isEmpty { text += " (\(TerminalText.field(d)))" }
        let message = "\(context): \(text)"
        return response.status == 403 ? .permissionDenied(message) : .error(message)
    }
}
