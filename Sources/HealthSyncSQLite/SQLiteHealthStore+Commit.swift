import Foundation
internal import GRDB
import HealthSync
import Synchronization

/// Commits, and the pipelining of ``HealthSync/PipelinedHealthStore``: a queue of commits on the writer connection,
/// reads beside it on the pool's readers, and check-state refreshes as one range update.
extension SQLiteHealthStore: PipelinedHealthStore {
    /// Applies `change` in one write transaction, in the order ``HealthSync/StoreChange`` documents.
    ///
    /// Versions are checked by the writes themselves (`UPDATE … WHERE version = ?`, `DELETE … WHERE version = ?`,
    /// `INSERT … ON CONFLICT DO NOTHING` for version 0) and a write that changes no row fails the commit; any
    /// failure rolls the whole transaction back. When this method returns, the change is committed (and, with
    /// ``Durability/full``, on stable storage).
    ///
    /// The transaction runs on the calling thread, which waits for it (and for the writes queued before it), rather
    /// than on the writer's queue with a thread hop there and one back: for an envelope of one stream the hops were a
    /// tenth to a fifth of `apply`'s time (Docs/performance.md). While a commit stream is open
    /// (``openCommitStream()``) or a copy loads (``load(_:)``), whose writer waits for a task's parts or pages, it is
    /// queued on the writer's queue and awaited instead, so that it never blocks a thread that task may need.
    ///
    /// - Throws: ``HealthSync/StorageError`` with ``HealthSync/StorageError/Code/conflict`` when a version no
    ///   longer matches, a record to insert exists, or the change refers to a stream or sub-stream that is not
    ///   stored; ``HealthSync/StorageError/Code/duplicateReceipt`` when one of its receipts exists (or it lists one
    ///   twice). In every case nothing is written.
    public func commit(_ change: StoreChange) async throws(StorageError) {
        guard !change.isEmpty else { return }
        let (cache, texts) = (self.cache, eventTexts)
        let body: @Sendable (Database) throws -> Void = { db in
            try Self.write(change, in: db, keeping: cache, texts: texts)
        }
        do {
            if taskFed.none {
                try writeOnCallersThread("committing a change", body)
            } else {
                try await write("committing a change", body)
            }
        } catch {
            // GRDB may have reported the commit before its write failed (a full disk): the cache forgets it.
            cache?.invalidate()
            throw error
        }
    }

    /// `true`: a sub-stream's refresh (``HealthSync/StoreChange/refreshedCheckStates``) is one update of the
    /// sub-stream's row (schema v4), whatever its number of check states, instead of an upsert per check state.
    public var prefersCheckStateRefreshes: Bool { true }

    /// Queues `change` on the writer's queue at once, behind every write queued before it (`previous` among them),
    /// and returns: it is written the moment the one before it ends. When `previous` failed, it fails with
    /// ``HealthSync/CommitTicket/earlierFailure`` and writes nothing.
    public func queueCommit(_ change: StoreChange, after previous: CommitTicket?) -> CommitTicket {
        let ticket = CommitTicket()
        guard snapshot == nil else {
            ticket.finish(.failure(Self.snapshotIsReadOnly))
            return ticket
        }
        let (cache, texts) = (self.cache, eventTexts)
        // The events' texts already keyed are looked up here, on the caller's thread, while the writer commits the
        // change before this one: the writer, a pipeline's longest stage, only keys the texts new since.
        let known = change.events.isEmpty ? nil : texts.committedKeys(of: change.events)
        writer.asyncWrite(
            { db in
                // The writer's queue is serial and `previous` was queued on it before: it has finished. (A ticket
                // still running is from elsewhere; failing as a conflict only makes the processor apply again.)
                if let previous, previous.succeeded != true { throw CommitTicket.earlierFailure }
                guard !change.isEmpty else { return }
                try Self.write(change, in: db, keeping: cache, texts: texts, knownKeys: known)
            },
            completion: { _, result in
                switch result {
                case .success: ticket.finish(.success(()))
                case .failure(let error):
                    cache?.invalidate()
                    ticket.finish(.failure(Self.storageError(error, while: "committing a change")))
                }
            })
        return ticket
    }

