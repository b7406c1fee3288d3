import Foundation
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster for the tests: `initdb` into a temporary directory (as the
/// `postgres` user when the tests run as root, since the server refuses root), a Unix socket in
/// that directory and no TCP listener, password logins (md5 or SCRAM-SHA-256, as the role's
/// password is stored). Started once per test process on first use; stopped by its pid when the
/// process exits, and its directory removed.
public final class PostgresTestCluster: @unchecked Sendable {
    /// The cluster, or nil when PostgreSQL is not installed (`unavailableReason` says why).
    public static let shared: PostgresTestCluster? = {
        do {
            let cluster = try PostgresTestCluster()
            running = cluster
            atexit {
                guard let cluster = PostgresTestCluster.running else { return }
                cluster.stop()
                try? FileManager.default.removeItem(atPath: cluster.directory)
            }
            return cluster
        } catch {
            startFailure = "\(error)"
            return nil
        }
    }()

    nonisolated(unsafe) static var running: PostgresTestCluster?
    nonisolated(unsafe) static var startFailure: String?

    /// A cluster of a test's own, for tests that stop and start the server (the shared one serves
    /// tests running meanwhile). The caller stops it (`stopAndRemove`).
    public static func makePrivate() throws -> PostgresTestCluster { try PostgresTestCluster() }

    /// Stops the server and removes its directory.
    public func stopAndRemove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Why the PostgreSQL tests are skipped (nil: they run).
    public static var unavailableReason: String? {
        _ = shared
        return startFailure
    }

    /// The superuser's name and password.
    public static let superuser = "steward_admin"
    public static let superuserPassword = "s3cret-admin-pw"

    public let directory: String
    public var socketDirectory: String { directory }
    public let binDirectory: String
    private let lock = NSLock()
    private var server: Process?
    private let owner: (uid: uid_t, gid: gid_t, name: String)?

    struct SetupError: Error, CustomStringConvertible { var description: String }

    init() throws {
        guard let bin = Self.findBinaries() else { throw SetupError(description: "PostgreSQL server binaries (initdb, postgres) are not installed") }
        binDirectory = bin
        if getuid() == 0 {
            guard let pw = getpwnam("postgres") else { throw SetupError(description: "running as root, and there is no postgres user to run the server as") }
            owner = (pw.pointee.pw_uid, pw.pointee.pw_gid, "postgres")
        } else {
            owner = nil
        }
        let dir = NSTemporaryDirectory() + "steward-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        if let owner { chown(dir, owner.uid, owner.gid) }
        directory = dir
        let pwfile = dir + "/pwfile"
        try Self.superuserPassword.write(toFile: pwfile, atomically: false, encoding: .utf8)
        if let owner { chown(pwfile, owner.uid, owner.gid) }
        let initdb = try run(bin + "/initdb", ["-D", dir + "/data", "-U", Self.superuser, "--pwfile", pwfile, "-A", "md5", "-E", "UTF8", "--no-sync"])
        guard initdb.status == 0 else { throw SetupError(description: "initdb failed: \(initdb.output)") }
        try start()
    }

    /// Starts the server (again, after `stop`), and waits until it accepts connections.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        guard server == nil else { return }
        let p = Process()
        let args = [binDirectory + "/postgres", "-D", directory + "/data", "-k", directory, "-c", "listen_addresses=", "-c", "fsync=off",
                    "-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "unix_socket_permissions=0777"]
        if let owner {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(owner.uid)", "--regid=\(owner.gid)", "--init-groups", "--"] + args
        } else {
            p.executableURL = URL(fileURLWithPath: args[0])
            p.arguments = Array(args.dropFirst())
        }
        let log = FileHandle(forWritingAtPath: directory + "/server.log") ?? {
            FileManager.default.createFile(atPath: directory + "/server.log", contents: nil)
            return FileHandle(forWritingAtPath: directory + "/server.log")!
        }()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        server = p
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: directory + "/.s.PGSQL.5432"),
               (try? run(binDirectory + "/pg_isready", ["-h", directory, "-q"]).status) == 0 { return }
            guard p.isRunning else { break }
            usleep(50_000)
        }
        let text = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
        throw SetupError(description: "the PostgreSQL server did not start: \(text.suffix(2000))")
    }

    /// Stops the server (a fast shutdown by its pid) and waits for it to exit.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard let p = server else { return }
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        server = nil
    }

    /// The server's pid (nil while stopped).
    public var pid: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return server?.processIdentifier
    }

    /// A DSN in Mattermost's form for `database` on this cluster's socket.
    public func dsn(database: String, user: String = superuser, password: String? = superuserPassword, extra: String = "") -> String {
        let pass = password.map { ":" + $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! } ?? ""
        return "postgres://\(user)\(pass)@/\(database)?host=\(directory)&sslmode=disable&connect_timeout=10" + extra
    }

    /// A new, empty database; its name.
    public func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try psql("postgres", "CREATE DATABASE \(name)")
        return String(name)
    }

    /// Runs SQL through psql as the superuser; returns its output (unaligned, tuples only).
    @discardableResult
    public func psql(_ database: String, _ sql: String) throws -> String {
        let r = try run(binDirectory + "/psql", ["-h", directory, "-U", Self.superuser, "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                        environment: ["PGPASSWORD": Self.superuserPassword])
        guard r.status == 0 else { throw SetupError(description: "psql failed: \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `sql` in a psql session of its own that stays open — for example holding a lock in a
    /// transaction with `SELECT pg_sleep(…)` last — until the process is terminated or the server
    /// stops. Callers wait for what it holds through `psql` (`pg_locks`).
    public func hold(_ database: String, _ sql: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDirectory + "/psql")
        p.arguments = ["-h", directory, "-U", Self.superuser, "-d", database, "-X", "-q", "-c", sql]
        p.environment = ProcessInfo.processInfo.environment.merging(["PGPASSWORD": Self.superuserPassword]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Runs a tool as the cluster's owner; its exit status and combined output.
    func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let p = Process()
        if let owner, !tool.hasSuffix("/psql"), !tool.hasSuffix("/pg_isready") {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(owner.uid)", "--regid=\(owner.gid)", "--init-groups", "--", tool] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = arguments
        }
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func findBinaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        for v in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") {
            return "\(root)/\(v)/bin"
        }
        return nil
    }

    deinit { stop() }
}
