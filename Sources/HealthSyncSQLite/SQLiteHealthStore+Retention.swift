import Foundation
internal import GRDB
import HealthSync

/// Event and receipt retention: ``HealthSync/HealthStoreRetention/pruneEvents(before:)`` and
/// ``HealthSync/HealthStoreRetention/pruneReceipts(withPrefix:before:)``.
extension SQLiteHealthStore: HealthStoreRetention {
    /// The statement of ``pruneEvents(before:)``: a range scan of `eventRecord` (clustered by time) below the cutoff,
    /// minus, per check state, the latest event before the cutoff when it created or updated the check state (a
    /// window function, SQLite 3.25 or later). Its one parameter is the cutoff.
    static let pruneEventsSQL = """
        DELETE FROM eventRecord
        WHERE at < ?1
        AND sequence NOT IN (
            SELECT sequence FROM (
                SELECT sequence, kind, row_number() OVER (
                    PARTITION BY urn, subStreamId, checkStateId ORDER BY at DESC, sequence DESC
                ) AS recency
                FROM eventRecord
                WHERE at < ?1 AND checkStateId IS NOT NULL
            )
            WHERE recency = 1
            AND kind IN (SELECT id FROM eventText WHERE text IN ('checkStateCreated', 'checkStateUpdated'))
        )
        """

    /// Deletes the events before `cutoff` but the latest state-defining event of each check state alive at it, in
    /// one write transaction. The freed pages are reused by later writes; the file does not shrink (run `VACUUM`
    /// offline to give the space back to the file system).
    /// - Returns: How many events were deleted.
    /// - Throws: ``HealthSync/StorageError``; nothing is deleted then.
    public func pruneEvents(before cutoff: Date) async throws(StorageError) -> Int {
        try await write("pruning events before \(cutoff.timeIntervalSince1970)") { db in
            try db.cachedStatement(sql: Self.pruneEventsSQL).execute(arguments: [cutoff.storedValue])
            return db.changesCount
        }
    }

    /// Deletes the receipts that start with `prefix` and were committed with a clock before `cutoff`, in one write
    /// transaction: a range of the receipt's primary key (`prefix` up to `prefix` followed by U+10FFFF, the largest
    /// character), so the scan is bounded by the namespace.
    /// - Returns: How many receipts were deleted.
    /// - Throws: ``HealthSync/StorageError``; nothing is deleted then.
    public func pruneReceipts(withPrefix prefix: String, before cutoff: Date) async throws(StorageError) -> Int {
        try await write("pruning receipts \(prefix)… before \(cutoff.timeIntervalSince1970)") { db in
            try db.cachedStatement(
                sql: "DELETE FROM receipt WHERE receipt >= ?1 AND receipt < ?2 AND clock < ?3"
            ).execute(arguments: [prefix, prefix + "\u{10FFFF}", cutoff.storedValue])
            return db.changesCount
        }
    }
}
