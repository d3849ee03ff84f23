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

/// Durable health state: streams, sub-streams, check states, errors, events and the processor clock.
///
/// The processor decides and the store records: a store holds no diffing or time logic. Reads return value
/// types; ``commit(_:)`` applies one ``StoreChange`` as one atomic transaction, so that once it returns the change
/// survives a crash, and if it throws nothing of it was written.
///
/// Stores make no assumption that their process is the only writer: the processor reads, decides, and commits
/// with the versions it read (optimistic concurrency), and retries on ``StorageError/Code/conflict``. A store
/// shared by several intake replicas (a networked database) implements the same contract.
///
/// Every store passes `HealthStoreConformance` from the `HealthSyncTesting` module.
///
/// All methods throw ``StorageError``.
public protocol HealthStore: Sendable {
    /// The stream record of `urn`, or `nil`.
    func stream(_ urn: String) async throws -> StreamRecord?

    /// All sub-streams of `urn`, sorted by sub-stream id (main first).
    func subStreams(of urn: String) async throws -> [SubStreamRecord]

    /// The sub-stream record of `key`, or `nil`.
    func subStream(_ key: StreamKey) async throws -> SubStreamRecord?

    /// The check states of one sub-stream: those with the given ids, or all of them when `ids` is `nil`.
    /// Unknown ids are left out; the order is unspecified.
    func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState]

    /// The stream of `key` with its open errors, and the sub-stream `key`: what processing a message reads first,
    /// in one call (the processor calls it once per stream and working set). With `includingCheckStates`, also every
    /// check state of the sub-stream, when it is stored (a message that completes a snapshot needs them all for the
    /// diff).
    ///
    /// The result equals ``stream(_:)``, ``errors(of:)``, ``subStream(_:)`` and ``checkStates(of:ids:)`` (with `nil`
    /// ids) called one after the other; a store should read them in one transaction, so that they are consistent
    /// with each other. The processor relies on nothing more: what it commits is still checked by version. A
    /// default implementation makes the calls.
    func streamContext(of key: StreamKey, includingCheckStates: Bool) async throws -> StreamContext

    /// What a batch of envelopes reads first, in one call: the sub-streams due strictly before `time`
    /// (``dueSubStreams(before:limit:)``) and ``streamContext(of:includingCheckStates:)`` of each request, in the
    /// order of `requests`. A store should read them in one transaction; a default implementation makes one call
    /// each.
    func batchContext(
        of requests: [(key: StreamKey, includingCheckStates: Bool)],
        dueBefore time: Date,
        limit: Int
    ) async throws -> BatchContext

    /// ``batchContext(of:dueBefore:limit:)`` read beside the store's writes: a read transaction that does not wait
    /// for a commit in progress and sees what was committed when it starts.
    ///
    /// The processor reads a batch with it while the previous batch still commits, and uses what it read only when
    /// that commit changes none of the streams read (``HealthProcessor`` documents the pipeline). A default
    /// implementation calls ``batchContext(of:dueBefore:limit:)``, which is correct for every store: it may only
    /// wait longer.
    func batchContextBesideWrites(
        of requests: [(key: StreamKey, includingCheckStates: Bool)],
        dueBefore time: Date,
        limit: Int
    ) async throws -> BatchContext

    /// Check states of any streams, sorted by URN, sub-stream (main first), then check-state id.
    /// - Parameters:
    ///   - urn: only this stream.
    ///   - subStreamId: only this sub-stream (`""` for main).
    func checkStates(urn: String?, subStreamId: String?) async throws -> [StoredCheckState]

    /// One page of ``checkStates(urn:subStreamId:)``: at most `limit` check states that sort after `position`, in
    /// the same order, so that a caller can walk every check state holding only a page at a time.
    ///
    /// A default implementation reads ``checkStates(urn:subStreamId:)`` and cuts the page from it, which is correct
    /// for every store; a store whose check states are not all in memory should answer from an index instead.
    /// - Parameters:
    ///   - urn: only this stream.
    ///   - subStreamId: only this sub-stream (`""` for main).
    ///   - healths: only these healths; `nil` for any.
    ///   - position: the last check state of the previous page; `nil` for the first page.
    ///   - limit: the most check states returned (at least 1).
    func checkStates(
        urn: String?,
        subStreamId: String?,
        healths: Set<Health>?,
        after position: CheckStatePosition?,
        limit: Int
    ) async throws -> [StoredCheckState]

    /// The open errors of `urn`, stream-level and of every sub-stream, sorted by ``ErrorKey``.
    func errors(of urn: String) async throws -> [ErrorRecord]

    /// All streams with their counts, sorted by URN.
    func streams() async throws -> [StreamSummary]

    /// Sub-streams whose earliest deadline is strictly before `time`, earliest first, at most `limit`.
    func dueSubStreams(before time: Date, limit: Int) async throws -> [StreamKey]

    /// The earliest deadline of any sub-stream, or `nil` when no timer is set.
    func nextDeadline() async throws -> Date?

    /// The processor clock as last committed, or `nil` for an empty store.
    func clock() async throws -> Date?

    /// Whether a change with this receipt was committed.
    func hasReceipt(_ receipt: String) async throws -> Bool

    /// Events matching `query`, oldest first (by time, then sequence).
    func events(_ query: EventQuery) async throws -> [HealthEvent]

    /// Applies `change` atomically.
    /// - Throws: ``StorageError`` with ``StorageError/Code/conflict`` when a version no longer matches,
    ///   ``StorageError/Code/duplicateReceipt`` when the receipt exists; in both cases nothing is written.
    func commit(_ change: StoreChange) async throws

    /// Queues `change` to be committed after the commit of `previous` (a ticket of this method on this store), and
    /// returns at once: the processor queues a staged batch's commit while the one before it still runs
    /// (``HealthProcessor/stage(batch:)``). Commits are written in the order they were queued; one queued after a
    /// commit that failed fails with ``CommitTicket/earlierFailure`` and writes nothing.
    ///
    /// A default implementation waits for `previous` in a task, then calls ``commit(_:)``; a store with a queue of
    /// its own puts the change on it at once, so that it is written as soon as the one before it is.
    func queueCommit(_ change: StoreChange, after previous: CommitTicket?) -> CommitTicket

    /// Deletes the events strictly before `cutoff` (event retention), in one transaction, except, for every check
    /// state alive at the cutoff, its latest state-defining event: of each `(urn, subStreamId, checkStateId)`, the
    /// event before the cutoff that is latest by time, then sequence, is kept when it is a `checkStateCreated` or
    /// `checkStateUpdated`.
    ///
    /// What the events tell about any time at or after the cutoff is thus unchanged: replaying the kept events
    /// reconstructs the check states alive at the cutoff, and every later event is kept. Events at the cutoff are
    /// kept. Sequences of later commits keep increasing. Like ``commit(_:)`` a store records what it is told: the
    /// caller chooses the cutoff (see `EventRetention` in HealthSyncAudit).
    ///
    /// A default implementation throws ``StorageError/Code/failed``, so that stores written before retention
    /// existed keep compiling; both shipped stores implement it and pass `HealthStoreConformance`.
    /// - Returns: How many events were deleted.
    /// - Throws: ``StorageError``; nothing is deleted then.
    func pruneEvents(before cutoff: Date) async throws -> Int

    /// Deletes the receipts that start with `prefix` and were committed with a processor clock before `cutoff`:
    /// an envelope with such a receipt is applied again if it comes back. For idempotency keys that are only
    /// re-sent within a bounded time (the intake's `http:` keys); replay receipts must not be pruned, since a
    /// replayed file can come back at any time.
    ///
    /// A default implementation throws ``StorageError/Code/failed``; both shipped stores implement it.
    /// - Returns: How many receipts were deleted.
    /// - Throws: ``StorageError``; nothing is deleted then.
    func pruneReceipts(withPrefix prefix: String, before cutoff: Date) async throws -> Int

    /// Whether the processor should send ``StoreChange/refreshedCheckStates``: `true` for a store that writes a
    /// sub-stream's refresh for less than a row per check state (SQLite: one range update). Every store applies
    /// refreshes it is given (`HealthStoreConformance` checks it); the default, `false`, keeps stores written
    /// before refreshes existed from being sent any.
    var prefersCheckStateRefreshes: Bool { get }
}

