import Foundation

/// Which events to read back.
public struct EventQuery: Sendable, Hashable {
    /// Only this stream.
    public var urn: String?
    /// Only this sub-stream (`""` for main); needs ``urn``.
    public var subStreamId: String?
    /// Only events of this check state.
    public var checkStateId: String?
    /// Only events at or after this time.
    public var since: Date?
    /// Only events at or before this time.
    public var until: Date?
    /// At most this many, oldest first.
    public var limit: Int?

    /// Creates a query; every criterion is optional.
    public init(
        urn: String? = nil,
        subStreamId: String? = nil,
        checkStateId: String? = nil,
        since: Date? = nil,
        until: Date? = nil,
        limit: Int? = nil
    ) {
        self.urn = urn
        self.subStreamId = subStreamId
        self.checkStateId = checkStateId
        self.since = since
        self.until = until
        self.limit = limit
    }
}

/// One sub-stream a batch read asks for (``HealthStore/batchContext(of:due:)``): its stream with the stream's open
/// errors, the sub-stream and, with ``includingCheckStates``, every check state of the sub-stream.
public struct ContextRequest: Sendable, Hashable {
    /// The sub-stream (and, through its URN, the stream) to read.
    public var key: StreamKey
    /// Whether to read every check state of the sub-stream too (when it is stored): a message that completes a
    /// snapshot needs them all for the diff.
    public var includingCheckStates: Bool

    /// Creates a request.
    public init(key: StreamKey, includingCheckStates: Bool) {
        self.key = key
        self.includingCheckStates = includingCheckStates
    }
}

/// Which due timers a batch read (``HealthStore/batchContext(of:due:)``) reads beside its contexts: the sub-streams
/// whose earliest deadline is strictly before ``before``, earliest first, at most ``limit`` of them.
public struct DueTimers: Sendable, Hashable {
    /// Sub-streams whose earliest deadline is strictly before this time.
    public var before: Date
    /// The most sub-streams read, at least 0; `nil` for all of them.
    public var limit: Int?

    /// Creates a selection of due timers.
    /// - Parameters:
    ///   - before: sub-streams whose earliest deadline is strictly before this time.
    ///   - limit: the most sub-streams read; `nil` for all of them.
    public init(before: Date, limit: Int?) {
        self.before = before
        self.limit = limit
    }

    /// Every sub-stream due strictly before `time`.
    public static func all(before time: Date) -> DueTimers { DueTimers(before: time, limit: nil) }
}

/// Durable health state as the processor needs it: what a batch of envelopes reads, ``commit(_:)``, the processor
/// clock and receipts. Seven requirements; a store implements one read of stream state
/// (``batchContext(of:due:)``), and the single reads (``stream(_:)``, ``subStream(_:)``, ``errors(of:)``,
/// ``streamContext(of:includingCheckStates:)``, ``dueSubStreams(before:limit:)``) are extensions over it.
///
/// What only some callers need is a capability of its own, which a store adopts when it can:
/// - ``HealthStoreQueries``: the listings the HTTP status API, the CLI and the audit read.
/// - ``HealthStoreRetention``: pruning of events and receipts; no defaults.
/// - ``HealthStoreTransfer``: a whole store read a page at a time and loaded in one transaction (`healthsync copy`).
/// - ``PipelinedHealthStore``: commits queued while the next batch is read; the processor looks for it once, at
///   its init, and otherwise waits for each commit before the next.
/// - ``HealthStoreProbing``: whether the store's file is still fit to acknowledge into.
/// - ``HealthStoreSnapshots``: several reads of one consistent state, while commits go on.
///
/// The processor decides and the store records: a store holds no diffing or time logic. Reads return value
/// types; ``commit(_:)`` applies one ``StoreChange`` as one atomic transaction, so that once it returns the change
/// survives a crash, and if it throws nothing of it was written.
///
/// Stores make no assumption that their process is the only writer: the processor reads, decides, and commits
/// with the versions it read (optimistic concurrency), and retries on ``StorageError/Code/conflict``. A store
/// shared by several intake replicas (a networked database) implements the same contract.
///
/// Ids (URNs, sub-stream ids, check-state ids) are compared and sorted as their UTF-8 bytes (C collation): every
/// sorted listing orders ids as `Array(id.utf8)` compares lexicographically, whatever the locale. A SQL store
/// declares its id columns with a byte-order collation (SQLite's default `BINARY`; `COLLATE "C"` in PostgreSQL).
///
/// A store with a lifecycle of its own (a connection pool, background work) conforms to `Service` and runs in the
/// application's service group beside the HTTP server; the processor never starts or stops a store.
///
/// Every store passes `HealthStoreConformance` from the `HealthSyncTesting` module.
///
/// All methods throw ``StorageError``.
public protocol HealthStore: Sendable {
    /// What a batch of envelopes reads first, in one call: the due timers asked for (none when `due` is `nil`) and,
    /// in the order of `requests`, the context of each request: the stream with its open errors, the sub-stream
    /// and, when asked for and the sub-stream is stored, every check state of the sub-stream sorted by id.
    ///
    /// A store should read them in one transaction, so that they are consistent with each other. The processor
    /// relies on nothing more: what it commits is still checked by version.
    func batchContext(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext

    /// The check states of one sub-stream: those with the given ids, or all of them when `ids` is `nil`.
    /// Unknown ids are left out; the order is unspecified.
    func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState]

