/*
 * sqlite_baseline: the bare limit for workload 3 of Docs/performance.md.
 *
 * A plain C program with prepared sqlite3 statements that writes exactly the rows SQLiteHealthStore writes for the
 * churn workload of `healthsync-load sqlite` (Sources/BenchmarkSupport/ChurnWorkload.swift): the same schema
 * (schema v4 of Sources/HealthSyncSQLite/SQLiteHealthStore+Schema.swift as its migrations leave a new database, in
 * the same DDL text), the same pragmas (WAL, synchronous = FULL, foreign keys on), one BEGIN IMMEDIATE transaction
 * per envelope of `batch` messages, and per REPEAT_SNAPSHOTS message: the stream and sub-stream rows (insert in
 * round 0, an update of every sub-stream column afterwards), a delete per check state that left the snapshot, an
 * upsert per check state carried (or, from round 1, one update of the sub-stream's refresh and an upsert per new or
 * changed one, as SQLiteHealthStore writes a refresh), one event record per change plus the snapshot's
 * started/completed events, and the processor clock. Events are written as SQLiteHealthStore+Commit.swift and
 * EventTexts.swift write them: the transaction's sequences reserved from eventSequence in one update, each text of
 * an event (kind, URN, sub-stream, check-state id, name, health, element, message, previous health, deletion
 * reason) as its key in eventText, a text inserted into eventText the first time it is used (the seeds of
 * EventTexts.seeds are there from the start). It reads nothing but the sequence counter it bumps: everything the
 * processor has to look up, this program knows, the keys of its texts included (kept in arrays by what they name,
 * not in a map by text).
 *
 *   cc -O2 -o sqlite_baseline sqlite_baseline.c -lsqlite3
 *   ./sqlite_baseline DB [streams=1000] [rounds=10] [batch=1]
 *
 * Prints RESULT lines in the format of healthsync-load, so Benchmarks/compare.sh can set them side by side.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 105

/* The statements of migrations v1 (without its event table and indexes, which v3 drops), v2, v3 and v4 for a new
 * database, in their text: SQLite keeps a table's DDL as written (and as ALTER TABLE extends it). */
