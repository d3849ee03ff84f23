import Foundation
import HealthSync
import HealthSyncPostgres
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL server the tests run ``PostgresHealthStore`` on: the URL in `HEALTHSYNC_TEST_POSTGRES_URL`
/// (`.ci/postgres.sh start` starts a throwaway server and prints it).
///
/// Without it the PostgreSQL tests are skipped, saying why (``skipReason``), except in CI (`CI` set), where nothing is
/// skipped: there ``StoreKind/postgres`` is among the kinds and its stores fail to open.
///
/// Every store of the tests lives in a schema of its own (``makeStore()``), so tests run in parallel on one database
/// without seeing each other's rows, on one client shared by the whole test process.
public enum PostgresTestDatabase {
    /// The environment variable that holds the server's URL.
    public static let urlVariable = "HEALTHSYNC_TEST_POSTGRES_URL"

    /// The server's URL, or `nil` when the variable is unset or empty.
    public static let url: String? = ProcessInfo.processInfo.environment[urlVariable].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether the tests run in CI, where no test is skipped.
    public static let inCI = ProcessInfo.processInfo.environment["CI"] != nil

    /// Whether the PostgreSQL tests run: a server is given, or CI requires them (and they fail without one).
    public static let isEnabled = url != nil || inCI

    /// Why the PostgreSQL tests are skipped when they are.
    public static let skipReason: Comment = """
        HEALTHSYNC_TEST_POSTGRES_URL is not set: no PostgreSQL server to test on (`.ci/postgres.sh start` starts one \
        and prints its URL); CI fails instead of skipping
        """

    /// The client every test store shares, or why there is none.
    ///
    /// It runs for the rest of the test process in a task of its own: the stores of ``StoreKind`` are made by
    /// synchronous factories in tests that have no service group, so no structured task can own the client. Its pool
    /// is small, so that tests running in parallel wait for a connection rather than exhaust the server's.
    static let client: Result<PostgresClient, StorageError> = {
        guard let url else {
            return .failure(StorageError(code: .unavailable, message: "\(urlVariable) is not set"))
        }
        do throws(StorageError) {
            var configuration = try PostgresDatabaseURL(url).configuration
            configuration.options.maximumConnections = 12
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            // Unstructured on purpose (see above): the client must run before the first store uses it.
            Task { await client.run() }
            return .success(client)
        } catch {
            return .failure(error)
        }
    }()

    /// The logger of the tests' stores: nothing is logged.
    public static let logger = Logger(label: "healthsync.tests.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A new schema name, unique to one store: `test_` and a random UUID's hexadecimal digits.
    public static func newSchemaName() -> String {
        "test_" + UUID().uuidString.lowercased().filter { $0 != "-" }
    }

    /// A new store on the shared client, in `schema` of the test database (created on the store's first use): by
    /// default a new, empty schema.
    /// - Throws: ``HealthSync/StorageError`` with ``HealthSync/StorageError/Code/unavailable`` when no server is
    ///   given (``urlVariable`` unset), or what parsing its URL throws.
    ///
    /// The store waits up to ten minutes for a connection: the tests running in parallel share a small pool, and a
    /// loaded machine must make them slow, not fail them as ``HealthSync/StorageError/Code/unavailable``.
    public static func makeStore(schema: String = newSchemaName()) throws -> PostgresHealthStore {
        try PostgresHealthStore(client: client.get(), schema: schema, leaseTimeout: .seconds(600), logger: logger)
    }

    /// The configuration the URL describes, for tests that make a client of their own.
    /// - Throws: ``HealthSync/StorageError`` as for ``makeStore()``.
    public static func configuration() throws -> PostgresClient.Configuration {
        guard let url else { throw StorageError(code: .unavailable, message: "\(urlVariable) is not set") }
        return try PostgresDatabaseURL(url).configuration
    }

    /// Runs `body` with the URL of a new, empty database on the test server (`test_` and a random UUID's digits), and
    /// drops the database afterwards: for what works on a whole database, such as the command line's `--db URL`, which
    /// uses its `public` schema.
    /// - Throws: ``HealthSync/StorageError`` with ``HealthSync/StorageError/Code/unavailable`` when no server is
    ///   given, what the server answers to `CREATE DATABASE`, or what `body` throws.
    public static func withDatabase<T>(_ body: (_ url: String) async throws -> T) async throws -> T {
        guard let url else { throw StorageError(code: .unavailable, message: "\(urlVariable) is not set") }
        let client = try self.client.get()
        let name = newSchemaName()
        try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        var components = try #require(URLComponents(string: url))
        components.path = "/" + name
        let databaseURL = try #require(components.string)
        do {
            let result = try await body(databaseURL)
            try await drop(name, on: client)
            return result
        } catch {
            try? await drop(name, on: client)
            throw error
        }
    }

    /// Drops database `name`, closing its sessions that a command left behind.
    static func drop(_ name: String, on client: PostgresClient) async throws {
        try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
    }
}
