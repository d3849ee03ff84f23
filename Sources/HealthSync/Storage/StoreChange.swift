import Foundation

/// Everything one envelope, one sweep or one operation changes, committed by ``HealthStore/commit(_:)`` as a
/// single transaction.
///
/// Stores apply it in this order: stream deletions, sub-stream deletions, stream saves, sub-stream saves,
/// check-state deletions, check-state refreshes, check-state saves, error deletions, error saves, events, clock,
/// receipts.
/// A save of a record whose ``StreamRecord/version`` is `0` inserts it; any other version updates the record only
/// if the stored version still equals it (and increments it), else the commit fails with
/// ``StorageError/Code/conflict`` and nothing is written.
public struct StoreChange: Sendable {
    /// A stream deletion: the stream and, with it, all its sub-streams, check states and errors.
    public struct StreamDeletion: Sendable, Hashable {
        /// The stream.
        public var urn: String
        /// The version it was read at.
        public var version: Int64
        /// Creates a deletion.
        public init(urn: String, version: Int64) {
            self.urn = urn
            self.version = version
        }
    }

    /// A sub-stream deletion: the sub-stream and, with it, its check states and sub-stream errors.
    public struct SubStreamDeletion: Sendable, Hashable {
        /// The sub-stream.
        public var key: StreamKey
        /// The version it was read at.
        public var version: Int64
        /// Creates a deletion.
        public init(key: StreamKey, version: Int64) {
            self.key = key
            self.version = version
        }
    }

    /// Every check state stored for a sub-stream, marked seen at one time in one snapshot, its content unchanged:
    /// what a snapshot that repeats most of its check states writes as one range update instead of a row each.
    ///
    /// The processor sends refreshes only to a store whose ``PipelinedHealthStore/prefersCheckStateRefreshes`` is `true`,
    /// and only when the outcome equals saving each of those check states with the new time and sequence.
    public struct CheckStateRefresh: Sendable, Hashable {
        /// The sub-stream.
        public var key: StreamKey
        /// The new *last seen* time of each of its check states.
        public var lastSeenAt: Date
        /// The new snapshot sequence of each of its check states.
        public var snapshotSequence: Int64
        /// Creates a refresh.
        public init(key: StreamKey, lastSeenAt: Date, snapshotSequence: Int64) {
            self.key = key
            self.lastSeenAt = lastSeenAt
            self.snapshotSequence = snapshotSequence
        }
    }

    /// Streams to delete.
    public var deletedStreams: [StreamDeletion] = []
    /// Sub-streams to delete.
    public var deletedSubStreams: [SubStreamDeletion] = []
    /// Streams to insert or update.
    public var savedStreams: [StreamRecord] = []
    /// Sub-streams to insert or update.
    public var savedSubStreams: [SubStreamRecord] = []
    /// Check states to delete, by sub-stream and id.
    public var deletedCheckStates: [(key: StreamKey, checkStateId: String)] = []
    /// Sub-streams whose stored check states (after ``deletedCheckStates``) all take a new *last seen* time and
    /// snapshot sequence; ``savedCheckStates`` then writes the check states that are new or changed.
    public var refreshedCheckStates: [CheckStateRefresh] = []
    /// Check states to insert or replace.
    public var savedCheckStates: [StoredCheckState] = []
    /// Error records to delete.
    public var deletedErrors: [ErrorKey] = []
    /// Error records to insert or replace.
    public var savedErrors: [ErrorRecord] = []
    /// Events to append, in order.
    public var events: [HealthEvent] = []
    /// The processor clock; stores keep the maximum they were ever given.
    public var clock: Date?
    /// Idempotency keys, one per envelope the change applies (a group commit of several envelopes carries several):
    /// a commit any of whose receipts is already stored, or that lists one twice, fails with
    /// ``StorageError/Code/duplicateReceipt`` and writes nothing. Each is stored with ``clock``.
    public var receipts: [String] = []

    /// The change's one idempotency key: the first of ``receipts``; setting it replaces them all (`nil` clears them).
    public var receipt: String? {
        get { receipts.first }
        set { receipts = newValue.map { [$0] } ?? [] }
    }

    /// Creates an empty change.
    public init() {}

    /// Whether a store may apply ``refreshedCheckStates`` after ``savedCheckStates``, skipping the check states
    /// already at their refresh's time and sequence, with the same outcome as in the documented order: each sub-stream
    /// is refreshed once, and every check state saved in a refreshed sub-stream is saved at that refresh's time and
    /// sequence (as in every change the processor makes).
    ///
    /// A store that rewrites a row to update it then writes each saved check state once instead of twice; the check
    /// costs a dictionary of the refreshes and one lookup per saved check state.
    public var refreshesMayFollowSaves: Bool {
        guard !refreshedCheckStates.isEmpty else { return false }
        var refreshes: [StreamKey: CheckStateRefresh] = [:]
        refreshes.reserveCapacity(refreshedCheckStates.count)
        for refresh in refreshedCheckStates {
            guard refreshes.updateValue(refresh, forKey: refresh.key) == nil else { return false }
        }
        // The saves of a sub-stream most often follow each other: its refresh is looked up once for each run of them,
        // and each save is read in place, not copied.
        var current: (key: StreamKey, refresh: CheckStateRefresh?)?
        for index in savedCheckStates.indices {
            if current?.key != savedCheckStates[index].key {
                let key = savedCheckStates[index].key
                current = (key, refreshes[key])
            }
            guard let refresh = current?.refresh else { continue }
            guard savedCheckStates[index].lastSeenAt == refresh.lastSeenAt,
                savedCheckStates[index].snapshotSequence == refresh.snapshotSequence
            else { return false }
        }
        return true
    }

    /// Whether the change writes nothing.
    public var isEmpty: Bool {
        deletedStreams.isEmpty && deletedSubStreams.isEmpty && savedStreams.isEmpty && savedSubStreams.isEmpty
            && deletedCheckStates.isEmpty && refreshedCheckStates.isEmpty && savedCheckStates.isEmpty
            && deletedErrors.isEmpty
            && savedErrors.isEmpty && events.isEmpty && clock == nil && receipts.isEmpty
    }
}