static const char *schema =
    "CREATE TABLE stream (\n"
    "    urn TEXT NOT NULL PRIMARY KEY,\n"
    "    consistencyModel TEXT NOT NULL,\n"
    "    createdAt REAL NOT NULL,\n"
    "    version INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE subStream (\n"
    "    urn TEXT NOT NULL REFERENCES stream(urn) ON DELETE CASCADE,\n"
    "    subStreamId TEXT NOT NULL,\n"
    "    createdAt REAL NOT NULL,\n"
    "    repeatInterval INTEGER,\n"
    "    expiryInterval INTEGER,\n"
    "    snapshotStartedAt REAL,\n"
    "    snapshotClean INTEGER,\n"
    "    snapshotSequence INTEGER NOT NULL,\n"
    "    lastCompletedAt REAL,\n"
    "    lastMessageAt REAL NOT NULL,\n"
    "    checkpointOffset INTEGER,\n"
    "    checkpointBatchIndex INTEGER,\n"
    "    lateDataDeadline REAL,\n"
    "    missingStopDeadline REAL,\n"
    "    expiryDeadline REAL,\n"
    "    checkStateExpiryDeadline REAL,\n"
    "    nextDeadline REAL,\n"
    "    messageCount INTEGER NOT NULL,\n"
    "    createCount INTEGER NOT NULL,\n"
    "    updateCount INTEGER NOT NULL,\n"
    "    deleteCount INTEGER NOT NULL,\n"
    "    totalLatency REAL NOT NULL,\n"
    "    lastLatency REAL NOT NULL,\n"
    "    version INTEGER NOT NULL,\n"
    "    PRIMARY KEY (urn, subStreamId),\n"
    "    CHECK ((repeatInterval IS NULL) = (expiryInterval IS NULL)),\n"
    "    CHECK ((snapshotStartedAt IS NULL) = (snapshotClean IS NULL)),\n"
    "    CHECK (checkpointBatchIndex IS NULL OR checkpointOffset IS NOT NULL)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX subStream_nextDeadline ON subStream(nextDeadline, urn, subStreamId)\n"
    "    WHERE nextDeadline IS NOT NULL;\n"
    "CREATE TABLE checkState (\n"
    "    urn TEXT NOT NULL,\n"
    "    subStreamId TEXT NOT NULL,\n"
    "    checkStateId TEXT NOT NULL,\n"
    "    name TEXT NOT NULL,\n"
    "    health TEXT NOT NULL,\n"
    "    topologyElementIdentifier TEXT NOT NULL,\n"
    "    message TEXT,\n"
    "    lastSeenAt REAL NOT NULL,\n"
    "    snapshotSequence INTEGER NOT NULL,\n"
    "    PRIMARY KEY (urn, subStreamId, checkStateId),\n"
    "    FOREIGN KEY (urn, subStreamId) REFERENCES subStream(urn, subStreamId) ON DELETE CASCADE\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE streamError (\n"
    "    urn TEXT NOT NULL REFERENCES stream(urn) ON DELETE CASCADE,\n"
    "    subStreamId TEXT NOT NULL,\n"
    "    streamLevel INTEGER NOT NULL,\n"
    "    code TEXT NOT NULL,\n"
    "    level TEXT NOT NULL,\n"
    "    message TEXT NOT NULL,\n"
    "    count INTEGER NOT NULL,\n"
    "    firstSeenAt REAL NOT NULL,\n"
    "    lastSeenAt REAL NOT NULL,\n"
    "    ownerSubStreamId TEXT GENERATED ALWAYS AS (CASE WHEN streamLevel THEN NULL ELSE subStreamId END) VIRTUAL,\n"
    "    PRIMARY KEY (urn, subStreamId, streamLevel, code),\n"
    "    FOREIGN KEY (urn, ownerSubStreamId) REFERENCES subStream(urn, subStreamId) ON DELETE CASCADE\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX streamError_owner ON streamError(urn, ownerSubStreamId);\n"
    "CREATE TABLE processorState (\n"
    "    id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "    clock REAL NOT NULL\n"
    ");\n"
    "CREATE TABLE receipt (\n"
    "    receipt TEXT NOT NULL PRIMARY KEY,\n"
    "    clock REAL\n"
    ") WITHOUT ROWID;\n"
    /* v2: liveness. */
    "ALTER TABLE subStream ADD COLUMN silenceDeadline REAL;\n"
    "ALTER TABLE checkState ADD COLUMN livenessInterval INTEGER;\n"
    "ALTER TABLE checkState ADD COLUMN livenessGrace INTEGER;\n"
    "ALTER TABLE checkState ADD COLUMN silencedAt REAL;\n"
    /* v3: the dictionary of event texts (seeded next), then the event record. */
    "CREATE TABLE eventText (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    text TEXT NOT NULL UNIQUE\n"
    ");\n";

