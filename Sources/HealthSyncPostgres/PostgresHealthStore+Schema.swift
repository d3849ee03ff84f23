import HealthSync
import Logging
import PostgresNIO

extension PostgresHealthStore {
    /// A schema migration: its identifier and its statements, given the quoted schema name.
    struct Migration: Sendable {
        var id: String
        var statements: @Sendable (_ schema: String) -> [String]
    }

    /// The migrations, in order. Never edit a shipped migration: add a new one.
    static let migrationList: [Migration] = [
        Migration(id: "v1", statements: schemaV1), Migration(id: "v2", statements: schemaV2),
        Migration(id: "v3", statements: schemaV3),
    ]

    /// The identifiers of the schema migrations this version knows, oldest first.
    ///
    /// Each one runs once per schema, in the transaction of ``prepareSchema()``, and is recorded in the schema's
    /// `schemaVersion` table; ``schemaVersion`` is the last one.
    public static var migrations: [String] { migrationList.map(\.id) }

    /// The schema version this version creates and expects: the identifier of its latest migration (`"v3"`).
    public static var schemaVersion: String { migrations.last ?? "" }

    /// The table of applied migrations, created with the schema before the first migration.
    static func schemaVersionTable(_ schema: String) -> String {
        """
        CREATE TABLE \(schema).schemaVersion (
            version text COLLATE "C" NOT NULL PRIMARY KEY,
            appliedAt double precision NOT NULL DEFAULT extract(epoch FROM now())
        )
        """
    }

    /// The first schema, the SQLite store's (`SQLiteHealthStore.schemaV1`) in PostgreSQL's types.
    ///
    /// - Identifiers are written unquoted, so PostgreSQL folds them to lower case (`subStream` is `substream`).
    /// - Every id column is `COLLATE "C"`: keys, `ORDER BY` and row comparisons order ids as their UTF-8 bytes.
    /// - Every table's primary key starts with the stream URN (the event's too: `(urn, sequence)`), so that the tables
    ///   can be distributed by `urn` (Citus; Docs/storage.md).
    /// - Times are `double precision` seconds since 1970; versions, counts, sequences and offsets `bigint`.
    /// - Deleting a stream cascades to its sub-streams and errors; deleting a sub-stream cascades to its check states
    ///   and to its *sub-stream-level* errors, through `streamError.ownerSubStreamId`, a generated column that is
    ///   `NULL` for stream-level errors (which name a sub-stream that may not exist).
    /// - `subStream.nextDeadline` is the earliest of the four deadlines, stored on every save and indexed.
    /// - Events are history: no foreign keys; `sequence` is an identity column, which never hands out a value twice.
    /// Liveness (issue 17), as the SQLite store's `schemaV2`: the silence bound of a sub-stream and the promise of a
    /// check state, `NULL` for existing rows.
    static func schemaV2(_ schema: String) -> [String] {
        [
            "ALTER TABLE \(schema).subStream ADD COLUMN silenceDeadline double precision",
            """
            ALTER TABLE \(schema).checkState ADD COLUMN livenessInterval bigint,
                ADD COLUMN livenessGrace bigint, ADD COLUMN silencedAt double precision
            """,
        ]
    }

    /// Several writers (issue 16), measured with `Benchmarks/serve-postgres.sh`:
    /// - The processor clock moves from one row, which every commit locked until it committed (so the commits of all
    ///   replicas queued on it), to a row per server connection (`processorClock`, keyed by `pg_backend_pid()`): a
    ///   commit updates its own connection's row, which no other transaction waits for, and the clock is the
    ///   greatest of the rows. Retention folds the rows into the greatest one.
    /// - `checkState` and `subStream` leave a fifth of each page free (`fillfactor = 80`), so that the updates of every
    ///   snapshot (a sub-stream, and the refresh of its check states) can be HOT updates, which write no index entry.
    static func schemaV3(_ schema: String) -> [String] {
        [
            """
            CREATE TABLE \(schema).processorClock (
                backend integer NOT NULL PRIMARY KEY,
                clock double precision NOT NULL
            )
            """,
            "INSERT INTO \(schema).processorClock (backend, clock) SELECT 0, clock FROM \(schema).processorState",
            "DROP TABLE \(schema).processorState",
            "ALTER TABLE \(schema).checkState SET (fillfactor = 80)",
            "ALTER TABLE \(schema).subStream SET (fillfactor = 80)",
        ]
    }

