import HealthSync
import HealthSyncPostgres
import PostgresNIO
import Testing

/// ``PostgresDatabaseURL``: libpq's URL form, `sslmode`, and a password that no message shows. No server needed.
@Suite struct PostgresDatabaseURLTests {
    @Test func readsEveryPartOfTheURL() throws {
        let url = try PostgresDatabaseURL("postgres://health%40sync:p%40ss%2Fword@db.example.com:6543/health%20db")
        #expect(url.configuration.host == "db.example.com")
        #expect(url.configuration.port == 6543)
        #expect(url.configuration.username == "health@sync")
        #expect(url.configuration.password == "p@ss/word")
        #expect(url.configuration.database == "health db")
    }

    @Test func fillsInPostgreSQLsDefaults() throws {
        let url = try PostgresDatabaseURL("postgresql://localhost")
        #expect(url.configuration.port == 5432)
        #expect(url.configuration.username == "postgres")
        #expect(url.configuration.password == nil)
        #expect(url.configuration.database == "postgres")
        let named = try PostgresDatabaseURL("POSTGRES://alice@[::1]")
        #expect(named.configuration.host == "::1")
        #expect(named.configuration.database == "alice")
    }

    @Test(arguments: ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
    func takesEverySSLMode(mode: String) throws {
        _ = try PostgresDatabaseURL("postgres://u@h/d?sslmode=\(mode)")
    }

    @Test func connectsToASocketDirectory() throws {
        let url = try PostgresDatabaseURL("postgres://u@/d?host=/var/run/postgresql")
        #expect(url.configuration.unixSocketPath == "/var/run/postgresql/.s.PGSQL.5432")
        #expect(url.configuration.host == nil)
    }

    @Test func tellsURLsFromFilePaths() {
        #expect(PostgresDatabaseURL.isPostgresURL("postgres://h/d"))
        #expect(PostgresDatabaseURL.isPostgresURL("PostgreSQL://h/d"))
        #expect(!PostgresDatabaseURL.isPostgresURL("health.sqlite"))
        #expect(!PostgresDatabaseURL.isPostgresURL("/var/lib/postgres/health.sqlite"))
        #expect(!PostgresDatabaseURL.isPostgresURL("postgres.sqlite"))
    }

    @Test(arguments: [
        "postgres://user:s3cret-pw@h/d?sslmode=maybe",
        "postgres://user:s3cret-pw@h/d?application_name=x",
        "postgres://user:s3cret-pw@h:99999/d",
        "postgres://user:s3cret-pw@/d",
        "mysql://user:s3cret-pw@h/d",
    ])
    func refusesABadURLWithoutShowingItsPassword(text: String) {
        let error = #expect(throws: StorageError.self) { try PostgresDatabaseURL(text) }
        #expect(error?.code == .failed)
        #expect(error?.message.contains("s3cret-pw") == false, "\(String(describing: error))")
        #expect(error?.message.contains("user:***@") == true, "\(String(describing: error))")
    }

    @Test func showsTheURLWithoutItsPassword() throws {
        let url = try PostgresDatabaseURL("postgres://user:s3cret%40pw@h:5432/d?sslmode=require")
        #expect(url.description == "postgres://user:***@h:5432/d?sslmode=require")
        #expect("\(url)".contains("s3cret") == false)
        #expect(try PostgresDatabaseURL("postgres://user@h/d").redacted == "postgres://user@h/d")
    }
}
