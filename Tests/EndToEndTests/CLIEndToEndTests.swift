import Foundation
import StewardModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built stewardctl: output, exit codes and its socket pre-flight check.
@Suite("stewardctl", .serialized)
struct CLIEndToEndTests {
    let dir = Paths.makeTempDir("cli")
    let daemon: DaemonProcess

    init() throws {
        daemon = try DaemonProcess(dataDir: dir, config: DaemonProcess.config(dataDir: dir))
    }

    @Test func busyCommandsRoundTrip() throws {
        let set = try Command.stewardctl(["system", "setbusy", "-s", "120"], socket: daemon.socket)
        #expect(set.status == 0 && set.stdout == "Busy state set\n")
        let get = try Command.stewardctl(["system", "getbusy"], socket: daemon.socket)
        #expect(get.status == 0 && get.stdout.hasPrefix("busy: true expires: "))
        let json = try Command.stewardctl(["system", "getbusy", "--json"], socket: daemon.socket)
        let state = try JSONDecoder().decode(ServerBusyState.self, from: Data(json.stdout.utf8))
        #expect(state.busy && state.expiresTS == GoTime.format(unixSeconds: state.expires))
        let clear = try Command.stewardctl(["system", "clearbusy", "--json"], socket: daemon.socket)
        #expect(clear.status == 0 && clear.stdout == "{\"status\":\"ok\"}\n")
        #expect(try Command.stewardctl(["system", "getbusy"], socket: daemon.socket).stdout == "busy: false\n")
    }

    /// Global options before the subcommand, as mmctl users type them, or after it; `--` still
    /// ends the options.
    @Test func globalOptionsGoBeforeOrAfterTheSubcommand() throws {
        #expect(try UnixHTTP.post(daemon.socket, "/api/v4/server_busy?seconds=60").status == 200)
        defer { _ = try? UnixHTTP.delete(daemon.socket, "/api/v4/server_busy") }
        for args in [["--json", "--socket", daemon.socket, "system", "getbusy"], ["--socket=\(daemon.socket)", "--json", "system", "getbusy"],
                     ["system", "getbusy", "--json", "--socket", daemon.socket]] {
            let r = try Command.run(Paths.stewardctl, args)
            #expect(r.status == 0 && r.stdout.contains("\"busy\" : true"), "\(args): \(r)")
        }
        let quiet = try Command.run(Paths.stewardctl, ["--quiet", "--socket", daemon.socket, "cache", "invalidate"])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty, "\(quiet)")
        let unknown = try Command.run(Paths.stewardctl, ["--jsn", "--socket", daemon.socket, "system", "getbusy"])
        #expect(unknown.status == 64, "a typo before the subcommand stays a usage error: \(unknown)")
    }

    /// Every command's --help shows an example.
    @Test func everyHelpShowsAnExample() throws {
        let commands = [[], ["system"], ["system", "ping"], ["system", "getbusy"], ["system", "setbusy"], ["system", "clearbusy"],
                        ["config"], ["config", "migrate"], ["config", "show"], ["config", "reload"], ["job"], ["job", "list"], ["job", "show"],
                        ["job", "create"], ["job", "wait"], ["job", "cancel"], ["job", "update"], ["job", "logs"], ["job", "download"],
                        ["job", "delete"], ["job", "types"], ["cache"], ["cache", "invalidate"], ["db"], ["db", "recycle"], ["integrity"],
                        ["cluster"], ["cluster", "status"]]
        for c in commands {
            let help = try Command.run(Paths.stewardctl, c + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("Example: stewardctl"), "\(c): \(help.stdout)")
        }
    }

    /// `job create --wait` draws a bar with progress and status on a terminal (here `script`'s
    /// pseudo-terminal) and prints only the job in a pipe.
    @Test func waitDrawsABarOnATerminalAndNothingExtraInAPipe() throws {
        let piped = try Command.stewardctl(["job", "create", "db_optimize", "--wait"], socket: daemon.socket)
        #expect(piped.status == 0 && piped.stdout.hasPrefix("ID: ") && !piped.stdout.contains("%"), "\(piped.stdout)")
        let tty = try Command.run("/usr/bin/script", ["-qec", "\(Paths.stewardctl) job create db_optimize --wait --socket \(daemon.socket)", "/dev/null"])
        #expect(tty.status == 0, "\(tty)")
        #expect(tty.stdout.contains("\r[####################] 100% success"), "\(tty.stdout.debugDescription)")
        #expect(tty.stdout.contains("Status: success"))
    }

    @Test func quietPrintsNothing() throws {
        let r = try Command.stewardctl(["cache", "invalidate", "--quiet"], socket: daemon.socket)
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty)
        let db = try Command.stewardctl(["db", "recycle"], socket: daemon.socket)
        #expect(db.status == 0 && db.stdout == "Database connections recycled\n")
        let ping = try Command.stewardctl(["system", "ping", "--server-status"], socket: daemon.socket)
        #expect(ping.stdout.hasPrefix("Server status: OK, database: OK"))
    }

    @Test func serverErrorsPrintTheMessageAndExit1() throws {
        let r = try Command.stewardctl(["system", "setbusy", "-s", "90000"], socket: daemon.socket)
        #expect(r.status == 1)
        #expect(r.stderr == "Error: unable to set busy state: Invalid or missing seconds must be 1 - 86400 parameter in request URL.\n")
    }

    @Test func usageErrorsExit64() throws {
        #expect(try Command.stewardctl(["system", "setbusy", "-s", "0"], socket: daemon.socket).status == 64)
        #expect(try Command.stewardctl(["system", "bogus"], socket: daemon.socket).status == 64)
    }

    @Test func unreachableDaemonExits69() throws {
        let missing = try Command.stewardctl(["system", "ping"], socket: dir + "/nope.sock")
        #expect(missing.status == 69)
        #expect(missing.stderr.contains("doesn't exist"))
        let stale = dir + "/stale.sock"
        makeStaleSocket(at: stale)
        #expect(try Command.stewardctl(["system", "ping"], socket: stale).status == 69)
    }

    @Test func environmentSelectsTheSocket() throws {
        let r = try Command.run(Paths.stewardctl, ["system", "ping"], environment: ["STEWARD_SOCKET": daemon.socket])
        #expect(r.status == 0)
    }

    @Test(.enabled(if: Paths.isRoot, "needs root to chown a socket to another user"))
    func refusesASocketOwnedBySomeoneElse() throws {
        TestUsers.ensure
        let planted = dir + "/planted.sock"
        makeStaleSocket(at: planted)
        let uid = try #require(TestUsers.uid(of: TestUsers.nobody))
        #expect(chown(planted, uid, UInt32.max) == 0)
        let r = try Command.stewardctl(["system", "ping"], socket: planted)
        #expect(r.status == 1)
        #expect(r.stderr.contains("neither root nor you"))
    }
}
