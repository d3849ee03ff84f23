import Foundation
import HealthSync
import PostgresNIO

/// Event and receipt retention: ``HealthSync/HealthStoreRetention/pruneEvents(before:)`` and
/// ``HealthSync/HealthStoreRetention/pruneReceipts(withPrefix:before:)``.
extension PostgresHealthStore: HealthStoreRetention {
    /// Deletes the events before `cutoff` but the latest state-defining event of each check state alive at it, in
    /// one statement: a range of the `event_at` index below the cutoff, minus, per check state, the latest event before
    /// the cutoff when it created or updated the check state (a `row_number()` window, as the SQLite store's).
    /// PostgreSQL reuses the space of the deleted rows once `VACUUM` (or autovacuum) has run.
    /// - Returns: How many events were deleted.
    /// - Throws: ``HealthSync/StorageError``; nothing is deleted then.
    ///
    /// It also folds the connections' clock rows (``clock()``) into the greatest one, so that they do not pile up as
    /// connections come and go.
    public func pruneEvents(before cutoff: Date) async throws(StorageError) -> Int {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("pruning events before \(cutoff.timeIntervalSince1970)") { connection in
            // A row updated meanwhile is checked again against the greatest clock read first: the greatest row stays.
            try await connection.rows(
                """
                DELETE FROM \(unescaped: sql.processorClock)
                WHERE clock < (SELECT max(clock) FROM \(unescaped: sql.processorClock))
                """, logger: logger)
            return try await connection.changedRows(
                """
                DELETE FROM \(unescaped: sql.event)
                WHERE at < \(cutoff.storedValue)
                AND sequence NOT IN (
                    SELECT sequence FROM (
                        SELECT sequence, kind, row_number() OVER (
                            PARTITION BY urn, subStreamId, checkStateId ORDER BY at DESC, sequence DESC
                        ) AS recency
                        FROM \(unescaped: sql.event)
                        WHERE at < \(cutoff.storedValue) AND checkStateId IS NOT NULL
                    ) AS latest
                    WHERE recency = 1 AND kind IN ('checkStateCreated', 'checkStateUpdated')
                )
                """, logger: logger)
        }
    }

    /// Deletes the receipts that start with `prefix` and were committed with a clock before `cutoff`, in one
    /// statement: a range of the receipt's primary key (`prefix` up to `prefix` followed by U+10FFFF, the largest
    /// character, in the byte order of `COLLATE "C"`), so the scan is bounded by the namespace.
    /// - Returns: How many receipts were deleted.
    /// - Throws: ``HealthSync/StorageError``; nothing is deleted then.
    public func pruneReceipts(withPrefix prefix: String, before cutoff: Date) async throws(StorageError) -> Int {
        let (sql, logger) = (self.sql, self.logger)
        return try await connection("pruning receipts \(prefix)… before \(cutoff.timeIntervalSince1970)") {
            connection in
            try await connection.changedRows(
                """
                DELETE FROM \(unescaped: sql.receipt)
                WHERE receipt >= \(prefix) AND receipt < \(prefix + "\u{10FFFF}") AND clock < \(cutoff.storedValue)
                """, logger: logger)
        }
    }
}
