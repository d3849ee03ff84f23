import Foundation
import HealthSync
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A ``HealthSync/HealthStore`` in a PostgreSQL database, through PostgresNIO's `PostgresClient` and its connection
/// pool, with its SQL in hand.
///
/// Every method is one statement or one transaction on a connection of the pool: ``commit(_:)`` is one `READ
/// COMMITTED` transaction whose versioned writes (`UPDATE … WHERE version = $n`) fail the commit with
/// ``HealthSync/StorageError/Code/conflict`` when another writer got there first, so several processes may share one
/// database; ``batchContext(of:due:)`` is one `REPEATABLE READ, READ ONLY` transaction. Once ``commit(_:)`` returns,
/// the change is committed with the server's durability (`synchronous_commit`, on by default).
///
/// The store lives in one PostgreSQL schema (`public` by default), which it creates if it is missing, and migrates to
/// ``schemaVersion`` before its first read or write (see ``migrations``; ``prepareSchema()`` does it at once). Ids
/// are `COLLATE "C"` columns, so that every listing orders them as their UTF-8 bytes. Times are `double precision`
/// seconds since 1970, as in the SQLite store.
///
/// The store is a `Service`: it runs in the application's service group, beside the HTTP server.
///
/// ```swift
/// let store = try PostgresHealthStore(
///     configuration: PostgresClient.Configuration(
///         host: "db.example.com", username: "healthsync", password: password, database: "healthsync",
///         tls: .require(.makeClientConfiguration())),
///     logger: logger)
/// let app = Application(router: router, services: [store] + api.services, logger: logger)
/// try await app.runService()
/// ```
///
/// A store made with ``init(configuration:schema:logger:)`` owns its client, and ``run()`` runs it. A store made
/// with ``init(client:schema:logger:)`` uses a client that the application runs itself (a `PostgresClient` is a
/// `Service` too): put the client in the service group, and the store too if the schema should be prepared at start.
///
/// Every method throws ``HealthSync/StorageError`` only: PostgreSQL errors are mapped to its codes by their SQLSTATE
/// (see ``storageError(_:while:)``), with the server's message kept. No message of the store holds the password.
public struct PostgresHealthStore: HealthStore, Service {
    /// The client whose pool the store's statements run on.
    public let client: PostgresClient

    /// The PostgreSQL schema that holds the store's tables.
    public let schema: String

    /// Whether ``run()`` runs ``client`` (the store made it) or leaves it to the application.
    let ownsClient: Bool

    /// Where the store logs its migrations and the failures it maps.
    let logger: Logger

    /// The statements, with the schema's tables named in them.
    let sql: Statements

    /// Whether the schema is known to be at ``schemaVersion``, shared by the copies of the store.
    let preparation: Preparation

    /// How long a read or write waits for a connection of the pool before it fails with
    /// ``HealthSync/StorageError/Code/unavailable``: while the database cannot be reached, the pool retries for a
    /// minute before it gives up, and an intake must answer 503 long before its clients time out.
    public let leaseTimeout: Duration

    /// In a snapshot's view (``withSnapshot(_:)``), the exported snapshot every read imports; `nil` otherwise.
    var exportedSnapshot: String?

    /// The default ``leaseTimeout``: ten seconds.
    public static let defaultLeaseTimeout: Duration = .seconds(10)

    /// Creates a store that owns a client made from `configuration`: ``run()`` runs the client, and the store's
    /// statements wait until it runs.
    ///
    /// Nothing is sent to the server here; the schema is created and migrated before the first read or write, or by
    /// ``run()`` when it starts.
    /// - Parameters:
    ///   - configuration: Where and how to connect; its password is used to log in and never appears in a message.
    ///   - schema: The PostgreSQL schema of the store's tables (created if it is missing): `public` by default; one
    ///     schema per store lets several stores, or tests running in parallel, share one database.
    ///   - leaseTimeout: How long a read or write waits for a connection (``leaseTimeout``).
    ///   - logger: Where the store and its client log.
    /// - Throws: ``HealthSync/StorageError`` with code ``HealthSync/StorageError/Code/failed`` when `schema` is not a
    ///   usable schema name (empty, longer than 63 bytes, or holding a NUL).
    public init(
        configuration: PostgresClient.Configuration,
        schema: String = "public",
        leaseTimeout: Duration = defaultLeaseTimeout,
        logger: Logger
    ) throws(StorageError) {
        try self.init(
            client: PostgresClient(configuration: configuration, backgroundLogger: logger), owned: true,
            schema: schema, leaseTimeout: leaseTimeout, logger: logger)
    }

