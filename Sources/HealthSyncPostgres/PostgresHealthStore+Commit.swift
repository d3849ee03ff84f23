import Foundation
import HealthSync
import Logging
import PostgresNIO

/// Commits: one ``HealthSync/StoreChange`` as one transaction.
extension PostgresHealthStore {
    /// Applies `change` in one write transaction (`READ COMMITTED`), in the order ``HealthSync/StoreChange``
    /// documents.
    ///
    /// Versions are checked by the writes themselves (`UPDATE … WHERE version = $n`, `DELETE … WHERE version = $n`,
    /// `INSERT … ON CONFLICT DO NOTHING` for version 0, each `RETURNING` the row it wrote), and a write that changes no
    /// row fails the commit with a conflict. A concurrent transaction that changed the row first makes the `UPDATE`
    /// wait for it and then find the version moved on; two commits of one stream thus never interleave, whichever
    /// process makes them. Any failure rolls the whole transaction back.
    ///
    /// Rows of one kind go in one statement each, whatever their number (`unnest` of one array per column): a commit
    /// of a hundred check states and their events is a handful of round trips.
    ///
    /// - Throws: ``HealthSync/StorageError`` with ``HealthSync/StorageError/Code/conflict`` when a version no longer
    ///   matches, a record to insert exists, or the change refers to a stream or sub-stream that is not stored;
    ///   ``HealthSync/StorageError/Code/duplicateReceipt`` when one of its receipts exists (or it lists one twice). In
    ///   every case nothing is written.
    public func commit(_ change: StoreChange) async throws(StorageError) {
        guard !change.isEmpty else { return }
        let (sql, logger) = (self.sql, self.logger)
        try await write("committing a change") { connection in
            try await Self.apply(change, on: connection, sql: sql, logger: logger)
        }
    }

