import ArgumentParser
import Foundation
import HealthSync
import HealthSyncPostgres
import HealthSyncSQLite
import Logging
import PostgresNIO

/// `--db PATH` or `--db URL`: the one place where commands open their store. A PostgreSQL URL
/// (`postgres://user:password@host:port/database?sslmode=MODE`, also `postgresql://`) opens a ``PostgresHealthStore``
/// in the database's `public` schema; anything else is the path of an SQLite file. Without `--db`, the environment
/// variable `HEALTHSYNC_DB` names the database, else `healthsync.sqlite`. A URL's password is never printed: messages
/// show the URL as `postgres://user:***@host/…` (``displayName(of:)``).
///
/// Commands that need the database without this option group (`audit`, whose `--db` excludes payload files) call
/// the static ``openStore(at:creating:readOnly:console:cache:)``: an option group built by hand has no parsed values, and
/// reading its properties is a fatal error of the argument parser.
struct DatabaseOptions: ParsableArguments {
    /// The database file used without `--db` and `HEALTHSYNC_DB`.
    static let defaultPath = "healthsync.sqlite"

    /// The environment variable that names the database when `--db` is not given: a path or a PostgreSQL URL, which
    /// then stays off the command line (and out of `ps`).
    static let environmentVariable = "HEALTHSYNC_DB"

    /// The database used without `--db`: `HEALTHSYNC_DB` when it is set and not empty, else ``defaultPath``.
    static func defaultDatabase(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
    }

