import Foundation
import HealthSync
import Synchronization

/// A store that forwards to another, can hold its commits until the test releases them, can fail chosen commits,
/// and logs the calls that matter to the pipeline (reads of batch contexts and commits), in the order they ran.
///
/// It adopts ``PipelinedHealthStore`` as the processor saw it before pipelining was a capability: commits queued by
/// waiting for the one before (``UnpipelinedHealthStore``), reads beside the writes as the base store makes them.
final class ControlledStore: HealthStoreQueries, PipelinedHealthStore {
    private struct State {
        var holding = false
        var held: [HeldCommit] = []
        var readsToHold = 1
        var failures: [StorageError] = []
        var readFailures: [StorageError] = []
        var log: [String] = []
        var holdingBatches = false
        var longestHold = Duration.seconds(2)
        var writes: [CheckStateWrites] = []
    }

    /// A commit waiting at the hold.
    private struct HeldCommit {
        var commit: CheckedContinuation<Void, Never>
        /// How many more reads it waits for; `Int.max` when it waits for ``release()``.
        var readsLeft: Int
    }

    /// The check-state writes of a commit that reached the base store.
    struct CheckStateWrites: Hashable {
        var refreshes: Int
        var saved: Int
    }

    private let base: any HealthStoreQueries
    private let basePipeline: any PipelinedHealthStore
    private let prefersRefreshes: Bool?
    private let state = Mutex(State())

    /// A store over `base` that prefers check-state refreshes as `prefersCheckStateRefreshes` says, or as `base`
    /// does.
    init(_ base: any HealthStoreQueries, prefersCheckStateRefreshes: Bool? = nil) {
        self.base = base
        basePipeline = base as? any PipelinedHealthStore ?? UnpipelinedHealthStore(base)
        prefersRefreshes = prefersCheckStateRefreshes
    }

    var prefersCheckStateRefreshes: Bool { prefersRefreshes ?? basePipeline.prefersCheckStateRefreshes }

    func queueCommit(_ change: StoreChange, after previous: CommitTicket?) -> CommitTicket {
        UnpipelinedHealthStore(self).queueCommit(change, after: previous)
    }

    /// The check-state writes of every commit that reached the base store, in order.
    var writes: [CheckStateWrites] { state.withLock { $0.writes } }

    /// What ran, in order: `beside`, `context`, `commit` (when it finished), `failed` and `due`.
    var log: [String] { state.withLock { $0.log } }

    /// Commits wait from now on until ``release()``.
    func hold() {
        state.withLock { $0.holding = true }
    }

    /// From now on, every commit of a batch (a change that sets the clock; sweep commits do not) waits until the
    /// end of the next read of batch contexts or due sub-streams (beside the writes or not), or of the `reads`-th
    /// read from then, ``release()``, or `longest` (a batch that waits for the commit before it reads makes no read).
    func holdBatchCommitsUntilTheNextRead(atMost longest: Duration, reads: Int = 1) {
        state.withLock {
            $0.holdingBatches = true
            $0.longestHold = longest
            $0.readsToHold = max(reads, 1)
        }
    }

    /// Counts a read: the batch commits held for as many reads go through.
    private func releaseAfterRead() {
        let held = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.holding else { return [] }
            for index in state.held.indices where state.held[index].readsLeft != .max {
                state.held[index].readsLeft -= 1
            }
            let released = state.held.filter { $0.readsLeft <= 0 }.map(\.commit)
            state.held.removeAll { $0.readsLeft <= 0 }
            return released
        }
        for commit in held { commit.resume() }
    }

    /// Lets every held commit through unless ``hold()`` holds them: a batch commit's longest hold ended.
    private func releaseAfterLongestHold() {
        let held = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.holding else { return [] }
            defer { state.held = [] }
            return state.held.map(\.commit)
        }
        for commit in held { commit.resume() }
    }

    /// Lets the held commits through, and every later one.
    func release() {
        let held = state.withLock { state in
            state.holding = false
            state.holdingBatches = false
            defer { state.held = [] }
            return state.held.map(\.commit)
        }
        for commit in held { commit.resume() }
    }

    /// Lets the oldest held commit through; the others, and the later ones, stay held.
    func releaseOldest() {
        let oldest = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.held.isEmpty ? nil : state.held.removeFirst().commit
        }
        oldest?.resume()
    }

    /// How many commits wait at the hold.
    var heldCount: Int { state.withLock { $0.held.count } }

    /// The next commits fail with these errors, one each, writing nothing.
    /// Makes the next batch context reads (`batchContext`, `batchContextBesideWrites`) fail with `errors`, in order.
    func failNextReads(_ errors: StorageError...) {
        state.withLock { $0.readFailures += errors }
    }

    private func nextReadFailure() -> StorageError? {
        state.withLock { $0.readFailures.isEmpty ? nil : $0.readFailures.removeFirst() }
    }

    func failNextCommits(_ errors: StorageError...) {
        state.withLock { $0.failures += errors }
    }

    private func note(_ entry: String) {
        state.withLock { $0.log.append(entry) }
    }

    func commit(_ change: StoreChange) async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (passes, armed, longest) = state.withLock { state -> (Bool, Bool, Duration) in
                let armed = state.holdingBatches && change.clock != nil
                guard state.holding || armed else { return (true, false, .zero) }
                state.held.append(
                    HeldCommit(commit: continuation, readsLeft: armed && !state.holding ? state.readsToHold : .max))
                return (false, armed, state.longestHold)
            }
            if passes { continuation.resume() }
            if armed {
                Task {
                    try? await Task.sleep(for: longest)
                    self.releaseAfterLongestHold()
                }
            }
        }
        let failure = state.withLock { state -> StorageError? in
            state.failures.isEmpty ? nil : state.failures.removeFirst()
        }
        if let failure {
            note("failed")
            throw failure
        }
        try await base.commit(change)
        state.withLock {
            $0.writes.append(
                CheckStateWrites(
                    refreshes: change.refreshedCheckStates.count, saved: change.savedCheckStates.count))
        }
        note("commit")
    }

    /// Logs `due` for a read of due sub-streams alone (``HealthStore/dueSubStreams(before:limit:)``), `context`
    /// for any other.
    func batchContext(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
        note(requests.isEmpty && due != nil ? "due" : "context")
        if let failure = nextReadFailure() { throw failure }
        let context = try await base.batchContext(of: requests, due: due)
        releaseAfterRead()
        return context
    }

    func batchContextBesideWrites(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
        if let failure = nextReadFailure() { throw failure }
        let context = try await basePipeline.batchContextBesideWrites(of: requests, due: due)
        note("beside")
        releaseAfterRead()
        return context
    }

    func subStreams(of urn: String) async throws -> [SubStreamRecord] { try await base.subStreams(of: urn) }
    func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState] {
        try await base.checkStates(of: key, ids: ids)
    }
    func checkStates(urn: String?, subStreamId: String?) async throws -> [StoredCheckState] {
        try await base.checkStates(urn: urn, subStreamId: subStreamId)
    }
    func streams() async throws -> [StreamSummary] { try await base.streams() }
    func nextDeadline() async throws -> Date? { try await base.nextDeadline() }
    func clock() async throws -> Date? { try await base.clock() }
    func hasReceipt(_ receipt: String) async throws -> Bool { try await base.hasReceipt(receipt) }
    func events(_ query: EventQuery) async throws -> [HealthEvent] { try await base.events(query) }
}
