import Foundation

/// A ``HealthStore`` that lets the processor read the next batch while the previous one commits
/// (``HealthProcessor/stage(batch:)``), and that writes a sub-stream's refresh for less than a row per check state.
///
/// An opt-in capability: ``HealthProcessor`` looks for it once, at its init (`store as? any PipelinedHealthStore`).
/// Over a store without it the processor behaves as ``UnpipelinedHealthStore`` says: it queues a commit by waiting
/// for the previous one, reads beside writes with ``HealthStore/batchContext(of:due:)``, and sends no refreshes.
/// That is correct for every store; it may only wait longer.
public protocol PipelinedHealthStore: HealthStore {
    /// Queues `change` to be committed after the commit of `previous` (a ticket of this method on this store), and
    /// returns at once: the processor queues a staged batch's commit while the one before it still runs
    /// (``HealthProcessor/stage(batch:)``). Commits are written in the order they were queued; one queued after a
    /// commit that failed fails with ``CommitTicket/earlierFailure`` and writes nothing.
    func queueCommit(_ change: StoreChange, after previous: CommitTicket?) -> CommitTicket

    /// ``HealthStore/batchContext(of:due:)`` read beside the store's writes: a read transaction that does not wait
    /// for a commit in progress and sees what was committed when it starts.
    ///
    /// The processor reads a batch with it while the previous batch still commits, and uses what it read only when
    /// that commit changes none of the streams read (``HealthProcessor`` documents the pipeline).
    /// - Throws: ``StorageError``.
    func batchContextBesideWrites(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext

    /// Whether the processor should send ``StoreChange/refreshedCheckStates``: `true` for a store that writes a
    /// sub-stream's refresh for less than a row per check state (SQLite: one range update). Every store applies
    /// refreshes it is given (`HealthStoreConformance` checks it).
    var prefersCheckStateRefreshes: Bool { get }

    /// Opens one write transaction that the processor fills in parts while the store writes them, or returns `nil`
    /// when the store cannot (the default): ``HealthProcessor/apply(_:at:receivedAt:receipt:)`` then commits a large
    /// envelope as one ``StoreChange``, as it does a small one.
    ///
    /// The store takes the parts on its writer (``CommitStream/nextPart()``), applies each as
    /// ``HealthStore/commit(_:)`` would, in order, and commits them together when the stream is finished; it rolls
    /// back every part when one fails or the stream is abandoned, and reports the end with
    /// ``CommitStream/complete(_:)``. While a stream is open the processor reads nothing from the store.
    func openCommitStream() -> CommitStream?
}

extension PipelinedHealthStore {
    /// `nil`: the store commits every change whole.
    public func openCommitStream() -> CommitStream? { nil }
}

/// The pipelining of a store without ``PipelinedHealthStore``: what ``HealthProcessor`` uses over such a store.
///
/// ``queueCommit(_:after:)`` waits for `previous` in a task, then calls ``HealthStore/commit(_:)``;
/// ``batchContextBesideWrites(of:due:)`` is ``HealthStore/batchContext(of:due:)``; no refreshes are preferred. Every
/// other requirement forwards to the store.
public struct UnpipelinedHealthStore: PipelinedHealthStore {
    /// The store wrapped.
    public let base: any HealthStore

    /// Wraps `base`.
    public init(_ base: any HealthStore) {
        self.base = base
    }

    /// `false`: every check state is saved as a row of ``StoreChange/savedCheckStates``.
    public var prefersCheckStateRefreshes: Bool { false }

    /// A task that waits for `previous` and then calls ``HealthStore/commit(_:)``.
    public func queueCommit(_ change: StoreChange, after previous: CommitTicket?) -> CommitTicket {
        let ticket = CommitTicket()
        let base = self.base
        // Unstructured on purpose: queueing is synchronous by contract (the ticket comes back at once, in queue
        // order) and the commit runs after the call returned; the ticket is how it is awaited.
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
                try await base.commit(change)
                ticket.finish(.success(()))
            } catch let error as StorageError {
                ticket.finish(.failure(error))
            } catch {
                ticket.finish(.failure(StorageError(code: .failed, message: "\(error)")))
            }
        }
        return ticket
    }

    /// ``HealthStore/batchContext(of:due:)`` of the store.
    /// - Throws: ``StorageError``.
    public func batchContextBesideWrites(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
        try await base.batchContext(of: requests, due: due)
    }

    /// Forwards to the store.
    /// - Throws: ``StorageError``.
    public func batchContext(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
        try await base.batchContext(of: requests, due: due)
    }

    /// Forwards to the store.
    /// - Throws: ``StorageError``.
    public func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState] {
        try await base.checkStates(of: key, ids: ids)
    }

    /// Forwards to the store.
    /// - Throws: ``StorageError``.
    public func subStreams(of urn: String) async throws -> [SubStreamRecord] {
        try await base.subStreams(of: urn)
    }

    /// Forwards to the store.
    /// - Throws: ``StorageError``.
    public func nextDeadline() async throws -> Date? { try await base.nextDeadline() }

    /// Forwards to the store.
    /// - Throws: ``StorageError``.
    public func clock() async throws -> Date? { try await base.clock() }

    /// Forwards to the store.
    /// - Throws: ``StorageError``.
    public func hasReceipt(_ receipt: String) async throws -> Bool { try await base.hasReceipt(receipt) }

    /// Forwards to the store.
    /// - Throws: ``StorageError``.
    public func commit(_ change: StoreChange) async throws { try await base.commit(change) }
}