    /// Applies `change` inside the current transaction; throws to roll it back.
    static func apply(
        _ change: StoreChange,
        on connection: PostgresConnection,
        sql: Statements,
        logger: Logger
    ) async throws {
        func execute(_ query: PostgresQuery) async throws -> Int {
            try await connection.rows(query, logger: logger).count
        }
        func expectOneRow(_ query: PostgresQuery, _ what: @autoclosure () -> String) async throws {
            guard try await execute(query) == 1 else {
                throw StorageError(code: .conflict, message: "\(what()) was changed by another writer")
            }
        }

        if !change.receipts.isEmpty {
            let receipts = change.receipts
            if let stored = try await connection.rows(
                "SELECT receipt FROM \(unescaped: sql.receipt) WHERE receipt = ANY(\(receipts)) LIMIT 1",
                logger: logger
            ).first {
                let receipt = try stored.decode(String.self)
                throw StorageError(code: .duplicateReceipt, message: "receipt \(receipt) was already committed")
            }
            if receipts.count > 1, Set(receipts).count < receipts.count {
                throw StorageError(code: .duplicateReceipt, message: "the change lists a receipt twice")
            }
        }
        for deletion in change.deletedStreams {
            try await expectOneRow(
                """
                DELETE FROM \(unescaped: sql.stream) WHERE urn = \(deletion.urn) AND version = \(deletion.version)
                RETURNING 1
                """, "stream \(deletion.urn) at version \(deletion.version)")
        }
        for deletion in change.deletedSubStreams {
            try await expectOneRow(
                """
                DELETE FROM \(unescaped: sql.subStream)
                WHERE urn = \(deletion.key.urn) AND subStreamId = \(deletion.key.subStreamId)
                AND version = \(deletion.version)
                RETURNING 1
                """, "sub-stream \(deletion.key) at version \(deletion.version)")
        }
        for stream in change.savedStreams {
            if stream.version == 0 {
                try await expectOneRow(
                    """
                    INSERT INTO \(unescaped: sql.stream) (urn, consistencyModel, createdAt, version)
                    VALUES (\(stream.urn), \(stream.consistencyModel.rawValue), \(stream.createdAt.storedValue), 1)
                    ON CONFLICT DO NOTHING
                    RETURNING 1
                    """, "new stream \(stream.urn), which exists,")
            } else {
                try await expectOneRow(
                    """
                    UPDATE \(unescaped: sql.stream)
                    SET consistencyModel = \(stream.consistencyModel.rawValue),
                        createdAt = \(stream.createdAt.storedValue), version = version + 1
                    WHERE urn = \(stream.urn) AND version = \(stream.version)
                    RETURNING 1
                    """, "stream \(stream.urn) at version \(stream.version)")
            }
        }
        for subStream in change.savedSubStreams {
            if subStream.version == 0 {
                try await expectOneRow(
                    insertSubStream(subStream, sql: sql), "new sub-stream \(subStream.key), which exists,")
            } else {
                try await expectOneRow(
                    updateSubStream(subStream, sql: sql), "sub-stream \(subStream.key) at version \(subStream.version)")
            }
        }
        if !change.deletedCheckStates.isEmpty {
            let deletions = change.deletedCheckStates
            _ = try await execute(
                """
                DELETE FROM \(unescaped: sql.checkState) c
                USING unnest(\(deletions.map(\.key.urn)), \(deletions.map(\.key.subStreamId)),
                    \(deletions.map(\.checkStateId))) AS d(urn, subStreamId, checkStateId)
                WHERE c.urn = d.urn AND c.subStreamId = d.subStreamId AND c.checkStateId = d.checkStateId
                """)
        }
        // When every check state saved in a refreshed sub-stream takes the refresh's time and sequence (as the
        // processor's changes do), the refreshes follow the saves and skip the rows already at that time and sequence:
        // the same outcome, without a second row version for each saved check state.
        let refreshesFollowSaves = change.refreshesMayFollowSaves
        if !refreshesFollowSaves, !change.refreshedCheckStates.isEmpty {
            _ = try await execute(refreshCheckStates(change.refreshedCheckStates, skippingCurrent: false, sql: sql))
        }
        if !change.savedCheckStates.isEmpty {
            // One statement may not upsert a row twice: the last save of a check state is the one that stays.
            var latest: [CheckStateKey: Int] = [:]
            for (index, state) in change.savedCheckStates.enumerated() {
                latest[CheckStateKey(key: state.key, checkStateId: state.checkStateId)] = index
            }
            let states = latest.values.sorted().map { change.savedCheckStates[$0] }
            _ = try await execute(saveCheckStates(states, sql: sql))
        }
        if refreshesFollowSaves {
            _ = try await execute(refreshCheckStates(change.refreshedCheckStates, skippingCurrent: true, sql: sql))
        }
        for key in change.deletedErrors {
            _ = try await execute(
                """
                DELETE FROM \(unescaped: sql.streamError)
                WHERE urn = \(key.urn) AND subStreamId = \(key.subStreamId) AND streamLevel = \(key.streamLevel)
                AND code = \(key.code.rawValue)
                """)
        }
        for error in change.savedErrors {
            _ = try await execute(saveError(error, sql: sql))
        }
        if !change.events.isEmpty {
            // The sequence is the store's: one set by the caller is ignored. The rows are inserted in the order of
            // the change, so their sequences increase in it.
            let events = change.events
            _ = try await execute(
                """
                INSERT INTO \(unescaped: sql.event) (at, kind, urn, subStreamId, checkStateId, name, health,
                    topologyElementIdentifier, message, previousHealth, deletionReason, errorCode, detail)
                SELECT at, kind, urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message,
                    previousHealth, deletionReason, errorCode, detail
                FROM unnest(
                    \(events.map(\.at.storedValue)), \(events.map(\.kind.rawValue)), \(events.map(\.urn)),
                    \(events.map(\.subStreamId)), \(PostgresNullableArray(events.map(\.checkState?.checkStateId))),
                    \(PostgresNullableArray(events.map(\.checkState?.name))),
                    \(PostgresNullableArray(events.map(\.checkState?.health.rawValue))),
                    \(PostgresNullableArray(events.map(\.checkState?.topologyElementIdentifier))),
                    \(PostgresNullableArray(events.map { $0.checkState?.message })),
                    \(PostgresNullableArray(events.map(\.previousHealth?.rawValue))),
                    \(PostgresNullableArray(events.map(\.deletionReason?.rawValue))),
                    \(PostgresNullableArray(events.map(\.errorCode?.rawValue))),
                    \(PostgresNullableArray(events.map(\.detail))))
                    WITH ORDINALITY AS e(at, kind, urn, subStreamId, checkStateId, name, health,
                        topologyElementIdentifier, message, previousHealth, deletionReason, errorCode, detail, position)
                ORDER BY position
                """)
        }
        if let clock = change.clock {
            _ = try await execute(
                """
                INSERT INTO \(unescaped: sql.processorClock) AS state (backend, clock)
                VALUES (pg_backend_pid(), \(clock.storedValue))
                ON CONFLICT (backend) DO UPDATE SET clock = greatest(state.clock, excluded.clock)
                """)
        }
        if !change.receipts.isEmpty {
            _ = try await execute(
                """
                INSERT INTO \(unescaped: sql.receipt) (receipt, clock)
                SELECT receipt, \(change.clock?.storedValue) FROM unnest(\(change.receipts)) AS r(receipt)
                """)
        }
    }

