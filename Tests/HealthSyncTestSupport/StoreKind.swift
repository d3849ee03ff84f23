import Foundation
import HealthSync
import HealthSyncPostgres
import HealthSyncSQLite
import Testing

/// The stores the package's tests run over. The contract tests run over every kind; tests of what is built on a
/// store run over a subset, such as ``inMemoryKinds``.
public enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// ``InMemoryHealthStore``.
    case inMemory
    /// ``SQLiteHealthStore/inMemory()``.
    case sqliteInMemory
    /// ``SQLiteHealthStore`` on a file in a temporary directory (WAL, `synchronous = FULL`).
    case sqliteFile
    /// ``SQLiteHealthStore`` on a file without its context cache: every read is SQL.
    case sqliteFileUncached
    /// ``SQLiteHealthStore`` on a file with a context cache of 40 entries, which drops entries all the time.
    case sqliteFileTinyCache
    /// ``PostgresHealthStore`` in a new schema of the test server (``PostgresTestDatabase``). Among ``allCases`` only
    /// when the PostgreSQL tests are enabled: a server is given, or CI requires one.
    case postgres

    /// Every kind whose tests run here: the PostgreSQL store only when ``PostgresTestDatabase/isEnabled`` (without a
    /// server, the suite `PostgresHealthStoreTests` says why it is skipped).
    public static let allCases: [StoreKind] =
        [.inMemory, .sqliteInMemory, .sqliteFile, .sqliteFileUncached, .sqliteFileTinyCache] + postgresKinds

    /// ``postgres`` when the PostgreSQL tests are enabled, else nothing: what the differential tests that run over
    /// chosen kinds add to their list.
    public static let postgresKinds: [StoreKind] = PostgresTestDatabase.isEnabled ? [.postgres] : []

    /// One store of each implementation, kept in memory: what the processor, fixture and audit tests run over.
    public static let inMemoryKinds: [StoreKind] = [.inMemory, .sqliteInMemory]

    /// The name of the kind, as test reports show it.
    public var testDescription: String { rawValue }

    /// Whether the store keeps its database in a file, which ``makeStore(at:)`` puts at its path.
    public var isFile: Bool {
        switch self {
        case .inMemory, .sqliteInMemory, .postgres: false
        case .sqliteFile, .sqliteFileUncached, .sqliteFileTinyCache: true
        }
    }

    /// A new, empty store of a kind that keeps no file: one of ``inMemoryKinds``, or ``postgres`` (a new schema on
    /// the test server).
    ///
    /// A kind that keeps its database in a file needs a path: it is a programmer error to ask it here; use
    /// ``makeStore(in:)`` or ``makeStore(at:)``.
    public func makeStore() throws -> any HealthStoreQueries & HealthStoreRetention {
        switch self {
        case .inMemory: InMemoryHealthStore()
        case .sqliteInMemory: try SQLiteHealthStore.inMemory()
        case .postgres: try PostgresTestDatabase.makeStore()
        case .sqliteFile, .sqliteFileUncached, .sqliteFileTinyCache:
            preconditionFailure("\(rawValue) keeps its database in a file: use makeStore(in:) or makeStore(at:)")
        }
    }

    /// A new store; a file store opens the database at `path`, which the other kinds do not use.
    public func makeStore(at path: String) throws -> any HealthStoreQueries & HealthStoreRetention {
        switch self {
        case .inMemory, .sqliteInMemory, .postgres: try makeStore()
        case .sqliteFile: try SQLiteHealthStore(path: path)
        case .sqliteFileUncached: try SQLiteHealthStore(path: path, contextCacheCapacity: 0)
        case .sqliteFileTinyCache: try SQLiteHealthStore(path: path, contextCacheCapacity: 40)
        }
    }

    /// A new, empty store; a file store gets a new file in `directory`, which the other kinds do not use.
    public func makeStore(in directory: URL) throws -> any HealthStoreQueries & HealthStoreRetention {
        try makeStore(at: temporaryFile(in: directory))
    }

    /// A factory of empty stores, for `HealthStoreConformance`; file stores each get a new file in `directory`.
    public func factory(in directory: URL) -> @Sendable () async throws -> any HealthStoreQueries {
        { try makeStore(in: directory) }
    }
}