    static func schemaV1(_ schema: String) -> [String] {
        [
            """
            CREATE TABLE \(schema).stream (
                urn text COLLATE "C" NOT NULL PRIMARY KEY,
                consistencyModel text NOT NULL,
                createdAt double precision NOT NULL,
                version bigint NOT NULL
            )
            """,
            """
            CREATE TABLE \(schema).subStream (
                urn text COLLATE "C" NOT NULL REFERENCES \(schema).stream (urn) ON DELETE CASCADE,
                subStreamId text COLLATE "C" NOT NULL,
                createdAt double precision NOT NULL,
                repeatInterval bigint,
                expiryInterval bigint,
                snapshotStartedAt double precision,
                snapshotClean boolean,
                snapshotSequence bigint NOT NULL,
                lastCompletedAt double precision,
                lastMessageAt double precision NOT NULL,
                checkpointOffset bigint,
                checkpointBatchIndex bigint,
                lateDataDeadline double precision,
                missingStopDeadline double precision,
                expiryDeadline double precision,
                checkStateExpiryDeadline double precision,
                nextDeadline double precision,
                messageCount bigint NOT NULL,
                createCount bigint NOT NULL,
                updateCount bigint NOT NULL,
                deleteCount bigint NOT NULL,
                totalLatency double precision NOT NULL,
                lastLatency double precision NOT NULL,
                version bigint NOT NULL,
                PRIMARY KEY (urn, subStreamId),
                CHECK ((repeatInterval IS NULL) = (expiryInterval IS NULL)),
                CHECK ((snapshotStartedAt IS NULL) = (snapshotClean IS NULL)),
                CHECK (checkpointBatchIndex IS NULL OR checkpointOffset IS NOT NULL)
            )
            """,
            """
            CREATE INDEX subStream_nextDeadline ON \(schema).subStream (nextDeadline, urn, subStreamId)
                WHERE nextDeadline IS NOT NULL
            """,
            """
            CREATE TABLE \(schema).checkState (
                urn text COLLATE "C" NOT NULL,
                subStreamId text COLLATE "C" NOT NULL,
                checkStateId text COLLATE "C" NOT NULL,
                name text NOT NULL,
                health text NOT NULL,
                topologyElementIdentifier text NOT NULL,
                message text,
                lastSeenAt double precision NOT NULL,
                snapshotSequence bigint NOT NULL,
                PRIMARY KEY (urn, subStreamId, checkStateId),
                FOREIGN KEY (urn, subStreamId) REFERENCES \(schema).subStream (urn, subStreamId) ON DELETE CASCADE
            )
            """,
            """
            CREATE TABLE \(schema).streamError (
                urn text COLLATE "C" NOT NULL REFERENCES \(schema).stream (urn) ON DELETE CASCADE,
                subStreamId text COLLATE "C" NOT NULL,
                streamLevel boolean NOT NULL,
                code text COLLATE "C" NOT NULL,
                level text NOT NULL,
                message text NOT NULL,
                count bigint NOT NULL,
                firstSeenAt double precision NOT NULL,
                lastSeenAt double precision NOT NULL,
                ownerSubStreamId text COLLATE "C"
                    GENERATED ALWAYS AS (CASE WHEN streamLevel THEN NULL ELSE subStreamId END) STORED,
                PRIMARY KEY (urn, subStreamId, streamLevel, code),
                FOREIGN KEY (urn, ownerSubStreamId) REFERENCES \(schema).subStream (urn, subStreamId) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX streamError_owner ON \(schema).streamError (urn, ownerSubStreamId)",
            """
            CREATE TABLE \(schema).event (
                urn text COLLATE "C" NOT NULL,
                sequence bigint GENERATED ALWAYS AS IDENTITY,
                at double precision NOT NULL,
                kind text NOT NULL,
                subStreamId text COLLATE "C" NOT NULL,
                checkStateId text COLLATE "C",
                name text,
                health text,
                topologyElementIdentifier text,
                message text,
                previousHealth text,
                deletionReason text,
                errorCode text,
                detail text,
                PRIMARY KEY (urn, sequence),
                CHECK ((checkStateId IS NULL) = (name IS NULL)),
                CHECK ((checkStateId IS NULL) = (health IS NULL)),
                CHECK ((checkStateId IS NULL) = (topologyElementIdentifier IS NULL))
            )
            """,
            "CREATE INDEX event_stream ON \(schema).event (urn, subStreamId, at)",
            "CREATE INDEX event_at ON \(schema).event (at, sequence)",
            """
            CREATE TABLE \(schema).processorState (
                id integer NOT NULL PRIMARY KEY CHECK (id = 1),
                clock double precision NOT NULL
            )
            """,
            """
            CREATE TABLE \(schema).receipt (
                receipt text COLLATE "C" NOT NULL PRIMARY KEY,
                clock double precision
            )
            """,
        ]
    }

    /// Whether the database holds the store's tables (its schema has the `schemaVersion` table); when it does, the
    /// schema is prepared as ``prepareSchema()`` does. A tool that only reads calls it first, to tell a database that
    /// HealthSync never wrote (a mistyped database or schema name) from an empty store, without creating anything.
    /// - Throws: ``HealthSync/StorageError`` as ``prepareSchema()`` does.
    public func hasSchema() async throws(StorageError) -> Bool {
        guard try await holdsSchema() else { return false }
        try await prepareSchema()
        return true
    }

    /// Whether the database holds the store's tables, by one query and without preparing anything: the first word
    /// from the server, for a caller that bounds how long reaching it may take but not how long a migration (or the
    /// wait for another store's) runs.
    /// - Throws: ``HealthSync/StorageError/Code/unavailable`` when the database cannot be reached.
    public func holdsSchema() async throws(StorageError) -> Bool {
        if preparation.isDone { return true }
        let (schema, logger) = (self.schema, self.logger)
        return try await leasing("looking for schema \(schema)") { connection in
            let rows = try await connection.rows(
                "SELECT 1 FROM pg_tables WHERE schemaname = \(schema) AND tablename = 'schemaversion'",
                logger: logger)
            return !rows.isEmpty
        }
    }

    /// Prepares the schema (``prepareSchema()``) in one transaction: an advisory lock per schema name, so that
    /// concurrent preparations on one database run one after the other; the schema and the `schemaVersion` table if
    /// missing (looked up first, so that a user without the privilege to create them can use what exists); then each
    /// migration not applied yet.
    func migrate() async throws(StorageError) {
        let (schema, sql, logger) = (self.schema, self.sql, self.logger)
        try await leasing("preparing schema \(schema)") { connection in
            try await Self.transaction("BEGIN", on: connection, logger: logger) { connection in
                try await connection.rows(
                    "SELECT pg_advisory_xact_lock(hashtext(\("healthsync schema " + schema)))", logger: logger)
                let schemaExists = try await connection.rows(
                    "SELECT 1 FROM pg_namespace WHERE nspname = \(schema)", logger: logger)
                if schemaExists.isEmpty {
                    try await connection.rows(
                        PostgresQuery(unsafeSQL: "CREATE SCHEMA \(sql.schema)"), logger: logger)
                }
                let tableExists = try await connection.rows(
                    """
                    SELECT 1 FROM pg_tables WHERE schemaname = \(schema) AND tablename = 'schemaversion'
                    """, logger: logger)
                if tableExists.isEmpty {
                    try await connection.rows(
                        PostgresQuery(unsafeSQL: Self.schemaVersionTable(sql.schema)), logger: logger)
                }
                let applied = try await Self.appliedMigrations(on: connection, sql: sql, logger: logger)
                let unknown = applied.filter { !Self.migrations.contains($0) }
                guard unknown.isEmpty else {
                    throw StorageError(
                        code: .failed,
                        message: "schema \(schema) has migrations \(unknown) that this version "
                            + "(\(Self.schemaVersion)) does not know: it was written by a newer version")
                }
                for migration in Self.migrationList where !applied.contains(migration.id) {
                    for statement in migration.statements(sql.schema) {
                        try await connection.rows(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.rows(
                        PostgresQuery(
                            unsafeSQL: "INSERT INTO \(sql.schema).schemaVersion (version) VALUES ($1)",
                            binds: Self.binds(migration.id)),
                        logger: logger)
                    logger.info(
                        "migrated the PostgreSQL store's schema",
                        metadata: ["schema": "\(schema)", "migration": "\(migration.id)"])
                }
            }
        }
    }

    /// The identifiers of the migrations applied, in the order of ``migrations`` (unknown ones last).
    static func appliedMigrations(
        on connection: PostgresConnection,
        sql: Statements,
        logger: Logger
    ) async throws -> [String] {
        let rows = try await connection.rows(
            PostgresQuery(unsafeSQL: "SELECT version FROM \(sql.schema).schemaVersion ORDER BY appliedAt, version"),
            logger: logger)
        let applied = try rows.map { try $0.decode(String.self) }
        return migrations.filter(applied.contains) + applied.filter { !migrations.contains($0) }
    }

    /// Bindings of text values.
    static func binds(_ values: String...) -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values { binds.append(value) }
        return binds
    }
}
