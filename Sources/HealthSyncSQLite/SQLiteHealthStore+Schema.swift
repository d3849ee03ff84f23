internal import GRDB

extension SQLiteHealthStore {
    /// The identifiers of the schema migrations this version knows, oldest first.
    ///
    /// Each one runs once per database file, in its own transaction, and is recorded in the `grdb_migrations`
    /// table; ``schemaVersion`` is the last one.
    public static var migrations: [String] { migrator.migrations }

    /// The schema version this version creates and expects: the identifier of its latest migration (`"v4"`).
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
        migrator.registerMigration("v3") { db in
            try db.execute(sql: schemaV3Dictionary)
            let seed = try db.makeStatement(sql: "INSERT INTO eventText (text) VALUES (?)")
            for text in EventTexts.seeds { try seed.execute(arguments: [text]) }
            try db.execute(sql: schemaV3Events)
        }
        migrator.registerMigration("v4") { db in
            try db.execute(sql: schemaV4)
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

    /// The compact event record (issue 19), part one: the dictionary of event texts. `eventText` holds each text an
    /// event names (URN, sub-stream, check-state id, name, element, message, kind, health, deletion reason, error
    /// code) once, under a key that never changes and is never reused: the dictionary only grows. The migration then
    /// inserts ``EventTexts/seeds`` (kinds, healths, …) first, so that the most frequent keys take one byte.
    static let schemaV3Dictionary = """
        CREATE TABLE eventText (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL UNIQUE
        );
        """

    /// The compact event record, part two: `eventRecord` stores an event's texts as keys of `eventText`, and its
    /// time and sequence as before; the view `event` shows it as the old table did, column for column, for
    /// operators' queries.
    ///
    /// - The table is clustered by `(at, sequence)` (`WITHOUT ROWID`): the record in time order is the table itself,
    ///   so the `event_at` index is gone, and events append at its end. `event_stream` holds `(urn, subStreamId,
    ///   at)` and the rest of the primary key, the sequence.
    /// - Sequences are no longer row ids: `eventSequence.last` is the last one handed out (``reserveSequences``),
    ///   so a sequence is never handed out twice, even after the newest events were deleted.
    /// - Existing events are converted in place, keeping their sequences; `eventSequence` starts at the largest;
    ///   the old table and its indexes are dropped.
    static let schemaV3Events = """
        INSERT OR IGNORE INTO eventText (text)
            SELECT text FROM (
                SELECT kind AS text FROM event UNION SELECT urn FROM event UNION SELECT subStreamId FROM event
                UNION SELECT checkStateId FROM event UNION SELECT name FROM event UNION SELECT health FROM event
                UNION SELECT topologyElementIdentifier FROM event UNION SELECT message FROM event
                UNION SELECT previousHealth FROM event UNION SELECT deletionReason FROM event
                UNION SELECT errorCode FROM event
            )
            WHERE text IS NOT NULL;

        CREATE TABLE eventRecord (
            at REAL NOT NULL,
            sequence INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            urn INTEGER NOT NULL,
            subStreamId INTEGER NOT NULL,
            checkStateId INTEGER,
            name INTEGER,
            health INTEGER,
            topologyElementIdentifier INTEGER,
            message INTEGER,
            previousHealth INTEGER,
            deletionReason INTEGER,
            errorCode INTEGER,
            detail TEXT,
            CHECK ((checkStateId IS NULL) = (name IS NULL)),
            CHECK ((checkStateId IS NULL) = (health IS NULL)),
            CHECK ((checkStateId IS NULL) = (topologyElementIdentifier IS NULL)),
            PRIMARY KEY (at, sequence)
        ) WITHOUT ROWID;

        CREATE TABLE eventSequence (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last INTEGER NOT NULL
        );

        INSERT INTO eventSequence (id, last) SELECT 1, coalesce(max(sequence), 0) FROM event;

        INSERT INTO eventRecord (sequence, at, kind, urn, subStreamId, checkStateId, name, health,
            topologyElementIdentifier, message, previousHealth, deletionReason, errorCode, detail)
        SELECT sequence, at,
            (SELECT id FROM eventText WHERE text = kind),
            (SELECT id FROM eventText WHERE text = urn),
            (SELECT id FROM eventText WHERE text = subStreamId),
            (SELECT id FROM eventText WHERE text = checkStateId),
            (SELECT id FROM eventText WHERE text = name),
            (SELECT id FROM eventText WHERE text = health),
            (SELECT id FROM eventText WHERE text = topologyElementIdentifier),
            (SELECT id FROM eventText WHERE text = message),
            (SELECT id FROM eventText WHERE text = previousHealth),
            (SELECT id FROM eventText WHERE text = deletionReason),
            (SELECT id FROM eventText WHERE text = errorCode),
            detail
        FROM event ORDER BY at, sequence;

        DROP TABLE event;

        CREATE INDEX event_stream ON eventRecord(urn, subStreamId, at);

        CREATE VIEW event AS
        SELECT e.sequence AS sequence, e.at AS at, kind.text AS kind, urn.text AS urn, subStream.text AS subStreamId,
            checkState.text AS checkStateId, name.text AS name, health.text AS health,
            element.text AS topologyElementIdentifier, message.text AS message,
            previousHealth.text AS previousHealth, reason.text AS deletionReason, code.text AS errorCode,
            e.detail AS detail
        FROM eventRecord AS e
        LEFT JOIN eventText AS kind ON kind.id = e.kind
        LEFT JOIN eventText AS urn ON urn.id = e.urn
        LEFT JOIN eventText AS subStream ON subStream.id = e.subStreamId
        LEFT JOIN eventText AS checkState ON checkState.id = e.checkStateId
        LEFT JOIN eventText AS name ON name.id = e.name
        LEFT JOIN eventText AS health ON health.id = e.health
        LEFT JOIN eventText AS element ON element.id = e.topologyElementIdentifier
        LEFT JOIN eventText AS message ON message.id = e.message
        LEFT JOIN eventText AS previousHealth ON previousHealth.id = e.previousHealth
        LEFT JOIN eventText AS reason ON reason.id = e.deletionReason
        LEFT JOIN eventText AS code ON code.id = e.errorCode;
        """

    /// Refreshes kept by the sub-stream (issue 19): a refresh (``HealthSync/StoreChange/refreshedCheckStates``) gives
    /// every check state of a sub-stream one time and sequence, so it is stored once, in the sub-stream's row, not in
    /// each check state's.
    ///
    /// - `subStream.refreshVersion` counts the sub-stream's refreshes; `refreshedAt` and `refreshedSequence` are the
    ///   last one's time and sequence (`NULL` before the first).
    /// - `checkState.refreshVersion` is its sub-stream's count when the row was last written. A row written before
    ///   the sub-stream's last refresh (`checkState.refreshVersion < subStream.refreshVersion`) was seen at
    ///   `refreshedAt` in snapshot `refreshedSequence`; any other row at its own `lastSeenAt` and `snapshotSequence`.
    ///   The reads of ``SQLiteHealthStore/checkStateSource`` resolve this.
    /// - Existing rows take 0 on both sides, so they keep their own time and sequence: nothing is rewritten.
    static let schemaV4 = """
        ALTER TABLE subStream ADD COLUMN refreshVersion INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE subStream ADD COLUMN refreshedAt REAL;
        ALTER TABLE subStream ADD COLUMN refreshedSequence INTEGER;
        ALTER TABLE checkState ADD COLUMN refreshVersion INTEGER NOT NULL DEFAULT 0;
        """
}