extension HealthStore {
    /// The default: `false`, every check state is saved as a row of ``StoreChange/savedCheckStates``.
    public var prefersCheckStateRefreshes: Bool { false }

    /// The default for stores without event retention: fails with ``StorageError/Code/failed``.
    /// - Throws: ``StorageError`` always.
    public func pruneEvents(before cutoff: Date) async throws -> Int {
        throw StorageError(code: .failed, message: "\(type(of: self)) does not implement event retention")
    }

    /// The default: ``stream(_:)``, ``errors(of:)``, ``subStream(_:)`` and, when asked for and the sub-stream is
    /// stored, ``checkStates(of:ids:)``, one after the other.
    /// - Throws: ``StorageError``.
    public func streamContext(of key: StreamKey, includingCheckStates: Bool) async throws -> StreamContext {
        let subStream = try await subStream(key)
        return StreamContext(
            stream: try await stream(key.urn),
            errors: try await errors(of: key.urn),
            subStream: subStream,
            checkStates: includingCheckStates && subStream != nil
                ? try await checkStates(of: key, ids: nil).sorted { $0.checkStateId < $1.checkStateId } : nil
        )
    }

    /// The default for stores without receipt retention: fails with ``StorageError/Code/failed``.
    /// - Throws: ``StorageError`` always.
    public func pruneReceipts(withPrefix prefix: String, before cutoff: Date) async throws -> Int {
        throw StorageError(code: .failed, message: "\(type(of: self)) does not implement receipt retention")
    }