    /// Sets the time and sequence of every check state of each refreshed sub-stream in one statement (a sub-stream
    /// refreshed twice takes its last refresh, as when they are applied one after the other); with
    /// `skippingCurrent`, only of those not at that time and sequence already.
    static func refreshCheckStates(
        _ refreshes: [StoreChange.CheckStateRefresh], skippingCurrent: Bool, sql: Statements
    ) -> PostgresQuery {
        var latest: [StreamKey: StoreChange.CheckStateRefresh] = [:]
        for refresh in refreshes { latest[refresh.key] = refresh }
        let ordered = Array(latest.values)
        let skipping =
            skippingCurrent
            ? "AND (c.lastSeenAt <> r.lastSeenAt OR c.snapshotSequence <> r.snapshotSequence)" : ""
        return """
            UPDATE \(unescaped: sql.checkState) c
            SET lastSeenAt = r.lastSeenAt, snapshotSequence = r.snapshotSequence
            FROM unnest(\(ordered.map(\.key.urn)), \(ordered.map(\.key.subStreamId)),
                \(ordered.map(\.lastSeenAt.storedValue)), \(ordered.map(\.snapshotSequence)))
                AS r(urn, subStreamId, lastSeenAt, snapshotSequence)
            WHERE c.urn = r.urn AND c.subStreamId = r.subStreamId \(unescaped: skipping)
            """
    }

    /// Inserts `states` in one statement, or replaces those stored (`unnest` of one array per column); no two of them
    /// may be the same check state.
    static func saveCheckStates(_ states: [StoredCheckState], sql: Statements) -> PostgresQuery {
        """
        INSERT INTO \(unescaped: sql.checkState) (\(unescaped: checkStateColumns))
        SELECT * FROM unnest(
            \(states.map(\.key.urn)), \(states.map(\.key.subStreamId)), \(states.map(\.checkStateId)),
            \(states.map(\.checkState.name)), \(states.map(\.checkState.health.rawValue)),
            \(states.map(\.checkState.topologyElementIdentifier)),
            \(PostgresNullableArray(states.map(\.checkState.message))),
            \(states.map(\.lastSeenAt.storedValue)), \(states.map(\.snapshotSequence)),
            \(PostgresNullableArray(states.map { $0.liveness.map { Int64($0.interval) } })),
            \(PostgresNullableArray(states.map { $0.liveness.map { Int64($0.grace) } })),
            \(PostgresNullableArray(states.map { $0.liveness?.silencedAt?.storedValue })))
        ON CONFLICT (urn, subStreamId, checkStateId) DO UPDATE SET
            name = excluded.name, health = excluded.health,
            topologyElementIdentifier = excluded.topologyElementIdentifier, message = excluded.message,
            lastSeenAt = excluded.lastSeenAt, snapshotSequence = excluded.snapshotSequence,
            livenessInterval = excluded.livenessInterval, livenessGrace = excluded.livenessGrace,
            silencedAt = excluded.silencedAt
        """
    }

