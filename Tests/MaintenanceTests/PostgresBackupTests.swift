@testable import Maintenance
import StewardModel
import Testing

/// pg_dump is given the DSN without its password (a command line is readable by every user in
/// /proc); the password goes in its environment only, and values are quoted for libpq.
@Suite struct PostgresBackupTests {
    @Test func thePasswordIsNeverOnTheCommandLine() throws {
        let dsn = try PostgresDSN("postgres://mm:hunter22@db.example:5433/mattermost?sslmode=require&application_name=o%27brien")
        let conninfo = PostgresBackup.conninfo(dsn)
        #expect(!conninfo.contains("hunter22"))
        #expect(conninfo == #"user='mm' host='db.example' port='5433' dbname='mattermost' sslmode='require' application_name='o\'brien'"#)
        #expect(PostgresBackup.environment(dsn, application: "x")["PGPASSWORD"] == "hunter22")
    }
}