    /// The default: ``dueSubStreams(before:limit:)``, then ``streamContext(of:includingCheckStates:)`` of each
    /// request, one after the other.
    /// - Throws: ``StorageError``.
    public func batchContext(
        of requests: [(key: StreamKey, includingCheckStates: Bool)],
        dueBefore time: Date,
        limit: Int
    ) async throws -> BatchContext {
        let due = try await dueSubStreams(before: time, limit: limit)
        var contexts: [StreamContext] = []
        contexts.reserveCapacity(requests.count)
        for request in requests {
            contexts.append(
                try await streamContext(of: request.key, includingCheckStates: request.includingCheckStates))
        }
        return BatchContext(due: due, contexts: contexts)
    }

    /// The default: a task that waits for `previous` and then calls ``commit(_:)``.
    public func queueCommit(_ change: StoreChange, after previous: CommitTicket?) -> CommitTicket {
        let ticket = CommitTicket()
        Task {
            if let previous {
                do {
                    try await previous.wait()
                } catch {
                    ticket.finish(.failure(CommitTicket.earlierFailure))
                    return
                }
            }
            do {
                try await commit(change)
                ticket.finish(.success(()))
            } catch let error as StorageError {
                ticket.finish(.failure(error))
            } catch {
                ticket.finish(.failure(StorageError(code: .failed, message: "\(error)")))
            }
        }
        return ticket
    }

    /// The default: ``batchContext(of:dueBefore:limit:)``.
    /// - Throws: ``StorageError``.
    public func batchContextBesideWrites(
        of requests: [(key: StreamKey, includingCheckStates: Bool)],
        dueBefore time: Date,
        limit: Int
    ) async throws -> BatchContext {
        try await batchContext(of: requests, dueBefore: time, limit: limit)
    }

    /// The default: ``checkStates(urn:subStreamId:)``, filtered and cut.
    /// - Throws: ``StorageError``.
    public func checkStates(
        urn: String?,
        subStreamId: String?,
        healths: Set<Health>?,
        after position: CheckStatePosition?,
        limit: Int
    ) async throws -> [StoredCheckState] {
        let states = try await checkStates(urn: urn, subStreamId: subStreamId)
        var page: [StoredCheckState] = []
        for state in states where healths?.contains(state.checkState.health) ?? true {
            if let position, CheckStatePosition(state) <= position { continue }
            page.append(state)
            if page.count >= max(1, limit) { break }
        }
        return page
    }

    /// All check states of one sub-stream.
    public func checkStates(of key: StreamKey) async throws -> [StoredCheckState] {
        try await checkStates(of: key, ids: nil)
    }

    /// All current check states, sorted by URN, sub-stream, then id.
    public func allCheckStates() async throws -> [StoredCheckState] {
        try await checkStates(urn: nil, subStreamId: nil)
    }
}

/// Where a check state sorts among all check states: by URN, sub-stream (main first), then id. A page of
/// ``HealthStore/checkStates(urn:subStreamId:healths:after:limit:)`` starts after one.
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