    // No default value in the declaration: the parser would print it in --help, and HEALTHSYNC_DB may hold a password.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The database file, or a PostgreSQL URL (postgres://user:password@host:port/database?sslmode=MODE); "
                + "default: HEALTHSYNC_DB, else healthsync.sqlite.",
            valueName: "path-or-url"))
    var db: String?

    /// The database to open: `--db`, else ``defaultDatabase(environment:)``.
    var location: String { db ?? Self.defaultDatabase() }

    /// `database` as messages show it: a PostgreSQL URL without its password, a path as it is.
    static func displayName(of database: String) -> String {
        guard PostgresDatabaseURL.isPostgresURL(database) else { return database }
        return PostgresDatabaseURL.redact(database)
    }

    /// Opens the database.
    /// - Parameters:
    ///   - creating: create the file when it does not exist (replay); otherwise a missing file is an error, so a
    ///     mistyped `--db` is reported instead of showing an empty database.
    ///   - readOnly: open the file without writing it (the commands that only inspect): it may be a read-only file
    ///     or in a read-only directory, and every commit fails.
    ///   - console: where a failure is reported.
    ///   - cache: the context cache's capacity (``CacheOptions``); the store's default when `nil`.
    /// - Throws: `ExitCode(2)` after printing why the database cannot be opened.
    func openStore(
        creating: Bool, readOnly: Bool = false, console: Console, cache: CacheOptions? = nil
    ) async throws -> any HealthStoreQueries & HealthStoreRetention {
        try await Self.openStore(at: location, creating: creating, readOnly: readOnly, console: console, cache: cache)
    }

    /// Takes the writer lock of the database (``WriterLock``) for `command`, then opens the database for writing.
    /// The caller keeps the lock for as long as it writes; a second writer fails at once. A PostgreSQL database takes
    /// no lock: its writers check versions, so several may share it (``WriterLock/none``).
    /// - Throws: `ExitCode(2)` after printing who holds the lock or why the database cannot be opened.
    func openWriter(
        command: String, creating: Bool, console: Console, cache: CacheOptions? = nil
    ) async throws -> (store: any HealthStoreQueries & HealthStoreRetention, lock: WriterLock) {
        try await Self.openWriter(at: location, command: command, creating: creating, console: console, cache: cache)
    }

    /// Takes the writer lock of the database at `db` and opens it for writing, as
    /// ``openWriter(command:creating:console:cache:)`` does.
    /// - Throws: `ExitCode(2)` after printing who holds the lock or why the database cannot be opened.
    static func openWriter(
        at db: String, command: String, creating: Bool, console: Console, cache: CacheOptions? = nil
    ) async throws -> (store: any HealthStoreQueries & HealthStoreRetention, lock: WriterLock) {
        if PostgresDatabaseURL.isPostgresURL(db) {
            let store = try await openPostgres(db, creating: creating, readOnly: false, console: console)
            return (store, WriterLock.none)
        }
        try checkPath(db, creating: creating, console: console)
        let lock = try WriterLock.acquire(database: db, command: command, console: console)
        let store = try await openStore(at: db, creating: creating, console: console, cache: cache)
        return (store, lock)
    }

    /// Closes `store`, which a command opened with ``openWriter(command:creating:console:cache:)``, then releases the
    /// command's writer `lock`: a SQLite file is settled (its write-ahead log checkpointed and deleted) when the
    /// command returns and another writer may take it (``HealthSyncSQLite/SQLiteHealthStore/close()``). A store that
    /// cannot be closed is reported as a warning; what it committed stays committed. A PostgreSQL store's client is
    /// shut down by the command's ``StoreServices``.
    static func close(_ store: any HealthStore, releasing lock: WriterLock, console: Console) {
        defer { withExtendedLifetime(lock) {} }
        guard let store = store as? SQLiteHealthStore else { return }
        do {
            try store.close()
        } catch {
            console.printError("warning: \(error)")
        }
    }

    /// Drops the event record's stream index of a SQLite `store` for a bulk load when its event record is empty
    /// (``HealthSyncSQLite/SQLiteHealthStore/deferEventStreamIndexForBulkLoad()``); returns whether it did, and then
    /// the command calls ``buildEventIndex(of:console:)`` when it ends. A store that cannot drop it keeps it, with a
    /// warning: the load is only slower.
    static func deferEventIndexForBulkLoad(of store: any HealthStore, console: Console) -> Bool {
        guard let store = store as? SQLiteHealthStore else { return false }
        do {
            return try store.deferEventStreamIndexForBulkLoad()
        } catch {
            console.printError("warning: \(error)")
            return false
        }
    }

    /// Builds the event record's stream index that ``deferEventIndexForBulkLoad(of:console:)`` dropped. One that
    /// cannot be built is reported as a warning: the events answer without it, and the next command that opens the
    /// file for writing builds it.
    static func buildEventIndex(of store: any HealthStore, console: Console) {
        guard let store = store as? SQLiteHealthStore else { return }
        do {
            try store.buildEventStreamIndex()
        } catch {
            console.printError("warning: \(error)")
        }
    }

    /// Opens the database at `db`, as ``openStore(creating:readOnly:console:cache:)`` does.
    /// - Throws: `ExitCode(2)` after printing why the database cannot be opened.
    static func openStore(
        at db: String, creating: Bool, readOnly: Bool = false, console: Console, cache: CacheOptions? = nil
    ) async throws -> any HealthStoreQueries & HealthStoreRetention {
        if PostgresDatabaseURL.isPostgresURL(db) {
            return try await openPostgres(db, creating: creating, readOnly: readOnly, console: console)
        }
        try checkPath(db, creating: creating, console: console)
        do {
            return try SQLiteHealthStore(
                path: db,
                readOnly: readOnly,
                contextCacheCapacity: cache?.contextCache ?? SQLiteHealthStore.defaultContextCacheCapacity
            )
        } catch {
            console.printError("error: cannot open database \(db): \(error)")
            throw ExitCode(2)
        }
    }

    /// Wall time for a command writing into `store`: on PostgreSQL the database server's clock
    /// (``PostgresServerClock``), which every machine sharing the database agrees on; the machine's clock otherwise, or
    /// when the server's cannot be read.
    static func wallTime(of store: any HealthStore) async -> Date {
        guard let store = store as? PostgresHealthStore else { return SystemClock().now }
        let clock = PostgresServerClock(store: store, logger: StoreServices.logger)
        _ = try? await clock.synchronize()
        return clock.now
    }

    /// How long a command waits for a PostgreSQL server before it gives up: a server that is down or a mistyped host
    /// is reported in seconds rather than after the connection pool's minute of retries.
    static let postgresConnectDeadline: Duration = .seconds(15)

    /// Opens the PostgreSQL database of `url` (its `public` schema) and runs the store's client in the command's
    /// ``StoreServices`` until the command returns.
    ///
    /// The database is checked at once: it must answer within ``postgresConnectDeadline`` and, unless `creating`,
    /// hold the store's tables (a mistyped database name is reported instead of showing an empty store); when `creating`,
    /// the schema is created and migrated. Read-only, its sessions refuse writes (`default_transaction_read_only`),
    /// so every commit fails with ``HealthSync/StorageError/Code/readOnly``.
    /// - Throws: `ExitCode(2)` after printing why the database cannot be used, without the URL's password.
    static func openPostgres(
        _ url: String, creating: Bool, readOnly: Bool, console: Console
    ) async throws -> PostgresHealthStore {
        let name = displayName(of: url)
        let store: PostgresHealthStore
        do throws(StorageError) {
            let parsed = try PostgresDatabaseURL(url)
            var configuration = readOnly ? parsed.readOnlyConfiguration : parsed.configuration
            configuration.options.connectTimeout = .seconds(5)
            let client = PostgresClient(configuration: configuration, backgroundLogger: StoreServices.clientLogger)
            try StoreServices.run(client)
            store = try PostgresHealthStore(client: client, logger: StoreServices.logger)
        } catch {
            console.printError("error: cannot open database \(name): \(error.message)")
            throw ExitCode(2)
        }
        // The deadline bounds reaching the server (one query), not the schema's preparation after it: a migration,
        // or the wait for another process's, takes the time it takes (under load, creating a new schema took more
        // than the 15 seconds and was reported as no connection).
        let outcome = await withDeadline(postgresConnectDeadline) {
            () async throws(StorageError) -> Bool in
            try await store.holdsSchema()
        }
        switch outcome {
        case .finished(.success(let holdsSchema)) where holdsSchema || creating:
            do throws(StorageError) {
                try await store.prepareSchema()
                return store
            } catch {
                console.printError("error: cannot open database \(name): \(error.message)")
            }
        case .finished(.success):
            console.printError(
                "error: no HealthSync tables in database \(name) (replay payloads first, or name another with --db)")
        case .finished(.failure(let error)):
            console.printError("error: cannot open database \(name): \(error.message)")
        case .timedOut:
            console.printError(
                "error: cannot open database \(name): no connection within \(postgresConnectDeadline) "
                    + "(is the server running, and the host and port right?)")
        }
        throw ExitCode(2)
    }

    /// What ``withDeadline(_:_:)`` ends with.
    enum DeadlineOutcome<Value: Sendable>: Sendable {
        case finished(Result<Value, StorageError>)
        case timedOut
    }

    /// Runs `body`, cancelled once `deadline` has passed.
    static func withDeadline<Value: Sendable>(
        _ deadline: Duration, _ body: @escaping @Sendable () async throws(StorageError) -> Value
    ) async -> DeadlineOutcome<Value> {
        await withTaskGroup(of: DeadlineOutcome<Value>?.self) { group in
            group.addTask {
                do throws(StorageError) {
                    return .finished(.success(try await body()))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                // Cancelled when `body` finishes first: then it says nothing.
                guard (try? await Task.sleep(for: deadline)) != nil else { return nil }
                return .timedOut
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let outcome = next { return outcome }
            }
            return .timedOut
        }
    }

    /// Refuses a path whose directory is missing, that names a directory, or (unless `creating`) that is missing.
    /// - Throws: `ExitCode(2)` after printing why.
    static func checkPath(_ db: String, creating: Bool, console: Console) throws {
        let fileManager = FileManager.default
        let url = URL(fileURLWithPath: db)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            console.printError("error: cannot open database \(db): directory \(directory) does not exist")
            throw ExitCode(2)
        }
        var databaseIsDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: db, isDirectory: &databaseIsDirectory), databaseIsDirectory.boolValue {
            let example = url.appendingPathComponent(defaultPath).path
            console.printError(
                "error: cannot open database \(db): it is a directory; --db names the database file (such as \(example))"
            )
            throw ExitCode(2)
        }
        if !creating, !fileManager.fileExists(atPath: db) {
            console.printError("error: no database at \(db) (replay payloads first, or name another with --db)")
            throw ExitCode(2)
        }
    }
}

/// `--context-cache N`: for the commands that process messages (`replay`; `serve` builds it from its settings).
struct CacheOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "How many check states of the streams lately written to keep in memory, so that their next messages "
                + "read nothing from the database (about 500 to 700 bytes each); 0 turns the cache off.",
            valueName: "count")
    )
    var contextCache = Self.replayDefault

    /// `replay`'s default: a bulk load comes back to every stream of a capture once per round, so a cache that holds
    /// them all answers every read after the first round, and one that holds a fifth only a fifth. 250,000 check
    /// states hold a capture of 2,500 streams of a hundred (the replay capture of Docs/performance.md: about 5 to 9 %
    /// less wall time than with the store's default of 20,000, for 8 to 28 MB more at its peak).
    static let replayDefault = 250_000

    func validate() throws {
        guard contextCache >= 0 else { throw ValidationError("--context-cache must be 0 or more.") }
    }
}
