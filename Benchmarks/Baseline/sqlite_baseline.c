/*
 * sqlite_baseline: the bare limit for workload 3 of Docs/performance.md.
 *
 * A plain C program with prepared sqlite3 statements that writes exactly the rows SQLiteHealthStore writes for the
 * churn workload of `healthsync-load sqlite` (Sources/BenchmarkSupport/ChurnWorkload.swift): the same schema
 * (migration v1 of Sources/HealthSyncSQLite/SQLiteHealthStore+Schema.swift), the same pragmas (WAL,
 * synchronous = FULL, foreign keys on), one BEGIN IMMEDIATE transaction per envelope of `batch` messages, and per
 * REPEAT_SNAPSHOTS message: the stream and sub-stream rows (insert in round 0, an update of every sub-stream column
 * afterwards), a delete per check state that left the snapshot, an upsert per check state carried (or, from round 1,
 * one range update of the sub-stream's check states and an upsert per new or changed one, as SQLiteHealthStore
 * writes a refresh), one event row per change plus the snapshot's started/completed events, and the processor
 * clock. It reads nothing: everything the processor has to look up, this program knows.
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

static const char *schema =
    "CREATE TABLE stream (urn TEXT NOT NULL PRIMARY KEY, consistencyModel TEXT NOT NULL, createdAt REAL NOT NULL,"
    " version INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE subStream (urn TEXT NOT NULL REFERENCES stream(urn) ON DELETE CASCADE, subStreamId TEXT NOT NULL,"
    " createdAt REAL NOT NULL, repeatInterval INTEGER, expiryInterval INTEGER, snapshotStartedAt REAL,"
    " snapshotClean INTEGER, snapshotSequence INTEGER NOT NULL, lastCompletedAt REAL, lastMessageAt REAL NOT NULL,"
    " checkpointOffset INTEGER, checkpointBatchIndex INTEGER, lateDataDeadline REAL, missingStopDeadline REAL,"
    " expiryDeadline REAL, checkStateExpiryDeadline REAL, nextDeadline REAL, messageCount INTEGER NOT NULL,"
    " createCount INTEGER NOT NULL, updateCount INTEGER NOT NULL, deleteCount INTEGER NOT NULL,"
    " totalLatency REAL NOT NULL, lastLatency REAL NOT NULL, version INTEGER NOT NULL,"
    " PRIMARY KEY (urn, subStreamId), CHECK ((repeatInterval IS NULL) = (expiryInterval IS NULL)),"
    " CHECK ((snapshotStartedAt IS NULL) = (snapshotClean IS NULL)),"
    " CHECK (checkpointBatchIndex IS NULL OR checkpointOffset IS NOT NULL)) WITHOUT ROWID;"
    "CREATE INDEX subStream_nextDeadline ON subStream(nextDeadline, urn, subStreamId) WHERE nextDeadline IS NOT NULL;"
    "CREATE TABLE checkState (urn TEXT NOT NULL, subStreamId TEXT NOT NULL, checkStateId TEXT NOT NULL,"
    " name TEXT NOT NULL, health TEXT NOT NULL, topologyElementIdentifier TEXT NOT NULL, message TEXT,"
    " lastSeenAt REAL NOT NULL, snapshotSequence INTEGER NOT NULL, PRIMARY KEY (urn, subStreamId, checkStateId),"
    " FOREIGN KEY (urn, subStreamId) REFERENCES subStream(urn, subStreamId) ON DELETE CASCADE) WITHOUT ROWID;"
    "CREATE TABLE streamError (urn TEXT NOT NULL REFERENCES stream(urn) ON DELETE CASCADE,"
    " subStreamId TEXT NOT NULL, streamLevel INTEGER NOT NULL, code TEXT NOT NULL, level TEXT NOT NULL,"
    " message TEXT NOT NULL, count INTEGER NOT NULL, firstSeenAt REAL NOT NULL, lastSeenAt REAL NOT NULL,"
    " ownerSubStreamId TEXT GENERATED ALWAYS AS (CASE WHEN streamLevel THEN NULL ELSE subStreamId END) VIRTUAL,"
    " PRIMARY KEY (urn, subStreamId, streamLevel, code),"
    " FOREIGN KEY (urn, ownerSubStreamId) REFERENCES subStream(urn, subStreamId) ON DELETE CASCADE) WITHOUT ROWID;"
    "CREATE INDEX streamError_owner ON streamError(urn, ownerSubStreamId);"
    "CREATE TABLE event (sequence INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, urn TEXT NOT NULL,"
    " subStreamId TEXT NOT NULL, checkStateId TEXT, name TEXT, health TEXT, topologyElementIdentifier TEXT,"
    " message TEXT, previousHealth TEXT, deletionReason TEXT, errorCode TEXT, detail TEXT,"
    " CHECK ((checkStateId IS NULL) = (name IS NULL)), CHECK ((checkStateId IS NULL) = (health IS NULL)),"
    " CHECK ((checkStateId IS NULL) = (topologyElementIdentifier IS NULL)));"
    "CREATE INDEX event_stream ON event(urn, subStreamId, at);"
    "CREATE INDEX event_at ON event(at);"
    "CREATE TABLE processorState (id INTEGER PRIMARY KEY CHECK (id = 1), clock REAL NOT NULL);"
    "CREATE TABLE receipt (receipt TEXT NOT NULL PRIMARY KEY, clock REAL) WITHOUT ROWID;";

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
        "messageCount, createCount, updateCount, deleteCount, totalLatency, lastLatency, version) "
        "VALUES (?1, '', ?2, 60, 0, NULL, NULL, ?3, ?4, ?5, NULL, NULL, ?6, NULL, NULL, NULL, ?7, ?8, ?9, ?10, ?11, "
        "0, 0, 1) ON CONFLICT DO NOTHING");
    sqlite3_stmt *updateSubStream = prepare(
        "UPDATE subStream SET createdAt = ?2, repeatInterval = 60, expiryInterval = 0, snapshotStartedAt = NULL, "
        "snapshotClean = NULL, snapshotSequence = ?3, lastCompletedAt = ?4, lastMessageAt = ?5, "
        "checkpointOffset = NULL, checkpointBatchIndex = NULL, lateDataDeadline = ?6, missingStopDeadline = NULL, "
        "expiryDeadline = NULL, checkStateExpiryDeadline = NULL, nextDeadline = ?7, messageCount = ?8, "
        "createCount = ?9, updateCount = ?10, deleteCount = ?11, totalLatency = 0, lastLatency = 0, "
        "version = version + 1 WHERE urn = ?1 AND subStreamId = '' AND version = ?12");
    sqlite3_stmt *deleteCheckState =
        prepare("DELETE FROM checkState WHERE urn = ? AND subStreamId = '' AND checkStateId = ?");
    sqlite3_stmt *upsertCheckState = prepare(
        "INSERT INTO checkState (urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message, "
        "lastSeenAt, snapshotSequence) VALUES (?, '', ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (urn, subStreamId, checkStateId) DO UPDATE SET name = excluded.name, health = excluded.health, "
        "topologyElementIdentifier = excluded.topologyElementIdentifier, message = excluded.message, "
        "lastSeenAt = excluded.lastSeenAt, snapshotSequence = excluded.snapshotSequence");
    sqlite3_stmt *refreshCheckStates = prepare(
        "UPDATE checkState SET lastSeenAt = ?2, snapshotSequence = ?3 WHERE urn = ?1 AND subStreamId = ''");
    sqlite3_stmt *insertEvent = prepare(
        "INSERT INTO event (at, kind, urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, "
        "message, previousHealth, deletionReason, errorCode, detail) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, NULL, ?)");
    sqlite3_stmt *updateClock = prepare(
        "INSERT INTO processorState (id, clock) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET clock = max(clock, excluded.clock)");

    unsigned char *health = calloc((size_t)streams * SLOTS, 1);
    unsigned char *stored = calloc((size_t)streams * SLOTS, 1);
    unsigned char *storedHealth = calloc((size_t)streams * SLOTS, 1);
    struct metrics *metrics = calloc((size_t)streams, sizeof *metrics);
    for (int s = 0; s < streams; s++)
        for (int j = 0; j < SLOTS; j++)
            if (mix(s, 0, j, 2) % 10 == 0) health[s * SLOTS + j] = 1;

    long long phaseStates = 0, created = 0, updated = 0, deleted = 0, events = 0;
    double phaseSeconds = 0;
    char urn[64], id[32], name[64], element[96], detail[32];

#define EVENT(kind, hasState, h, previous, reason, text)                                                        \
    do {                                                                                                         \
        sqlite3_bind_double(insertEvent, 1, t);                                                                  \
        sqlite3_bind_text(insertEvent, 2, kind, -1, SQLITE_STATIC);                                              \
        sqlite3_bind_text(insertEvent, 3, urn, -1, SQLITE_STATIC);                                               \
        if (hasState) {                                                                                          \
            sqlite3_bind_text(insertEvent, 4, id, -1, SQLITE_STATIC);                                            \
            sqlite3_bind_text(insertEvent, 5, name, -1, SQLITE_STATIC);                                          \
            sqlite3_bind_text(insertEvent, 6, healths[h], -1, SQLITE_STATIC);                                    \
            sqlite3_bind_text(insertEvent, 7, element, -1, SQLITE_STATIC);                                       \
            sqlite3_bind_text(insertEvent, 8, messages[h], -1, SQLITE_STATIC);                                   \
        } else {                                                                                                 \
            for (int column = 4; column <= 8; column++) sqlite3_bind_null(insertEvent, column);                  \
        }                                                                                                        \
        if ((previous) >= 0) sqlite3_bind_text(insertEvent, 9, healths[previous], -1, SQLITE_STATIC);           \
        else sqlite3_bind_null(insertEvent, 9);                                                                  \
        const char *reason_ = (reason), *text_ = (text);                                                        \
        if (reason_) sqlite3_bind_text(insertEvent, 10, reason_, -1, SQLITE_STATIC);                             \
        else sqlite3_bind_null(insertEvent, 10);                                                                 \
        if (text_) sqlite3_bind_text(insertEvent, 11, text_, -1, SQLITE_TRANSIENT);                              \
        else sqlite3_bind_null(insertEvent, 11);                                                                 \
        step(insertEvent, "insert event");                                                                       \
        events++;                                                                                                \
    } while (0)

    for (int round = 0; round <= rounds; round++) {
        double t = 1700000000.0 + round * 30.0;
        double started = now();
        for (int first = 0; first < streams; first += batch) {
            int last = first + batch < streams ? first + batch : streams;
            step(begin, "begin");
            for (int s = first; s < last; s++) {
                snprintf(urn, sizeof urn, "urn:health:bench:stream-%d", s);
                struct metrics *m = &metrics[s];
                int present[SLOTS];
                /* The processor's order: stream and sub-stream rows, check-state deletes, upserts, events. */
                if (round == 0) {
                    m->createdAt = t;
                    sqlite3_bind_text(insertStream, 1, urn, -1, SQLITE_STATIC);
                    sqlite3_bind_double(insertStream, 2, t);
                    step(insertStream, "insert stream");
                }
                for (int j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    if (round > 0 && mix(s, round, j, 3) % 20 == 0) health[index] = (health[index] + 1) % 3;
                    present[j] = mix(s, round, j, 1) % 20 != 0;
                    if (present[j] && !stored[index]) m->creates++;
                    if (present[j] && stored[index] && storedHealth[index] != health[index]) m->updates++;
                    if (!present[j] && stored[index]) m->deletes++;
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
                    if (present[j] || !stored[s * SLOTS + j]) continue;
                    snprintf(id, sizeof id, "check-%d", j);
                    sqlite3_bind_text(deleteCheckState, 1, urn, -1, SQLITE_STATIC);
                    sqlite3_bind_text(deleteCheckState, 2, id, -1, SQLITE_STATIC);
                    step(deleteCheckState, "delete check state");
                }
                /* A refresh (StoreChange.refreshedCheckStates) when the sub-stream is stored and at least half of
                 * its check states in the snapshot, and two, only take the new time and sequence: one range update,
                 * then rows for the new and changed ones only. */
                int seen = 0, refreshedOnly = 0;
                for (int j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    if (!present[j]) continue;
                    seen++;
                    if (stored[index] && storedHealth[index] == health[index]) refreshedOnly++;
                }
                int refresh = round > 0 && refreshedOnly >= 2 && refreshedOnly * 2 >= seen;
                if (refresh) {
                    sqlite3_bind_text(refreshCheckStates, 1, urn, -1, SQLITE_STATIC);
                    sqlite3_bind_double(refreshCheckStates, 2, t);
                    sqlite3_bind_int64(refreshCheckStates, 3, round + 1);
                    step(refreshCheckStates, "refresh check states");
                }
                for (int j = 0; j < SLOTS; j++) {
                    if (!present[j]) continue;
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
                    step(upsertCheckState, "upsert check state");
                }
                if (round == 0) {
                    EVENT("streamCreated", 0, 0, -1, NULL, "REPEAT_SNAPSHOTS");
                    EVENT("subStreamCreated", 0, 0, -1, NULL, NULL);
                }
                snprintf(detail, sizeof detail, "snapshot %d", round + 1);
                EVENT("snapshotStarted", 0, 0, -1, NULL, detail);
                for (int j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    if (!present[j]) continue;
                    int h = health[index];
                    snprintf(id, sizeof id, "check-%d", j);
                    snprintf(name, sizeof name, "Disk usage of /var/lib/data-%d", j);
                    snprintf(element, sizeof element, "urn:host:/host-%d.example.com:volume-%d", s, j);
                    if (!stored[index]) {
                        EVENT("checkStateCreated", 1, h, -1, NULL, NULL);
                        created++;
                    } else if (storedHealth[index] != h) {
                        EVENT("checkStateUpdated", 1, h, storedHealth[index], NULL, NULL);
                        updated++;
                    }
                }
                for (int j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    if (present[j] || !stored[index]) continue;
                    int h = storedHealth[index];
                    snprintf(id, sizeof id, "check-%d", j);
                    snprintf(name, sizeof name, "Disk usage of /var/lib/data-%d", j);
                    snprintf(element, sizeof element, "urn:host:/host-%d.example.com:volume-%d", s, j);
                    EVENT("checkStateDeleted", 1, h, -1, "snapshotDiff", NULL);
                    deleted++;
                }
                EVENT("snapshotCompleted", 0, 0, -1, NULL, "clean");
                for (int j = 0; j < SLOTS; j++) {
                    int index = s * SLOTS + j;
                    stored[index] = (unsigned char)present[j];
                    if (present[j]) storedHealth[index] = health[index];
                }
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
