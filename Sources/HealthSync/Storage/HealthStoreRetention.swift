import Foundation

/// Retention of a ``HealthStore``: deleting old events and old receipts. The HTTP intake's sweeper and
/// `EventRetention` (HealthSyncAudit) call it; the processor does not.
///
/// A capability with no default implementations: a store either deletes as documented here or does not adopt it
/// (and the intake then refuses a retention setting). Both shipped stores adopt it.
///
/// All methods throw ``StorageError``.
public protocol HealthStoreRetention: HealthStore {
    /// Deletes the events strictly before `cutoff` (event retention), in one transaction, except, for every check
    /// state alive at the cutoff, its latest state-defining event: of each `(urn, subStreamId, checkStateId)`, the
    /// event before the cutoff that is latest by time, then sequence, is kept when it is a `checkStateCreated` or
    /// `checkStateUpdated`.
    ///
    /// What the events tell about any time at or after the cutoff is thus unchanged: replaying the kept events
    /// reconstructs the check states alive at the cutoff, and every later event is kept. Events at the cutoff are
    /// kept. Sequences of later commits keep increasing. Like ``HealthStore/commit(_:)`` a store records what it is
    /// told: the caller chooses the cutoff (see `EventRetention` in HealthSyncAudit).
    /// - Returns: How many events were deleted.
    /// - Throws: ``StorageError``; nothing is deleted then.
    func pruneEvents(before cutoff: Date) async throws -> Int

    /// Deletes the receipts that start with `prefix` and were committed with a processor clock before `cutoff`:
    /// an envelope with such a receipt is applied again if it comes back. For idempotency keys that are only
    /// re-sent within a bounded time (the intake's `http:` keys); replay receipts must not be pruned, since a
    /// replayed file can come back at any time.
    /// - Returns: How many receipts were deleted.
    /// - Throws: ``StorageError``; nothing is deleted then.
    func pruneReceipts(withPrefix prefix: String, before cutoff: Date) async throws -> Int
}