static const char *schemaEvents =
    "CREATE TABLE eventRecord (\n"
    "    at REAL NOT NULL,\n"
    "    sequence INTEGER NOT NULL,\n"
    "    kind INTEGER NOT NULL,\n"
    "    urn INTEGER NOT NULL,\n"
    "    subStreamId INTEGER NOT NULL,\n"
    "    checkStateId INTEGER,\n"
    "    name INTEGER,\n"
    "    health INTEGER,\n"
    "    topologyElementIdentifier INTEGER,\n"
    "    message INTEGER,\n"
    "    previousHealth INTEGER,\n"
    "    deletionReason INTEGER,\n"
    "    errorCode INTEGER,\n"
    "    detail TEXT,\n"
    "    CHECK ((checkStateId IS NULL) = (name IS NULL)),\n"
    "    CHECK ((checkStateId IS NULL) = (health IS NULL)),\n"
    "    CHECK ((checkStateId IS NULL) = (topologyElementIdentifier IS NULL)),\n"
    "    PRIMARY KEY (at, sequence)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE eventSequence (\n"
    "    id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "    last INTEGER NOT NULL\n"
    ");\n"
    "INSERT INTO eventSequence (id, last) VALUES (1, 0);\n"
    "CREATE INDEX event_stream ON eventRecord(urn, subStreamId, at);\n"
    "CREATE VIEW event AS\n"
    "SELECT e.sequence AS sequence, e.at AS at, kind.text AS kind, urn.text AS urn, subStream.text AS subStreamId,\n"
    "    checkState.text AS checkStateId, name.text AS name, health.text AS health,\n"
    "    element.text AS topologyElementIdentifier, message.text AS message,\n"
    "    previousHealth.text AS previousHealth, reason.text AS deletionReason, code.text AS errorCode,\n"
    "    e.detail AS detail\n"
    "FROM eventRecord AS e\n"
    "LEFT JOIN eventText AS kind ON kind.id = e.kind\n"
    "LEFT JOIN eventText AS urn ON urn.id = e.urn\n"
    "LEFT JOIN eventText AS subStream ON subStream.id = e.subStreamId\n"
    "LEFT JOIN eventText AS checkState ON checkState.id = e.checkStateId\n"
    "LEFT JOIN eventText AS name ON name.id = e.name\n"
    "LEFT JOIN eventText AS health ON health.id = e.health\n"
    "LEFT JOIN eventText AS element ON element.id = e.topologyElementIdentifier\n"
    "LEFT JOIN eventText AS message ON message.id = e.message\n"
    "LEFT JOIN eventText AS previousHealth ON previousHealth.id = e.previousHealth\n"
    "LEFT JOIN eventText AS reason ON reason.id = e.deletionReason\n"
    "LEFT JOIN eventText AS code ON code.id = e.errorCode;\n"
    /* v4: refreshes kept by the sub-stream. */
    "ALTER TABLE subStream ADD COLUMN refreshVersion INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE subStream ADD COLUMN refreshedAt REAL;\n"
    "ALTER TABLE subStream ADD COLUMN refreshedSequence INTEGER;\n"
    "ALTER TABLE checkState ADD COLUMN refreshVersion INTEGER NOT NULL DEFAULT 0;\n";

/* EventTexts.seeds, in order: the main sub-stream's id, the event kinds, healths, deletion reasons and error codes,
 * each text once (subStreamExpired and streamDeleted are kinds before they are deletion reasons). */
static const char *seeds[] = {
    "",
    "streamCreated", "streamDeleted", "subStreamCreated", "subStreamExpired", "snapshotStarted",
    "snapshotCompleted", "snapshotAbandoned", "snapshotAutoStopped", "checkStateCreated", "checkStateUpdated",
    "checkStateDeleted", "errorOpened", "errorClosed",
    "CLEAR", "DEVIATING", "CRITICAL",
    "snapshotDiff", "automaticStop", "expiry", "deleteRequest",
    "StreamMissingSubStream", "StreamConsistencyModelMismatch", "SubStreamStartWithoutStop",
    "SubStreamStopWithoutStart", "SubStreamMissingStop", "SubStreamCheckStateOutsideSnapshot",
    "SubStreamRepeatIntervalTooHigh", "SubStreamLateData", "SubStreamExpired", "SubStreamTransformerError",
    "SubStreamOutdatedCheckpoint", "SubStreamMissingCheckpoint", "SubStreamInvalidCheckpoint",
    "SubStreamUnknownCheckState", "SubStreamWithoutExpiry",
};

static const char *healths[3] = {"CLEAR", "DEVIATING", "CRITICAL"};
static const char *messages[3] = {
    "Usage is below the warning threshold of 80 % on this data volume.",
    "Usage is above the warning threshold of 80 % on this data volume.",
    "Usage is above the critical threshold of 95 % on this data volume.",
};

/* churnMix in ChurnWorkload.swift. */
static uint64_t mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    uint64_t z = (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL) ^ (c * 0x165667B19E3779F9ULL) ^
                 (d * 0x27D4EB2F165667C5ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static sqlite3 *db;

static void check(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite_baseline: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *statement;
    check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL), sql);
    return statement;
}