    /// Creates a store over a client that the application runs (a `PostgresClient` is a `Service`): the store's
    /// ``run()`` then leaves the client alone.
    /// - Parameters:
    ///   - client: The client whose pool the store uses; it may serve other users too.
    ///   - schema: As for ``init(configuration:schema:leaseTimeout:logger:)``.
    ///   - leaseTimeout: How long a read or write waits for a connection (``leaseTimeout``).
    ///   - logger: Where the store logs.
    /// - Throws: ``HealthSync/StorageError`` as for ``init(configuration:schema:leaseTimeout:logger:)``.
    public init(
        client: PostgresClient, schema: String = "public", leaseTimeout: Duration = defaultLeaseTimeout,
        logger: Logger
    ) throws(StorageError) {
        try self.init(client: client, owned: false, schema: schema, leaseTimeout: leaseTimeout, logger: logger)
    }

    private init(
        client: PostgresClient, owned: Bool, schema: String, leaseTimeout: Duration, logger: Logger
    ) throws(StorageError) {
        guard !schema.isEmpty, schema.utf8.count <= 63, !schema.contains("\0") else {
            throw StorageError(
                code: .failed,
                message: "'\(schema)' is not a PostgreSQL schema name: 1 to 63 bytes, without NUL")
        }
        self.client = client
        self.ownsClient = owned
        self.schema = schema
        self.logger = logger
        self.sql = Statements(schema: Self.quotedIdentifier(schema))
        self.preparation = Preparation()
        self.leaseTimeout = leaseTimeout
    }

