import StewardModel
import Testing

/// Mattermost's DSN form, parsed into libpq keywords; the password never shown.
@Suite struct PostgresDSNTests {
    func keywords(_ text: String) throws -> [String: String] {
        Dictionary(try PostgresDSN(text).keywords.map { ($0.name, $0.value) }) { $1 }
    }

    @Test func mattermostsDefaultDataSource() throws {
        // Mattermost's config.json default, lib/pq's binary_parameters included.
        let text = "postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10&binary_parameters=yes"
        let k = try keywords(text)
        #expect(k == ["user": "mmuser", "password": "mostest", "host": "localhost", "dbname": "mattermost_test",
                      "sslmode": "disable", "connect_timeout": "10"])
        #expect(try PostgresDSN(text).description == "postgres://mmuser:****@localhost/mattermost_test?sslmode=disable&connect_timeout=10&binary_parameters=yes")
    }

    @Test func aUnixSocketDirectoryAndAPort() throws {
        #expect(try keywords("postgres://mmuser@/mattermost?host=/run/postgresql") == ["user": "mmuser", "dbname": "mattermost", "host": "/run/postgresql"])
        #expect(try keywords("postgresql://u:p@[::1]:5433/db") == ["user": "u", "password": "p", "host": "::1", "port": "5433", "dbname": "db"])
        #expect(try keywords("postgres://u@db.example:6432/x")["port"] == "6432")
    }

    @Test func percentEscapesAndAnAtSignInThePassword() throws {
        let k = try keywords("postgres://mm%40user:p%3Aa@ss%2Fw@host/db")
        #expect(k["user"] == "mm@user" && k["password"] == "p:a@ss/w" && k["host"] == "host")
        #expect(!(try PostgresDSN("postgres://mm%40user:p%3Aa@ss%2Fw@host/db").description.contains("ss%2Fw")))
    }

    @Test func otherParametersAreServerSettingsAsInLibPQ() throws {
        let k = try keywords("postgres://u@h/db?search_path=mm%20schema&application_name=x&statement_timeout=5000")
        #expect(k["application_name"] == "x")
        #expect(k["options"] == #"-c search_path=mm\ schema -c statement_timeout=5000"#)
    }

    @Test func aPasswordParameterIsMaskedToo() throws {
        let dsn = try PostgresDSN("postgres://u@h/db?password=hunter22&sslmode=require")
        #expect(dsn.value("password") == "hunter22")
        #expect(dsn.description == "postgres://u@h/db?password=****&sslmode=require")
        #expect(dsn.masking("server said: hunter22 is wrong") == "server said: **** is wrong")
    }

    @Test func badDataSourcesAreRefusedWithoutTheirPassword() {
        let bad = [
            "mysql://u:hunter22@h/db", "postgres://u:hunter22@h:0/db", "postgres://u:hunter22@h:port/db",
            "postgres://u:hunter22@h/db?sslmode=sometimes", "postgres://u:hunter22@h/db?connect_timeout=soon",
            "postgres://u:hunter22@[::1/db", "postgres://u:hunter22@h/d%zzb", "postgres://u:hunter22@h/db?bad-name=1",
            "postgres://u:hunter22@h/d%00b",
        ]
        for text in bad {
            do {
                _ = try PostgresDSN(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(!error.description.contains("hunter22"), "\(error)")
            }
        }
    }

    @Test func textThatDoesNotParseIsStillRedacted() {
        #expect(PostgresDSN.redacted("postgres://mm:hunter22@host:99999/db?x=1") == "postgres://mm:****@host:99999/db?x=1")
        #expect(PostgresDSN.redacted("postgres://mm@h/db?sslmode=bad&password=hunter22") == "postgres://mm@h/db?sslmode=bad&password=****")
        #expect(PostgresDSN.redacted("postgres://mm:hunter22@h/db") == "postgres://mm:****@h/db")
        #expect(PostgresDSN.redacted("config.json") == "config.json")
    }

    @Test func equalityIsByKeywords() throws {
        #expect(try PostgresDSN("postgres://u:p@h/db") == PostgresDSN("postgresql://u:p@h/db"))
        #expect(try PostgresDSN("postgres://u:p@h/db") != PostgresDSN("postgres://u:p@h/other"))
    }
}