static void step(sqlite3_stmt *statement, const char *what) {
    check(sqlite3_step(statement), what);
    check(sqlite3_reset(statement), what);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The key of an event text: `*key` once known, otherwise `text` inserted into eventText (its first use) and its key
 * kept in `*key`, as EventTexts.key(of:in:state:) does (which looks the text up in eventText first, for what other
 * connections wrote: this program is the only writer). */
static sqlite3_stmt *insertText;

static sqlite3_int64 textKey(sqlite3_int64 *key, const char *text) {
    if (*key) return *key;
    sqlite3_bind_text(insertText, 1, text, -1, SQLITE_STATIC);
    step(insertText, "insert event text");
    *key = sqlite3_last_insert_rowid(db);
    return *key;
}

#define SEEDS (sizeof seeds / sizeof *seeds)
static sqlite3_int64 seedKeys[SEEDS];

/* The key of a seed. */
static sqlite3_int64 seedKey(const char *text) {
    for (size_t i = 0; i < SEEDS; i++)
        if (strcmp(seeds[i], text) == 0) return seedKeys[i];
    fprintf(stderr, "sqlite_baseline: %s is not a seed\n", text);
    exit(1);
}

/* Per sub-stream counters, as SubStreamMetrics keeps them. */
struct metrics {
    long long creates, updates, deletes;
    double createdAt;
};

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: sqlite_baseline DB [streams] [rounds] [batch]\n");
        return 2;
    }
    const char *path = argv[1];
    int streams = argc > 2 ? atoi(argv[2]) : 1000;
    int rounds = argc > 3 ? atoi(argv[3]) : 10;
    int batch = argc > 4 ? atoi(argv[4]) : 1;
    if (streams <= 0 || rounds <= 0 || batch <= 0) {
        fprintf(stderr, "sqlite_baseline: streams, rounds and batch must be positive\n");
        return 2;
    }
    char scratch[4096];
    unlink(path);
    snprintf(scratch, sizeof scratch, "%s-wal", path);
    unlink(scratch);
    snprintf(scratch, sizeof scratch, "%s-shm", path);
    unlink(scratch);

    check(sqlite3_open(path, &db), "open");
    check(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL), "journal_mode");
    check(sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL), "synchronous");
    check(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), "foreign_keys");
    check(sqlite3_exec(db, "BEGIN; ", NULL, NULL, NULL), "begin");
    check(sqlite3_exec(db, schema, NULL, NULL, NULL), "schema");
    insertText = prepare("INSERT INTO eventText (text) VALUES (?)");
    for (size_t i = 0; i < SEEDS; i++) seedKeys[i] = textKey(&seedKeys[i], seeds[i]);
    check(sqlite3_exec(db, schemaEvents, NULL, NULL, NULL), "schema");
    check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");

    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prepare("COMMIT");
    sqlite3_stmt *insertStream = prepare(
        "INSERT INTO stream (urn, consistencyModel, createdAt, version) VALUES (?, 'REPEAT_SNAPSHOTS', ?, 1) "
        "ON CONFLICT DO NOTHING");
    sqlite3_stmt *insertSubStream = prepare(
        "INSERT INTO subStream (urn, subStreamId, createdAt, repeatInterval, expiryInterval, snapshotStartedAt, "
        "snapshotClean, snapshotSequence, lastCompletedAt, lastMessageAt, checkpointOffset, checkpointBatchIndex, "
        "lateDataDeadline, missingStopDeadline, expiryDeadline, checkStateExpiryDeadline, nextDeadline, "
        "messageCount, createCount, updateCount, deleteCount, totalLatency, lastLatency, silenceDeadline, version) "
        "VALUES (?1, '', ?2, 60, 0, NULL, NULL, ?3, ?4, ?5, NULL, NULL, ?6, NULL, NULL, NULL, ?7, ?8, ?9, ?10, ?11, "
        "0, 0, NULL, 1) ON CONFLICT DO NOTHING");
    sqlite3_stmt *updateSubStream = prepare(
        "UPDATE subStream SET createdAt = ?2, repeatInterval = 60, expiryInterval = 0, snapshotStartedAt = NULL, "
        "snapshotClean = NULL, snapshotSequence = ?3, lastCompletedAt = ?4, lastMessageAt = ?5, "
        "checkpointOffset = NULL, checkpointBatchIndex = NULL, lateDataDeadline = ?6, missingStopDeadline = NULL, "
        "expiryDeadline = NULL, checkStateExpiryDeadline = NULL, nextDeadline = ?7, messageCount = ?8, "
        "createCount = ?9, updateCount = ?10, deleteCount = ?11, totalLatency = 0, lastLatency = 0, "
        "silenceDeadline = NULL, version = version + 1 WHERE urn = ?1 AND subStreamId = '' AND version = ?12");
    sqlite3_stmt *deleteCheckState =
        prepare("DELETE FROM checkState WHERE urn = ? AND subStreamId = '' AND checkStateId = ?");
    sqlite3_stmt *upsertCheckState = prepare(
        "INSERT INTO checkState (urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message, "
        "lastSeenAt, snapshotSequence, livenessInterval, livenessGrace, silencedAt, refreshVersion) "
        "VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?) "
        "ON CONFLICT (urn, subStreamId, checkStateId) DO UPDATE SET name = excluded.name, health = excluded.health, "
        "topologyElementIdentifier = excluded.topologyElementIdentifier, message = excluded.message, "
        "lastSeenAt = excluded.lastSeenAt, snapshotSequence = excluded.snapshotSequence, "
        "livenessInterval = excluded.livenessInterval, livenessGrace = excluded.livenessGrace, "
        "silencedAt = excluded.silencedAt, refreshVersion = excluded.refreshVersion");
    sqlite3_stmt *readRefreshVersion =
        prepare("SELECT refreshVersion FROM subStream WHERE urn = ? AND subStreamId = ''");
    sqlite3_stmt *refreshCheckStates = prepare(
        "UPDATE subStream SET refreshVersion = refreshVersion + 1, refreshedAt = ?2, refreshedSequence = ?3 "
        "WHERE urn = ?1 AND subStreamId = ''");
    sqlite3_stmt *reserveSequences = prepare("UPDATE eventSequence SET last = last + ? WHERE id = 1 RETURNING last");
    sqlite3_stmt *insertEvent = prepare(
        "INSERT INTO eventRecord (sequence, at, kind, urn, subStreamId, checkStateId, name, health, "
        "topologyElementIdentifier, message, previousHealth, deletionReason, errorCode, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)");
    sqlite3_stmt *updateClock = prepare(
        "INSERT INTO processorState (id, clock) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET clock = max(clock, excluded.clock)");

    unsigned char *health = calloc((size_t)streams * SLOTS, 1);
    unsigned char *stored = calloc((size_t)streams * SLOTS, 1);
    unsigned char *storedHealth = calloc((size_t)streams * SLOTS, 1);
    struct metrics *metrics = calloc((size_t)streams, sizeof *metrics);
    /* Which check states the messages of an envelope carry. */
    unsigned char *present = calloc((size_t)(batch < streams ? batch : streams) * SLOTS, 1);
    for (int s = 0; s < streams; s++)
        for (int j = 0; j < SLOTS; j++)
            if (mix(s, 0, j, 2) % 10 == 0) health[s * SLOTS + j] = 1;

    /* The keys of the event texts by what they name (0: not in eventText yet). */
    sqlite3_int64 *urnKeys = calloc((size_t)streams, sizeof *urnKeys);
    sqlite3_int64 *elementKeys = calloc((size_t)streams * SLOTS, sizeof *elementKeys);
    sqlite3_int64 idKeys[SLOTS] = {0}, nameKeys[SLOTS] = {0}, messageKeys[3] = {0}, healthKeys[3];
    for (int h = 0; h < 3; h++) healthKeys[h] = seedKey(healths[h]);
    sqlite3_int64 mainKey = seedKey(""), snapshotDiffKey = seedKey("snapshotDiff");
    sqlite3_int64 streamCreatedKey = seedKey("streamCreated"), subStreamCreatedKey = seedKey("subStreamCreated");
    sqlite3_int64 snapshotStartedKey = seedKey("snapshotStarted"), snapshotCompletedKey = seedKey("snapshotCompleted");
    sqlite3_int64 createdKey = seedKey("checkStateCreated"), updatedKey = seedKey("checkStateUpdated");
    sqlite3_int64 deletedKey = seedKey("checkStateDeleted");

    long long phaseStates = 0, created = 0, updated = 0, deleted = 0, events = 0;
    double phaseSeconds = 0;
    char urn[64], id[32], name[64], element[96], detail[32];

    /* An event of stream s (and, with a check state, of slot j at health h), its texts bound as keys in the order
     * EventTexts.insert binds them. */