    /// Inserts the error record `error`, or replaces the stored one.
    static func saveError(_ error: ErrorRecord, sql: Statements) -> PostgresQuery {
        """
        INSERT INTO \(unescaped: sql.streamError) (\(unescaped: errorColumns))
        VALUES (\(error.key.urn), \(error.key.subStreamId), \(error.key.streamLevel),
            \(error.key.code.rawValue), \(error.level.rawValue), \(error.message), \(error.count),
            \(error.firstSeenAt.storedValue), \(error.lastSeenAt.storedValue))
        ON CONFLICT (urn, subStreamId, streamLevel, code) DO UPDATE SET
            level = excluded.level, message = excluded.message, count = excluded.count,
            firstSeenAt = excluded.firstSeenAt, lastSeenAt = excluded.lastSeenAt
        """
    }

    /// A check state's key, to keep the last save of each.
    private struct CheckStateKey: Hashable {
        var key: StreamKey
        var checkStateId: String
    }

    /// Every sub-stream column but the key and the version, in the order of ``subStreamColumns``.
    static let subStreamValueColumns = [
        "createdAt", "repeatInterval", "expiryInterval", "snapshotStartedAt", "snapshotClean", "snapshotSequence",
        "lastCompletedAt", "lastMessageAt", "checkpointOffset", "checkpointBatchIndex", "lateDataDeadline",
        "missingStopDeadline", "expiryDeadline", "checkStateExpiryDeadline", "nextDeadline", "messageCount",
        "createCount", "updateCount", "deleteCount", "totalLatency", "lastLatency", "silenceDeadline",
    ]

    /// The values of ``subStreamValueColumns``, bound in their order from parameter `$1` on.
    static func subStreamValues(_ subStream: SubStreamRecord) -> PostgresBindings {
        let deadlines = subStream.deadlines
        let metrics = subStream.metrics
        var binds = PostgresBindings(capacity: subStreamValueColumns.count + 3)
        binds.append(subStream.createdAt.storedValue)
        binds.append(subStream.intervals.map { Int64($0.repeatInterval) })
        binds.append(subStream.intervals.map { Int64($0.expiryInterval) })
        binds.append(subStream.openSnapshot?.startedAt.storedValue)
        binds.append(subStream.openSnapshot?.clean)
        binds.append(subStream.snapshotSequence)
        binds.append(subStream.lastCompletedAt?.storedValue)
        binds.append(subStream.lastMessageAt.storedValue)
        binds.append(subStream.checkpoint?.offset)
        binds.append(subStream.checkpoint?.batchIndex)
        binds.append(deadlines.lateData?.storedValue)
        binds.append(deadlines.missingStop?.storedValue)
        binds.append(deadlines.expiry?.storedValue)
        binds.append(deadlines.checkStateExpiry?.storedValue)
        binds.append(subStream.nextDeadline?.storedValue)
        binds.append(metrics.messages)
        binds.append(metrics.creates)
        binds.append(metrics.updates)
        binds.append(metrics.deletes)
        binds.append(metrics.totalLatency)
        binds.append(metrics.lastLatency)
        binds.append(deadlines.silence?.storedValue)
        return binds
    }

    private static func insertSubStream(_ subStream: SubStreamRecord, sql: Statements) -> PostgresQuery {
        var binds = subStreamValues(subStream)
        let count = binds.count
        binds.append(subStream.key.urn)
        binds.append(subStream.key.subStreamId)
        let values = (1...count).map { "$\($0)" }.joined(separator: ", ")
        return PostgresQuery(
            unsafeSQL: """
                INSERT INTO \(sql.subStream) (\(subStreamValueColumns.joined(separator: ", ")), urn, subStreamId, version)
                VALUES (\(values), $\(count + 1), $\(count + 2), 1)
                ON CONFLICT DO NOTHING
                RETURNING 1
                """,
            binds: binds)
    }

    private static func updateSubStream(_ subStream: SubStreamRecord, sql: Statements) -> PostgresQuery {
        var binds = subStreamValues(subStream)
        let count = binds.count
        binds.append(subStream.key.urn)
        binds.append(subStream.key.subStreamId)
        binds.append(subStream.version)
        let assignments = subStreamValueColumns.enumerated().map { "\($1) = $\($0 + 1)" }.joined(separator: ", ")
        return PostgresQuery(
            unsafeSQL: """
                UPDATE \(sql.subStream) SET \(assignments), version = version + 1
                WHERE urn = $\(count + 1) AND subStreamId = $\(count + 2) AND version = $\(count + 3)
                RETURNING 1
                """,
            binds: binds)
    }
}