    /// All sub-streams of `urn`, sorted by sub-stream id (main first).
    func subStreams(of urn: String) async throws -> [SubStreamRecord]

    /// The earliest deadline of any sub-stream, or `nil` when no timer is set.
    func nextDeadline() async throws -> Date?

    /// The processor clock as last committed, or `nil` for an empty store.
    func clock() async throws -> Date?

    /// Whether a change with this receipt was committed.
    func hasReceipt(_ receipt: String) async throws -> Bool

    /// Applies `change` atomically.
    /// - Throws: ``StorageError`` with ``StorageError/Code/conflict`` when a version no longer matches,
    ///   ``StorageError/Code/duplicateReceipt`` when one of its receipts exists (or it lists one twice); in both
    ///   cases nothing is written.
    func commit(_ change: StoreChange) async throws
}

extension HealthStore {
    /// The stream of `key` with its open errors, and the sub-stream `key` (with `includingCheckStates`, also its
    /// check states when it is stored): ``batchContext(of:due:)`` of one request.
    /// - Throws: ``StorageError``.
    public func streamContext(of key: StreamKey, includingCheckStates: Bool) async throws -> StreamContext {
        let read = try await batchContext(
            of: [ContextRequest(key: key, includingCheckStates: includingCheckStates)], due: nil)
        guard let context = read.contexts.first else {
            throw StorageError(code: .failed, message: "reading stream \(key.urn) returned nothing")
        }
        return context
    }

    /// The stream record of `urn`, or `nil`.
    /// - Throws: ``StorageError``.
    public func stream(_ urn: String) async throws -> StreamRecord? {
        try await streamContext(of: .main(urn), includingCheckStates: false).stream
    }

    /// The sub-stream record of `key`, or `nil`.
    /// - Throws: ``StorageError``.
    public func subStream(_ key: StreamKey) async throws -> SubStreamRecord? {
        try await streamContext(of: key, includingCheckStates: false).subStream
    }

    /// The open errors of `urn`, stream-level and of every sub-stream, sorted by ``ErrorKey``.
    /// - Throws: ``StorageError``.
    public func errors(of urn: String) async throws -> [ErrorRecord] {
        try await streamContext(of: .main(urn), includingCheckStates: false).errors
    }

    /// Sub-streams whose earliest deadline is strictly before `time`, earliest first, at most `limit`.
    /// - Throws: ``StorageError``.
    public func dueSubStreams(before time: Date, limit: Int) async throws -> [StreamKey] {
        try await batchContext(of: [], due: DueTimers(before: time, limit: max(0, limit))).due
    }

    /// All check states of one sub-stream.
    /// - Throws: ``StorageError``.
    public func checkStates(of key: StreamKey) async throws -> [StoredCheckState] {
        try await checkStates(of: key, ids: nil)
    }
}

/// Where a check state sorts among all check states: by URN, sub-stream (main first), then id. A page of
/// ``HealthStoreQueries/checkStates(urn:subStreamId:healths:after:limit:)`` starts after one.
public struct CheckStatePosition: Sendable, Hashable, Comparable {
    /// The stream and sub-stream.
    public var key: StreamKey
    /// The check-state id.
    public var checkStateId: String

    /// Creates a position.
    public init(key: StreamKey, checkStateId: String) {
        self.key = key
        self.checkStateId = checkStateId
    }

    /// The position of `state`.
    public init(_ state: StoredCheckState) {
        self.init(key: state.key, checkStateId: state.checkStateId)
    }

    /// By key, then id, as check states are listed.
    public static func < (lhs: CheckStatePosition, rhs: CheckStatePosition) -> Bool {
        lhs.key != rhs.key ? lhs.key < rhs.key : lhs.checkStateId < rhs.checkStateId
    }
}

/// Where an event sorts in the event record: by time, then sequence. A page of
/// ``HealthStoreQueries/events(_:after:limit:)`` starts after one.
public struct EventPosition: Sendable, Hashable, Comparable {
    /// When the event happened.
    public var at: Date
    /// The store's sequence number of the event.
    public var sequence: Int64

    /// Creates a position.
    public init(at: Date, sequence: Int64) {
        self.at = at
        self.sequence = sequence
    }

    /// The position of a stored `event` (an event without a sequence, not committed, sorts first among its instant).
    public init(_ event: HealthEvent) {
        self.init(at: event.at, sequence: event.sequence ?? .min)
    }

    /// By time, then sequence, as events are listed.
    public static func < (lhs: EventPosition, rhs: EventPosition) -> Bool {
        (lhs.at, lhs.sequence) < (rhs.at, rhs.sequence)
    }
}