    /// Opens a write transaction on the writer's queue, behind every write queued before it, that applies the stream's
    /// parts in order as they come and commits them together when the stream is finished (``HealthSync/CommitStream``).
    ///
    /// The writer's thread waits for each part: until the stream is finished or abandoned, the store's other writes
    /// and its reads on the writer connection wait. `nil` for a read-only snapshot.
    public func openCommitStream() -> CommitStream? {
        guard snapshot == nil else { return nil }
        let (cache, texts, taskFed) = (self.cache, eventTexts, self.taskFed)
        let stream = CommitStream()
        taskFed.opened()
        writer.asyncWrite(
            { db in
                try Self.beginWrite(in: db, keeping: cache, texts: texts)
                // A part that fails ends the loop: the processor's sends never wait for the writer, and its
                // `finish()` learns the failure from the completion below.
                var parts: [StoreChange] = []
                while let part = try stream.nextPart() {
                    try Self.apply(part, in: db, texts: texts)
                    if cache != nil { parts.append(part) }
                }
                cache?.follow(parts)
            },
            completion: { _, result in
                taskFed.closed()
                switch result {
                case .success: stream.complete(.success(()))
                case .failure(let error):
                    cache?.invalidate()
                    stream.complete(.failure(Self.storageError(error, while: "committing a change in parts")))
                }
            })
        return stream
    }

    /// Writes `change` in the current write transaction and, with a cache, checks for other connections' commits
    /// first and has the cache follow the change once the transaction committed (or empties it on a rollback).
    ///
    /// On a full disk GRDB reports the commit as committed and then the write fails (measured in
    /// `DiskFaultTests`): the callers empty the cache on every failure as well.
    private static func write(
        _ change: StoreChange, in db: Database, keeping cache: ContextCache?, texts: EventTexts,
        knownKeys: [Int64]? = nil
    ) throws {
        try beginWrite(in: db, keeping: cache, texts: texts)
        cache?.follow([change])
        try apply(change, in: db, texts: texts, knownKeys: knownKeys)
    }

    /// Starts the writes of a transaction: the event texts' bookkeeping and, with a cache, the check that no other
    /// connection committed since the cache was last in step.
    /// - Throws: a ``HealthSync/StorageError/Code/conflict`` when one did.
    private static func beginWrite(in db: Database, keeping cache: ContextCache?, texts: EventTexts) throws {
        try texts.beginTransaction(in: db)
        guard let cache else { return }
        // Inside the write transaction no other connection can commit: what data_version says holds until this
        // transaction ends.
        let version = try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0
        if cache.noteDataVersion(version) {
            throw StorageError(
                code: .conflict,
                message: "another connection committed while this change was being staged from cached reads"
            )
        }
    }

