import Foundation
import Postgres
import PostgresTestSupport
import StewardModel
import Testing

/// TLS as `sslmode` says, over TCP to a cluster of the test's own with TLS on (libpq uses no TLS
/// on a Unix socket): what each mode accepts and refuses, and refusals that say why and show no
/// password.
@Suite("PostgreSQL TLS per sslmode", .serialized,
       .enabled(if: PostgresTestCluster.unavailableReason == nil, "\(PostgresTestCluster.unavailableReason ?? "")"),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "openssl is not installed"))
struct PGTLSTests {
    func connect(_ cluster: PostgresTestCluster, host: String = "localhost", _ query: String) throws -> PGConnection {
        try PGConnection(try PostgresDSN(cluster.tcpDSN(database: "postgres", host: host, query: query)))
    }

    func usesTLS(_ c: PGConnection) throws -> String? {
        try c.query("SELECT ssl::text || ' ' || coalesce(version, '') FROM pg_stat_ssl WHERE pid = pg_backend_pid()").scalar
    }

    func refusal(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "connected"
        } catch {
            return "\(error)"
        }
    }

    @Test func everySSLModeDoesWhatItSays() throws {
        let cluster = try PostgresTestCluster.makePrivateWithTLS()
        defer { cluster.stopAndRemove() }
        let ca = "sslrootcert=" + cluster.caCertificate.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!

        // Encrypted: require and prefer (no check of the certificate), verify-ca and verify-full
        // against the CA that signed it.
        for query in ["sslmode=require", "sslmode=prefer", "sslmode=verify-ca&\(ca)", "sslmode=verify-full&\(ca)"] {
            let state = try usesTLS(try connect(cluster, query))
            #expect(state?.hasPrefix("true TLSv1.") == true, "\(query): \(state ?? "no row")")
        }
        #expect(try usesTLS(try connect(cluster, "sslmode=disable")) == "false ", "disable: in the clear")

        // Refused, each with its reason.
        let cases: [(host: String, query: String, reason: String)] = [
            ("localhost", "sslmode=verify-ca&sslrootcert=" + cluster.otherCACertificate.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, "certificate verify failed"),
            ("127.0.0.1", "sslmode=verify-full&\(ca)", "does not match host name"),
        ]
        for c in cases {
            let why = refusal { _ = try connect(cluster, host: c.host, c.query) }
            #expect(why.contains(c.reason), "\(c.query) to \(c.host): \(why)")
            #expect(!why.contains(PostgresTestCluster.superuserPassword), "\(why)")
        }
    }

    /// A server without TLS: `require` is refused, `prefer` falls back to the clear.
    @Test func requireRefusesAServerWithoutTLS() throws {
        let cluster = try PostgresTestCluster.makePrivateWithTLS()
        defer { cluster.stopAndRemove() }
        try cluster.restart(tls: false)
        let why = refusal { _ = try connect(cluster, "sslmode=require") }
        #expect(why.contains("server does not support SSL"), "\(why)")
        #expect(try usesTLS(try connect(cluster, "sslmode=prefer")) == "false ")
    }
}
