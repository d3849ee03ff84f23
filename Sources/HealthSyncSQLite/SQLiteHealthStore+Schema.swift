internal import GRDB

extension SQLiteHealthStore {
    /// The identifiers of the schema migrations this version knows, oldest first.
    ///
    /// Each one runs once per database file, in its own transaction, and is recorded in the `grdb_migrations`
    /// table; ``schemaVersion`` is the last one.
    public static var migrations: [String] { migrator.migrations }

    /// The schema version this version creates and expects: the identifier of its latest migration (`"v1"`).
    public static var schemaVersion: String { migrations.last ?? "" }

    /// The migrations, in order. Never edit a shipped migration: add a new one.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: schemaV1)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: schemaV2)
        }
        return migrator
    }()

    /// The first schema.
    ///
    /// - Times are REAL seconds since 1970 (`Date.timeIntervalSince1970`); the main sub-stream is `''`.
    /// - Versions are the optimistic-concurrency versions of ``HealthSync/StreamRecord/version``: a stored row's
    ///   version is at least 1.
    /// - Deleting a stream cascades to its sub-streams and errors; deleting a sub-stream cascades to its check
    ///   states and to its *sub-stream-level* errors. `streamError.ownerSubStreamId` is the sub-stream an error
    ///   belongs to (`NULL` for stream-level errors, which name a sub-stream that may not exist), and the foreign
    ///   key on it only applies when it is not `NULL`.
    /// - `subStream.nextDeadline` is the earliest of the four deadlines, stored on every save and indexed for
    ///   ``SQLiteHealthStore/dueSubStreams(before:limit:)`` and ``SQLiteHealthStore/nextDeadline()``.
    /// - Events are history: they have no foreign keys and outlive what they describe.
    static let schemaV1 = """
        CREATE TABLE stream (
            urn TEXT NOT NULL PRIMARY KEY,
            consistencyModel TEXT NOT NULL,
            createdAt REAL NOT NULL,
            version INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE subStream (
            urn TEXT NOT NULL REFERENCES stream(urn) ON DELETE CASCADE,
            subStreamId TEXT NOT NULL,
            createdAt REAL NOT NULL,
            repeatInterval INTEGER,
            expiryInterval INTEGER,
            snapshotStartedAt REAL,
            snapshotClean INTEGER,
            snapshotSequence INTEGER NOT NULL,
            lastCompletedAt REAL,
            lastMessageAt REAL NOT NULL,
            checkpointOffset INTEGER,
            checkpointBatchIndex INTEGER,
            lateDataDeadline REAL,
            missingStopDeadline REAL,
            expiryDeadline REAL,
            checkStateExpiryDeadline REAL,
            nextDeadline REAL,
            messageCount INTEGER NOT NULL,
            createCount INTEGER NOT NULL,
            updateCount INTEGER NOT NULL,
            deleteCount INTEGER NOT NULL,
            totalLatency REAL NOT NULL,
            lastLatency REAL NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (urn, subStreamId),
            CHECK ((repeatInterval IS NULL) = (expiryInterval IS NULL)),
            CHECK ((snapshotStartedAt IS NULL) = (snapshotClean IS NULL)),
            CHECK (checkpointBatchIndex IS NULL OR checkpointOffset IS NOT NULL)
        ) WITHOUT ROWID;

        CREATE INDEX subStream_nextDeadline ON subStream(nextDeadline, urn, subStreamId)
            WHERE nextDeadline IS NOT NULL;

        CREATE TABLE checkState (
            urn TEXT NOT NULL,
            subStreamId TEXT NOT NULL,
            checkStateId TEXT NOT NULL,
            name TEXT NOT NULL,
            health TEXT NOT NULL,
            topologyElementIdentifier TEXT NOT NULL,
            message TEXT,
            lastSeenAt REAL NOT NULL,
            snapshotSequence INTEGER NOT NULL,
            PRIMARY KEY (urn, subStreamId, checkStateId),
            FOREIGN KEY (urn, subStreamId) REFERENCES subStream(urn, subStreamId) ON DELETE CASCADE
        ) WITHOUT ROWID;

        CREATE TABLE streamError (
            urn TEXT NOT NULL REFERENCES stream(urn) ON DELETE CASCADE,
            subStreamId TEXT NOT NULL,
            streamLevel INTEGER NOT NULL,
            code TEXT NOT NULL,
            level TEXT NOT NULL,
            message TEXT NOT NULL,
            count INTEGER NOT NULL,
            firstSeenAt REAL NOT NULL,
            lastSeenAt REAL NOT NULL,
            ownerSubStreamId TEXT GENERATED ALWAYS AS (CASE WHEN streamLevel THEN NULL ELSE subStreamId END) VIRTUAL,
            PRIMARY KEY (urn, subStreamId, streamLevel, code),
            FOREIGN KEY (urn, ownerSubStreamId) REFERENCES subStream(urn, subStreamId) ON DELETE CASCADE
        ) WITHOUT ROWID;

        CREATE INDEX streamError_owner ON streamError(urn, ownerSubStreamId);

        CREATE TABLE event (
            sequence INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            urn TEXT NOT NULL,
            subStreamId TEXT NOT NULL,
            checkStateId TEXT,
            name TEXT,
            health TEXT,
            topologyElementIdentifier TEXT,
            message TEXT,
            previousHealth TEXT,
            deletionReason TEXT,
            errorCode TEXT,
            detail TEXT,
            CHECK ((checkStateId IS NULL) = (name IS NULL)),
            CHECK ((checkStateId IS NULL) = (health IS NULL)),
            CHECK ((checkStateId IS NULL) = (topologyElementIdentifier IS NULL))
        );

        CREATE INDEX event_stream ON event(urn, subStreamId, at);
        CREATE INDEX event_at ON event(at);

        CREATE TABLE processorState (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            clock REAL NOT NULL
        );

        CREATE TABLE receipt (
            receipt TEXT NOT NULL PRIMARY KEY,
            clock REAL
        ) WITHOUT ROWID;
        """

    /// Liveness (issue 17): the silence bound of a sub-stream, joining the indexed `nextDeadline`, and the promise
    /// of a check state. Columns added with `NULL` for existing rows: no stored sub-stream or check state has
    /// liveness.
    static let schemaV2 = """
        ALTER TABLE subStream ADD COLUMN silenceDeadline REAL;
        ALTER TABLE checkState ADD COLUMN livenessInterval INTEGER;
        ALTER TABLE checkState ADD COLUMN livenessGrace INTEGER;
        ALTER TABLE checkState ADD COLUMN silencedAt REAL;
        """
}