    /// Runs the store until the service group shuts down: its client, when the store owns it (until a graceful
    /// shutdown or cancellation closes it), and the schema's preparation (``prepareSchema()``) as it starts.
    ///
    /// A preparation that fails (the database cannot be reached yet) is logged and not thrown: the store's next read
    /// or write prepares the schema again, so that the application starts, reports itself unready, and recovers by
    /// itself once the database is reachable.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            if ownsClient {
                group.addTask { await client.run() }
            }
            do {
                try await prepareSchema()
            } catch {
                logger.warning(
                    "the PostgreSQL store could not prepare its schema; its next read or write tries again",
                    metadata: ["schema": "\(schema)", "error": "\(error)"])
            }
            if !ownsClient {
                // Nothing else to run: stay until the group shuts down, as a service must.
                try? await gracefulShutdown()
            }
        }
    }

    /// Creates the store's schema and tables if they are missing and applies the migrations the database lacks, in
    /// one transaction under an advisory lock, so that stores starting together on one database migrate it once.
    /// Every read and write of the store calls it first; after its first success it costs nothing.
    /// - Throws: ``HealthSync/StorageError``: ``HealthSync/StorageError/Code/unavailable`` when the database cannot be
    ///   reached, ``HealthSync/StorageError/Code/failed`` when it holds migrations this version does not know (it was
    ///   written by a newer version) or a migration fails.
    public func prepareSchema() async throws(StorageError) {
        guard !preparation.isDone else { return }
        try await migrate()
        preparation.markDone()
    }

    /// The identifiers of the migrations applied to the store's schema, oldest first.
    /// - Throws: ``HealthSync/StorageError``.
    public func appliedMigrations() async throws(StorageError) -> [String] {
        try await prepareSchema()
        return try await connection("reading the applied migrations") { connection in
            try await Self.appliedMigrations(on: connection, sql: sql, logger: logger)
        }
    }

    // MARK: Access

    /// Runs `body` on a connection of the pool, outside a transaction, once the schema is prepared; maps every failure
    /// to a ``StorageError``.
    func connection<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(StorageError) -> T {
        try await prepareSchema()
        guard let snapshot = exportedSnapshot else { return try await leasing(what(), body) }
        // A snapshot's view: every statement runs in a read transaction on the exported snapshot.
        let logger = self.logger
        let importing = "SET TRANSACTION SNAPSHOT '\(snapshot.replacingOccurrences(of: "'", with: "''"))'"
        return try await leasing(what()) { connection in
            try await Self.transaction(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", on: connection, logger: logger
            ) { connection in
                try await connection.rows(PostgresQuery(unsafeSQL: importing), logger: logger)
                return try await body(connection)
            }
        }
    }

    /// Runs `body` on a connection of the pool, waiting at most ``leaseTimeout`` for one; maps every failure to a
    /// ``StorageError``: ``HealthSync/StorageError/Code/unavailable`` when no connection came in time (the wait is
    /// cancelled) or the pool gave up connecting. Once `body` runs, no timeout applies to it.
    func leasing<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(StorageError) -> T {
        let (client, timeout) = (self.client, self.leaseTimeout)
        let lease = LeaseWait()
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        // A connection that comes after the deadline is handed back unused.
                        guard lease.markLeased() else { throw CancellationError() }
                        return try await body(connection)
                    }
                }
                group.addTask {
                    // Cancelled (and silent) once `body` returned; past the deadline, fails the wait if still waiting.
                    guard (try? await Task.sleep(for: timeout)) != nil, lease.markTimedOut() else { return nil }
                    throw LeaseWait.TimedOut()
                }
                while let result = try await group.next() {
                    if let result {
                        group.cancelAll()
                        return result
                    }
                }
                throw CancellationError()
            }
        } catch is LeaseWait.TimedOut {
            throw StorageError(
                code: .unavailable, message: "\(what()): no connection to the database within \(timeout)")
        } catch {
            throw Self.storageError(error, while: what(), leased: lease.isLeased)
        }
    }

    /// Runs `body` in one read transaction (`REPEATABLE READ, READ ONLY`), which sees one consistent state of the
    /// database, mapping every failure to a ``StorageError``.
    func read<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(StorageError) -> T {
        // A snapshot's view reads every statement in a transaction of its own, on the snapshot.
        if exportedSnapshot != nil { return try await connection(what(), body) }
        return try await connection(what()) { connection in
            try await Self.transaction(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", on: connection, logger: logger, body)
        }
    }

    /// Runs `body` in one write transaction (`READ COMMITTED`), which rolls back if it throws, mapping every failure to
    /// a ``StorageError``.
    func write<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(StorageError) -> T {
        guard exportedSnapshot == nil else {
            throw StorageError(code: .readOnly, message: "\(what()): a snapshot of the database cannot be written")
        }
        return try await connection(what()) { connection in
            try await Self.transaction("BEGIN", on: connection, logger: logger, body)
        }
    }

    /// Runs `body` between `begin` and `COMMIT` on `connection`, or rolls back when it throws, so that the connection
    /// goes back to the pool outside a transaction.
    static func transaction<T: Sendable>(
        _ begin: String,
        on connection: PostgresConnection,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await connection.rows(PostgresQuery(unsafeSQL: begin), logger: logger)
        let value: T
        do {
            value = try await body(connection)
        } catch {
            do {
                try await connection.rows("ROLLBACK", logger: logger)
            } catch {
                // The connection is broken or in an unknown state: close it rather than hand it to the next user. Not
                // awaited: while the client shuts down (its run() cancelled) the pool waits for this lease to end, and
                // a close awaited inside the lease would wait for the pool.
                let closed: EventLoopFuture<Void> = connection.close()
                closed.whenComplete { _ in }
            }
            throw error
        }
        try await connection.rows("COMMIT", logger: logger)
        return value
    }

    /// `name` as a quoted PostgreSQL identifier: in double quotes, a double quote doubled.
    static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension PostgresHealthStore {
    /// The wait of one statement for a connection of the pool: it ends leased, or timed out, whichever comes first.
    final class LeaseWait: Sendable {
        /// What the wait ended with.
        private enum Phase { case waiting, leased, timedOut }

        private let phase = Mutex(Phase.waiting)

        /// Thrown by the deadline's task.
        struct TimedOut: Error {}

        /// Whether a connection was leased.
        var isLeased: Bool { phase.withLock { $0 == .leased } }

        /// Records the lease; `false` when the deadline passed first.
        func markLeased() -> Bool {
            phase.withLock { phase in
                guard phase == .waiting else { return false }
                phase = .leased
                return true
            }
        }

        /// Records the deadline; `false` when a connection was leased first.
        func markTimedOut() -> Bool {
            phase.withLock { phase in
                guard phase == .waiting else { return false }
                phase = .timedOut
                return true
            }
        }
    }

    /// Whether a store's schema is prepared: a flag shared by the copies of one store, set once a preparation
    /// succeeded.
    final class Preparation: Sendable {
        private let done = Atomic<Bool>(false)

        /// Whether the schema was prepared.
        var isDone: Bool { done.load(ordering: .acquiring) }

        /// Records that the schema is prepared.
        func markDone() { done.store(true, ordering: .releasing) }
    }
}

extension PostgresConnection {
    /// Runs `query` and reads every row it returns, so that its errors surface here and the connection is free for
    /// the next statement.
    @discardableResult
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }

    /// Runs `query` and returns how many rows it changed (its command tag's count): for statements that change more
    /// rows than should travel back.
    func changedRows(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        let result: EventLoopFuture<PostgresQueryResult> = self.query(query, logger: logger)
        return try await result.get().metadata.rows ?? 0
    }
}