#define EVENT(kind, hasState, h, previous, reason, text)                                                        \
    do {                                                                                                         \
        sqlite3_bind_int64(insertEvent, 1, sequence++);                                                          \
        sqlite3_bind_double(insertEvent, 2, t);                                                                  \
        sqlite3_bind_int64(insertEvent, 3, kind);                                                                \
        sqlite3_bind_int64(insertEvent, 4, textKey(&urnKeys[s], urn));                                           \
        sqlite3_bind_int64(insertEvent, 5, mainKey);                                                             \
        if (hasState) {                                                                                          \
            sqlite3_bind_int64(insertEvent, 6, textKey(&idKeys[j], id));                                         \
            sqlite3_bind_int64(insertEvent, 7, textKey(&nameKeys[j], name));                                     \
            sqlite3_bind_int64(insertEvent, 8, healthKeys[h]);                                                   \
            sqlite3_bind_int64(insertEvent, 9, textKey(&elementKeys[s * SLOTS + j], element));                   \
            sqlite3_bind_int64(insertEvent, 10, textKey(&messageKeys[h], messages[h]));                          \
        } else {                                                                                                 \
            for (int column = 6; column <= 10; column++) sqlite3_bind_null(insertEvent, column);                 \
        }                                                                                                        \
        if ((previous) >= 0) sqlite3_bind_int64(insertEvent, 11, healthKeys[previous]);                          \
        else sqlite3_bind_null(insertEvent, 11);                                                                 \
        sqlite3_int64 reason_ = (reason);                                                                        \
        const char *text_ = (text);                                                                              \
        if (reason_) sqlite3_bind_int64(insertEvent, 12, reason_);                                               \
        else sqlite3_bind_null(insertEvent, 12);                                                                 \
        if (text_) sqlite3_bind_text(insertEvent, 13, text_, -1, SQLITE_TRANSIENT);                              \
        else sqlite3_bind_null(insertEvent, 13);                                                                 \
        step(insertEvent, "insert event");                                                                       \
        events++;                                                                                                \
    } while (0)

    for (int round = 0; round <= rounds; round++) {
        double t = 1700000000.0 + round * 30.0;
        double started = now();
        for (int first = 0; first < streams; first += batch) {
            int last = first + batch < streams ? first + batch : streams;
            /* The processor's work before the commit: each message's check states and changes, and so the
             * envelope's number of events, whose sequences the commit reserves in one update. */
            long long envelopeEvents = 0;
            for (int s = first; s < last; s++) {
                struct metrics *m = &metrics[s];
                unsigned char *carried = &present[(s - first) * SLOTS];
                envelopeEvents += round == 0 ? 4 : 2;
                for (int j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    if (round > 0 && mix(s, round, j, 3) % 20 == 0) health[index] = (health[index] + 1) % 3;
                    carried[j] = mix(s, round, j, 1) % 20 != 0;
                    if (carried[j] && !stored[index]) m->creates++;
                    if (carried[j] && stored[index] && storedHealth[index] != health[index]) m->updates++;
                    if (!carried[j] && stored[index]) m->deletes++;
                    if (carried[j] ? !stored[index] || storedHealth[index] != health[index] : stored[index])
                        envelopeEvents++;
                }
            }
            step(begin, "begin");
            sqlite3_bind_int64(reserveSequences, 1, envelopeEvents);
            if (sqlite3_step(reserveSequences) != SQLITE_ROW) {
                fprintf(stderr, "sqlite_baseline: reserving sequences: %s\n", sqlite3_errmsg(db));
                return 1;
            }
            const sqlite3_int64 firstSequence = sqlite3_column_int64(reserveSequences, 0) - envelopeEvents + 1;
            sqlite3_int64 sequence = firstSequence;
            check(sqlite3_reset(reserveSequences), "reserve sequences");
            for (int s = first; s < last; s++) {
                snprintf(urn, sizeof urn, "urn:health:bench:stream-%d", s);
                struct metrics *m = &metrics[s];
                const unsigned char *carried = &present[(s - first) * SLOTS];
                /* The processor's order: stream and sub-stream rows, check-state deletes, upserts, events. */
                if (round == 0) {
                    m->createdAt = t;
                    sqlite3_bind_text(insertStream, 1, urn, -1, SQLITE_STATIC);
                    sqlite3_bind_double(insertStream, 2, t);
                    step(insertStream, "insert stream");
                }
                sqlite3_stmt *sub = round == 0 ? insertSubStream : updateSubStream;
                sqlite3_bind_text(sub, 1, urn, -1, SQLITE_STATIC);
                sqlite3_bind_double(sub, 2, m->createdAt);
                sqlite3_bind_int64(sub, 3, round + 1);
                sqlite3_bind_double(sub, 4, t);
                sqlite3_bind_double(sub, 5, t);
                sqlite3_bind_double(sub, 6, t + 60);
                sqlite3_bind_double(sub, 7, t + 60);
                sqlite3_bind_int64(sub, 8, round + 1);
                sqlite3_bind_int64(sub, 9, m->creates);
                sqlite3_bind_int64(sub, 10, m->updates);
                sqlite3_bind_int64(sub, 11, m->deletes);
                if (round > 0) sqlite3_bind_int64(sub, 12, round);
                step(sub, "save sub-stream");
                if (sqlite3_changes(db) != 1) {
                    fprintf(stderr, "sqlite_baseline: sub-stream %s not saved\n", urn);
                    return 1;
                }
                for (int j = 0; j < SLOTS; j++) {
                    if (carried[j] || !stored[s * SLOTS + j]) continue;
                    snprintf(id, sizeof id, "check-%d", j);
                    sqlite3_bind_text(deleteCheckState, 1, urn, -1, SQLITE_STATIC);
                    sqlite3_bind_text(deleteCheckState, 2, id, -1, SQLITE_STATIC);
                    step(deleteCheckState, "delete check state");
                }
                /* A refresh (StoreChange.refreshedCheckStates) when the sub-stream is stored and at least half of
                 * its check states in the snapshot, and two, only take the new time and sequence: rows for the new and
                 * changed ones only, then one update of the sub-stream's row, which the rows written before it
                 * read their time and sequence from (schema v4, as SQLiteHealthStore does). */
                int seen = 0, refreshedOnly = 0;
                for (int j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    if (!carried[j]) continue;
                    seen++;
                    if (stored[index] && storedHealth[index] == health[index]) refreshedOnly++;
                }
                int refresh = round > 0 && refreshedOnly >= 2 && refreshedOnly * 2 >= seen;
                /* The sub-stream's refreshVersion, read once before its first upsert (as SQLiteHealthStore.save). */
                int versionRead = 0;
                sqlite3_int64 refreshVersion = 0;
                for (int j = 0; j < SLOTS; j++) {
                    if (!carried[j]) continue;
                    phaseStates++;
                    int index = s * SLOTS + j;
                    if (refresh && stored[index] && storedHealth[index] == health[index]) continue;
                    int h = health[index];
                    snprintf(id, sizeof id, "check-%d", j);
                    snprintf(name, sizeof name, "Disk usage of /var/lib/data-%d", j);
                    snprintf(element, sizeof element, "urn:host:/host-%d.example.com:volume-%d", s, j);
                    sqlite3_bind_text(upsertCheckState, 1, urn, -1, SQLITE_STATIC);
                    sqlite3_bind_text(upsertCheckState, 2, id, -1, SQLITE_STATIC);
                    sqlite3_bind_text(upsertCheckState, 3, name, -1, SQLITE_STATIC);
                    sqlite3_bind_text(upsertCheckState, 4, healths[h], -1, SQLITE_STATIC);
                    sqlite3_bind_text(upsertCheckState, 5, element, -1, SQLITE_STATIC);
                    sqlite3_bind_text(upsertCheckState, 6, messages[h], -1, SQLITE_STATIC);
                    sqlite3_bind_double(upsertCheckState, 7, t);
                    sqlite3_bind_int64(upsertCheckState, 8, round + 1);
                    if (!versionRead) {
                        sqlite3_bind_text(readRefreshVersion, 1, urn, -1, SQLITE_STATIC);
                        int rc = sqlite3_step(readRefreshVersion);
                        check(rc, "read refresh version");
                        if (rc == SQLITE_ROW) refreshVersion = sqlite3_column_int64(readRefreshVersion, 0);
                        check(sqlite3_reset(readRefreshVersion), "read refresh version");
                        versionRead = 1;
                    }
                    sqlite3_bind_int64(upsertCheckState, 9, refreshVersion);
                    step(upsertCheckState, "upsert check state");
                }
                if (refresh) {
                    sqlite3_bind_text(refreshCheckStates, 1, urn, -1, SQLITE_STATIC);
                    sqlite3_bind_double(refreshCheckStates, 2, t);
                    sqlite3_bind_int64(refreshCheckStates, 3, round + 1);
                    step(refreshCheckStates, "refresh check states");
                }
                int j = 0;
                if (round == 0) {
                    EVENT(streamCreatedKey, 0, 0, -1, 0, "REPEAT_SNAPSHOTS");
                    EVENT(subStreamCreatedKey, 0, 0, -1, 0, NULL);
                }
                snprintf(detail, sizeof detail, "snapshot %d", round + 1);
                EVENT(snapshotStartedKey, 0, 0, -1, 0, detail);
                for (j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    if (!carried[j]) continue;
                    int h = health[index];
                    if (stored[index] && storedHealth[index] == h) continue;
                    snprintf(id, sizeof id, "check-%d", j);
                    snprintf(name, sizeof name, "Disk usage of /var/lib/data-%d", j);
                    snprintf(element, sizeof element, "urn:host:/host-%d.example.com:volume-%d", s, j);
                    if (!stored[index]) {
                        EVENT(createdKey, 1, h, -1, 0, NULL);
                        created++;
                    } else {
                        EVENT(updatedKey, 1, h, storedHealth[index], 0, NULL);
                        updated++;
                    }
                }
                for (j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    if (carried[j] || !stored[index]) continue;
                    int h = storedHealth[index];
                    snprintf(id, sizeof id, "check-%d", j);
                    snprintf(name, sizeof name, "Disk usage of /var/lib/data-%d", j);
                    snprintf(element, sizeof element, "urn:host:/host-%d.example.com:volume-%d", s, j);
                    EVENT(deletedKey, 1, h, -1, snapshotDiffKey, NULL);
                    deleted++;
                }
                EVENT(snapshotCompletedKey, 0, 0, -1, 0, "clean");
                for (j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    stored[index] = carried[j];
                    if (carried[j]) storedHealth[index] = health[index];
                }
            }
            if (sequence - firstSequence != envelopeEvents) {
                fprintf(stderr, "sqlite_baseline: %lld sequences reserved, %lld events written\n", envelopeEvents,
                        (long long)(sequence - firstSequence));
                return 1;
            }
            sqlite3_bind_double(updateClock, 1, t);
            step(updateClock, "clock");
            step(commit, "commit");
        }
        phaseSeconds += now() - started;
        if (round == 0 || round == rounds) {
            printf("RESULT impl=c phase=%s states=%lld seconds=%.3f states_per_s=%.0f created=%lld updated=%lld "
                   "deleted=%lld events=%lld\n",
                   round == 0 ? "ingest" : "steady", phaseStates, phaseSeconds, phaseStates / phaseSeconds, created,
                   updated, deleted, events);
            fflush(stdout);
            phaseStates = created = updated = deleted = events = 0;
            phaseSeconds = 0;
        }
    }
    sqlite3_close(db);
    long long size = 0;
    FILE *file = fopen(path, "rb");
    if (file) {
        fseek(file, 0, SEEK_END);
        size += ftell(file);
        fclose(file);
    }
    snprintf(scratch, sizeof scratch, "%s-wal", path);
    file = fopen(scratch, "rb");
    if (file) {
        fseek(file, 0, SEEK_END);
        size += ftell(file);
        fclose(file);
    }
    printf("RESULT impl=c phase=size database_bytes=%lld\n", size);
    return 0;
}