    /// Applies `change` inside the current transaction, its events' texts keyed by `texts` (from `knownKeys` where
    /// ``EventTexts/committedKeys(of:)`` found them before); throws to roll it back.
    static func apply(
        _ change: StoreChange, in db: Database, texts: EventTexts, knownKeys: [Int64]? = nil
    ) throws {
        if !change.receipts.isEmpty {
            let existing = try db.cachedStatement(sql: "SELECT 1 FROM receipt WHERE receipt = ?")
            for receipt in change.receipts where try Row.fetchOne(existing, arguments: [receipt]) != nil {
                throw StorageError(code: .duplicateReceipt, message: "receipt \(receipt) was already committed")
            }
            if change.receipts.count > 1, Set(change.receipts).count < change.receipts.count {
                throw StorageError(code: .duplicateReceipt, message: "the change lists a receipt twice")
            }
        }

        if !change.deletedStreams.isEmpty {
            let statement = try db.cachedStatement(sql: "DELETE FROM stream WHERE urn = ? AND version = ?")
            for deletion in change.deletedStreams {
                try statement.execute(arguments: [deletion.urn, deletion.version])
                try expectOneChange(db, "stream \(deletion.urn) at version \(deletion.version)")
            }
        }
        if !change.deletedSubStreams.isEmpty {
            let statement = try db.cachedStatement(
                sql: "DELETE FROM subStream WHERE urn = ? AND subStreamId = ? AND version = ?"
            )
            for deletion in change.deletedSubStreams {
                try statement.execute(arguments: [deletion.key.urn, deletion.key.subStreamId, deletion.version])
                try expectOneChange(db, "sub-stream \(deletion.key) at version \(deletion.version)")
            }
        }
        for stream in change.savedStreams {
            try save(stream, in: db)
        }
        for subStream in change.savedSubStreams {
            try save(subStream, in: db)
        }
        // The per-row statements of a commit (check states and events, about a hundred rows an envelope) bind their
        // values straight through the SQLite C API, texts without a copy: GRDB's `StatementArguments` box every value
        // (an existential and a `DatabaseValue` per column), a measurable share of a commit (Docs/performance.md).
        if !change.deletedCheckStates.isEmpty {
            let statement = try DirectStatement(db, sql: deleteCheckStateSQL)
            for (key, checkStateId) in change.deletedCheckStates {
                try statement.execute(bindingTexts: [key.urn, key.subStreamId, checkStateId], from: 1)
            }
        }
        // A refresh is one update of the sub-stream's row (schema v4), not of each of its check states: the rows
        // written before it read its time and sequence. A save after a refresh keeps its own, so the saves come
        // first when every check state saved in a refreshed sub-stream takes the refresh's time and sequence (as the
        // processor's changes do), and after the refreshes otherwise: either way the outcome of a refresh of every
        // row, then the saves.
        let refreshesFollowSaves = change.refreshesMayFollowSaves
        if !refreshesFollowSaves { try refresh(change.refreshedCheckStates, in: db) }
        if !change.savedCheckStates.isEmpty {
            try save(change.savedCheckStates, in: db)
        }
        if refreshesFollowSaves { try refresh(change.refreshedCheckStates, in: db) }
        if !change.deletedErrors.isEmpty {
            let statement = try db.cachedStatement(
                sql: "DELETE FROM streamError WHERE urn = ? AND subStreamId = ? AND streamLevel = ? AND code = ?"
            )
            for key in change.deletedErrors {
                try statement.execute(arguments: [key.urn, key.subStreamId, key.streamLevel, key.code.rawValue])
            }
        }
        if !change.savedErrors.isEmpty {
            try save(change.savedErrors, in: db)
        }
        if !change.events.isEmpty {
            // The sequences are the store's: a sequence set by the caller is ignored.
            var sequence = try reserveSequences(change.events.count, in: db)
            let statement = try DirectStatement(db, sql: insertEventSQL)
            // Keyed for the whole change first, as a queued commit's caller does (``EventTexts/committedKeys(of:)``):
            // a text that repeats the previous event's (the kind, the stream, the healths) is then not hashed again.
            let keys = try texts.completedKeys(
                of: change.events, known: knownKeys ?? texts.committedKeys(of: change.events), in: db)
            for index in change.events.indices {
                statement.bind(1, sequence)
                statement.bind(2, change.events[index].at.storedValue)
                try texts.insert(change.events, at: index, with: statement, from: 3, in: db, known: keys)
                sequence += 1
            }
        }
        if let clock = change.clock {
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO processorState (id, clock) VALUES (1, ?)
                    ON CONFLICT (id) DO UPDATE SET clock = max(clock, excluded.clock)
                    """)
            try statement.execute(arguments: [clock.storedValue])
        }
        if !change.receipts.isEmpty {
            let statement = try db.cachedStatement(sql: "INSERT INTO receipt (receipt, clock) VALUES (?, ?)")
            let clock = change.clock?.storedValue
            for receipt in change.receipts { try statement.execute(arguments: [receipt, clock]) }
        }
    }

    /// Sets the time and sequence of every check state of each refreshed sub-stream: of those stored now, not of
    /// those saved after (schema v4: one update of the sub-stream's row, whatever its number of check states).
    private static func refresh(_ refreshes: [StoreChange.CheckStateRefresh], in db: Database) throws {
        guard !refreshes.isEmpty else { return }
        let statement = try DirectStatement(db, sql: refreshSQL)
        for refresh in refreshes {
            statement.bind(3, refresh.lastSeenAt.storedValue)
            statement.bind(4, refresh.snapshotSequence)
            try statement.execute(bindingTexts: [refresh.key.urn, refresh.key.subStreamId], from: 1)
        }
    }

    /// Inserts or replaces `states` (an upsert per check state, through the SQLite C API).
    ///
    /// Each row takes its sub-stream's current `refreshVersion` (schema v4), read once for each run of states of one
    /// sub-stream (a change lists a sub-stream's states together) rather than by a subquery in every upsert.
    static func save(_ states: [StoredCheckState], in db: Database) throws {
        let statement = try DirectStatement(db, sql: upsertCheckStateSQL)
        let versions = try DirectStatement(db, sql: refreshVersionSQL)
        var current: (key: StreamKey, refreshVersion: Int64)?
        for index in states.indices {
            let key = states[index].key
            if current?.key != key {
                versions.bind(1, key.urn)
                versions.bind(2, key.subStreamId)
                // A sub-stream not stored has had no refresh: 0, what its row is created with.
                let stored = try versions.fetchOne { try $0.int64(0, column: "subStream.refreshVersion") }
                current = (key, stored ?? 0)
            }
            // Fields read in place: a copy of the whole state would retain each of its strings.
            statement.bind(8, states[index].lastSeenAt.storedValue)
            statement.bind(9, states[index].snapshotSequence)
            let liveness = states[index].liveness
            statement.bind(10, (liveness?.interval).map(Int64.init))
            statement.bind(11, (liveness?.grace).map(Int64.init))
            statement.bind(12, liveness?.silencedAt?.storedValue)
            statement.bind(13, current?.refreshVersion ?? 0)
            let checkState = states[index].checkState
            try statement.execute(
                bindingTexts: [
                    key.urn, key.subStreamId, checkState.checkStateId, checkState.name,
                    checkState.health.rawValue, checkState.topologyElementIdentifier, checkState.message,
                ],
                from: 1
            )
        }
    }

    /// Inserts or replaces the error records `errors`.
    static func save(_ errors: [ErrorRecord], in db: Database) throws {
        let statement = try db.cachedStatement(sql: upsertErrorSQL)
        for error in errors {
            try statement.execute(arguments: [
                error.key.urn, error.key.subStreamId, error.key.streamLevel, error.key.code.rawValue,
                error.level.rawValue, error.message, error.count, error.firstSeenAt.storedValue,
                error.lastSeenAt.storedValue,
            ])
        }
    }

    // MARK: Records with versions

    private static func save(_ stream: StreamRecord, in db: Database) throws {
        if stream.version == 0 {
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO stream (urn, consistencyModel, createdAt, version) VALUES (?, ?, ?, 1)
                    ON CONFLICT DO NOTHING
                    """)
            try statement.execute(arguments: [
                stream.urn, stream.consistencyModel.rawValue, stream.createdAt.storedValue,
            ])
            try expectOneChange(db, "new stream \(stream.urn), which exists")
        } else {
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE stream SET consistencyModel = ?, createdAt = ?, version = version + 1
                    WHERE urn = ? AND version = ?
                    """)
            try statement.execute(arguments: [
                stream.consistencyModel.rawValue, stream.createdAt.storedValue, stream.urn, stream.version,
            ])
            try expectOneChange(db, "stream \(stream.urn) at version \(stream.version)")
        }
    }

    private static func save(_ subStream: SubStreamRecord, in db: Database) throws {
        let values = subStreamValues(subStream)
        let key: StatementArguments = [subStream.key.urn, subStream.key.subStreamId]
        if subStream.version == 0 {
            let statement = try db.cachedStatement(sql: insertSubStreamSQL)
            try statement.execute(arguments: key + values)
            try expectOneChange(db, "new sub-stream \(subStream.key), which exists")
        } else {
            let statement = try db.cachedStatement(sql: updateSubStreamSQL)
            try statement.execute(arguments: values + key + [subStream.version])
            try expectOneChange(db, "sub-stream \(subStream.key) at version \(subStream.version)")
        }
    }

    /// Every column of `subStream` but the key and the version, in the order of ``subStreamValueColumns``.
    static func subStreamValues(_ subStream: SubStreamRecord) -> StatementArguments {
        let deadlines = subStream.deadlines
        let metrics = subStream.metrics
        return [
            subStream.createdAt.storedValue,
            subStream.intervals?.repeatInterval, subStream.intervals?.expiryInterval,
            subStream.openSnapshot?.startedAt.storedValue, subStream.openSnapshot?.clean,
            subStream.snapshotSequence, subStream.lastCompletedAt?.storedValue, subStream.lastMessageAt.storedValue,
            subStream.checkpoint?.offset, subStream.checkpoint?.batchIndex,
            deadlines.lateData?.storedValue, deadlines.missingStop?.storedValue, deadlines.expiry?.storedValue,
            deadlines.checkStateExpiry?.storedValue, subStream.nextDeadline?.storedValue,
            metrics.messages, metrics.creates, metrics.updates, metrics.deletes, metrics.totalLatency,
            metrics.lastLatency, deadlines.silence?.storedValue,
        ]
    }

    /// Fails the commit with a conflict unless the last statement changed exactly one row.
    private static func expectOneChange(_ db: Database, _ what: @autoclosure () -> String) throws {
        guard db.changesCount == 1 else {
            throw StorageError(code: .conflict, message: "\(what()) was changed by another writer")
        }
    }

    // MARK: SQL

    static let subStreamValueColumns = [
        "createdAt", "repeatInterval", "expiryInterval", "snapshotStartedAt", "snapshotClean", "snapshotSequence",
        "lastCompletedAt", "lastMessageAt", "checkpointOffset", "checkpointBatchIndex", "lateDataDeadline",
        "missingStopDeadline", "expiryDeadline", "checkStateExpiryDeadline", "nextDeadline", "messageCount",
        "createCount", "updateCount", "deleteCount", "totalLatency", "lastLatency", "silenceDeadline",
    ]

    private static let insertSubStreamSQL = """
        INSERT INTO subStream (urn, subStreamId, \(subStreamValueColumns.joined(separator: ", ")), version)
        VALUES (?, ?, \(Array(repeating: "?", count: subStreamValueColumns.count).joined(separator: ", ")), 1)
        ON CONFLICT DO NOTHING
        """

    private static let updateSubStreamSQL = """
        UPDATE subStream SET \(subStreamValueColumns.map { "\($0) = ?" }.joined(separator: ", ")), \
        version = version + 1
        WHERE urn = ? AND subStreamId = ? AND version = ?
        """

    /// A saved row takes its sub-stream's refresh count, so that the refreshes before it do not apply to it
    /// (schema v4); `0` when the sub-stream is not stored (the foreign key then fails the commit).
    private static let upsertCheckStateSQL = """
        INSERT INTO checkState (urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message,
            lastSeenAt, snapshotSequence, livenessInterval, livenessGrace, silencedAt, refreshVersion)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (urn, subStreamId, checkStateId) DO UPDATE SET
            name = excluded.name, health = excluded.health,
            topologyElementIdentifier = excluded.topologyElementIdentifier, message = excluded.message,
            lastSeenAt = excluded.lastSeenAt, snapshotSequence = excluded.snapshotSequence,
            livenessInterval = excluded.livenessInterval, livenessGrace = excluded.livenessGrace,
            silencedAt = excluded.silencedAt, refreshVersion = excluded.refreshVersion
        """

    /// Compiled once for the writer connection and kept in its statement cache (``ContextCache/CommitObserver``).
    static let deleteCheckStateSQL = "DELETE FROM checkState WHERE urn = ? AND subStreamId = ? AND checkStateId = ?"

    private static let refreshVersionSQL = "SELECT refreshVersion FROM subStream WHERE urn = ? AND subStreamId = ?"

    private static let refreshSQL = """
        UPDATE subStream SET refreshVersion = refreshVersion + 1, refreshedAt = ?3, refreshedSequence = ?4
        WHERE urn = ?1 AND subStreamId = ?2
        """

    private static let upsertErrorSQL = """
        INSERT INTO streamError (urn, subStreamId, streamLevel, code, level, message, count, firstSeenAt, lastSeenAt)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (urn, subStreamId, streamLevel, code) DO UPDATE SET
            level = excluded.level, message = excluded.message, count = excluded.count,
            firstSeenAt = excluded.firstSeenAt, lastSeenAt = excluded.lastSeenAt
        """

    /// The first of `count` new event sequences, handed out in the current transaction (schema v3's
    /// `eventSequence`): the next after the last ever handed out.
    static func reserveSequences(_ count: Int, in db: Database) throws -> Int64 {
        let statement = try DirectStatement(
            db, sql: "UPDATE eventSequence SET last = last + ? WHERE id = 1 RETURNING last")
        statement.bind(1, Int64(count))
        guard let last = try statement.fetchOne({ try $0.int64(0, column: "eventSequence.last") }) else {
            throw StorageError(code: .corrupt, message: "the database has no eventSequence row")
        }
        return last - Int64(count) + 1
    }

    /// An event with its sequence and time, then the columns ``EventTexts/insert(_:at:with:from:in:known:)`` binds: the
    /// commit's and the copy's.
    static let insertEventSQL = """
        INSERT INTO eventRecord (sequence, at, kind, urn, subStreamId, checkStateId, name, health,
            topologyElementIdentifier, message, previousHealth, deletionReason, errorCode, detail)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
}

/// How many of a store's write transactions wait for a task to feed them (a commit stream's parts, a load's pages),
/// counted from the moment one is queued on the writer's queue until it ended. Only while there are none does a
/// commit block its caller's thread on the writer: a thread blocked there might be the one such a task needs.
final class TaskFedTransactions: Sendable {
    private let count = Atomic<Int>(0)

    /// `true` when no such transaction is queued or running.
    var none: Bool { count.load(ordering: .acquiring) == 0 }

    /// Counts one queued.
    func opened() { count.add(1, ordering: .acquiringAndReleasing) }

    /// Counts one ended.
    func closed() { count.subtract(1, ordering: .acquiringAndReleasing) }
}
