import Foundation

/// Everything one envelope, one sweep or one operation changes, committed by ``HealthStore/commit(_:)`` as a
/// single transaction.
///
/// Stores apply it in this order: stream deletions, sub-stream deletions, stream saves, sub-stream saves,
/// check-state deletions, check-state saves, error deletions, error saves, events, clock, receipt.
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
    /// An idempotency key: a commit whose receipt is already stored fails with
    /// ``StorageError/Code/duplicateReceipt`` and writes nothing.
    public var receipt: String?

    /// Creates an empty change.
    public init() {}

    /// Whether the change writes nothing.
    public var isEmpty: Bool {
        deletedStreams.isEmpty && deletedSubStreams.isEmpty && savedStreams.isEmpty && savedSubStreams.isEmpty
            && deletedCheckStates.isEmpty && savedCheckStates.isEmpty && deletedErrors.isEmpty
            && savedErrors.isEmpty && events.isEmpty && clock == nil && receipt == nil
    }
}
