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

    /// A cluster of a test's own that also listens on 127.0.0.1 (libpq never uses TLS on a Unix
    /// socket) with TLS on: a server certificate for `localhost` only (127.0.0.1 is a host-name
    /// mismatch to test) signed by a CA made for it (`caCertificate`), and a second CA that signed
    /// nothing (`otherCACertificate`).
    public static func makePrivateWithTLS() throws -> PostgresTestCluster { try PostgresTestCluster(tls: true) }

    /// The TCP port (nil: Unix socket only).
    public private(set) var tcpPort: Int?
    /// The server's port: its Unix socket is named after it too (`.s.PGSQL.<port>`).
    public var port: Int { tcpPort ?? 5432 }
    public var caCertificate: String { directory + "/tls/ca.crt" }
    public var otherCACertificate: String { directory + "/tls/other-ca.crt" }

    /// Restarts a TLS cluster with TLS on or off (its settings are given on the command line,
    /// which `ALTER SYSTEM` does not override).
    public func restart(tls: Bool) throws {
        stop()
        serverSettings = serverSettings.map { $0.hasPrefix("ssl=") ? "ssl=\(tls ? "on" : "off")" : $0 }
        try start()
    }

    /// A DSN in Mattermost's form for `database` over TCP to `host` (TLS clusters).
    public func tcpDSN(database: String, host: String = "localhost", query: String) -> String {
        let pass = Self.superuserPassword.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        return "postgres://\(Self.superuser):\(pass)@\(host):\(tcpPort ?? 0)/\(database)?connect_timeout=10&" + query
    }

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

    private var serverSettings: [String] = ["listen_addresses="]

    init(tls: Bool = false) throws {
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
        if tls { try makeCertificates() }
        try start()
    }

    /// Starts the server (again, after `stop`), and waits until it accepts connections.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        guard server == nil else { return }
        let p = Process()
        let args = [binDirectory + "/postgres", "-D", directory + "/data", "-k", directory, "-c", "fsync=off",
                    "-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "unix_socket_permissions=0777"] + serverSettings.flatMap { ["-c", $0] }
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
            if FileManager.default.fileExists(atPath: directory + "/.s.PGSQL.\(port)"),
               (try? run(binDirectory + "/pg_isready", ["-h", directory, "-p", "\(port)", "-q"]).status) == 0 { return }
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
        let port = tcpPort.map { "&port=\($0)" } ?? ""
        return "postgres://\(user)\(pass)@/\(database)?host=\(directory)\(port)&sslmode=disable&connect_timeout=10" + extra
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
        let r = try run(binDirectory + "/psql", ["-h", directory, "-p", "\(port)", "-U", Self.superuser, "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                        environment: ["PGPASSWORD": Self.superuserPassword])
        guard r.status == 0 else { throw SetupError(description: "psql failed: \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A CA, a server certificate signed by it for `localhost` (EC keys: quick to make), an
    /// unrelated CA; TLS on, and a TCP listener on a free port of 127.0.0.1.
    private func makeCertificates() throws {
        let tls = directory + "/tls"
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        try "subjectAltName=DNS:localhost\n".write(toFile: tls + "/san.ext", atomically: false, encoding: .utf8)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for args in [
            ["req", "-x509"] + key + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=steward test CA"],
            ["req", "-x509"] + key + ["-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2", "-subj", "/CN=steward test CA"],
            ["req"] + key + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext"],
        ] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: tls)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw SetupError(description: "openssl \(args.prefix(2).joined(separator: " ")) failed") }
        }
        // The server refuses a key others can read; it runs as the cluster's owner.
        chmod(tls + "/server.key", 0o600)
        if let owner { chown(tls + "/server.key", owner.uid, owner.gid) }
        let port = try Self.freePort()
        tcpPort = port
        serverSettings = ["listen_addresses=127.0.0.1", "port=\(port)", "ssl=on",
                          "ssl_cert_file=\(tls)/server.crt", "ssl_key_file=\(tls)/server.key"]
    }

    /// A TCP port of 127.0.0.1 free now (bound to port 0 and let go).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw SetupError(description: "no free TCP port on 127.0.0.1") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Runs `sql` in a psql session of its own that stays open — for example holding a lock in a
    /// transaction with `SELECT pg_sleep(…)` last — until the process is terminated or the server
    /// stops. Callers wait for what it holds through `psql` (`pg_locks`).
    public func hold(_ database: String, _ sql: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDirectory + "/psql")
        p.arguments = ["-h", directory, "-p", "\(port)", "-U", Self.superuser, "-d", database, "-X", "-q", "-c", sql]
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
