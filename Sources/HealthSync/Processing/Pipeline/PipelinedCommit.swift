import Foundation
import Synchronization

/// The commit of a staged batch, queued on the store behind the commit of the batch staged before it
/// (``PipelinedHealthStore/queueCommit(_:after:)``): it is written once that one succeeded, and fails with a conflict,
/// writing nothing, when that one failed.
final class PipelinedCommit: Sendable {
    private struct Status {
        /// The commit staged before this one, while this one has not finished.
        var previous: PipelinedCommit?
        /// `nil` while running; then whether it succeeded.
        var succeeded: Bool?
        /// Whether ``HealthProcessor/complete(_:)`` has dealt with a failure.
        var completed = false

        mutating func finish(succeeded: Bool) {
            self.succeeded = succeeded
            previous = nil
        }
    }

    /// What a batch staged after a failed one fails with: a conflict, so that ``HealthProcessor/complete(_:)``
    /// applies it again.
    static let earlierFailure = CommitTicket.earlierFailure

    /// Every stream URN the commit changes.
    let urns: Set<String>
    /// The earliest deadline of the sub-streams the commit saves.
    let earliestDeadline: Date?
    /// The sub-streams the commit saves.
    let savedSubStreams: Set<StreamKey>
    /// The processor time of the batch's last envelope.
    let clock: Date?
    /// The commit; it throws what the store threw, or a conflict when the previous commit failed.
    let task: Task<Void, any Error>
    /// The commit as queued on the store.
    let ticket: CommitTicket
    private let status: StatusBox

    /// The status, shared with the commit's task (which starts before `self` is initialized).
    private final class StatusBox: Sendable {
        let mutex: Mutex<Status>
        init(_ status: Status) { mutex = Mutex(status) }
        func withLock<T>(_ body: (inout Status) -> T) -> T { mutex.withLock { body(&$0) } }
    }

    /// Starts the commit of `change`, a batch whose last envelope is at `clock`, once `previous` succeeded;
    /// `committed` runs when it did.
    init(
        committing change: StoreChange,
        at clock: Date,
        to store: any PipelinedHealthStore,
        after previous: PipelinedCommit?,
        committed: @escaping @Sendable () -> Void
    ) {
        self.clock = clock
        urns = change.changedURNs
        earliestDeadline = change.savedSubStreams.compactMap(\.nextDeadline).min()
        savedSubStreams = Set(change.savedSubStreams.map(\.key))
        let status = StatusBox(Status(previous: previous))
        self.status = status
        // Queued on the store at once, behind the previous batch's commit: a store with a queue of its own writes it
        // the moment that one ends, instead of after a task has seen it end.
        let ticket = store.queueCommit(change, after: previous?.ticket)
        self.ticket = ticket
        // Unstructured on purpose: the commit outlives `stage(batch:)`, which returns while it runs, and is awaited
        // by `complete(_:)` (and by the next mutation) in another call; no task scope spans both.
        task = Task {
            do {
                try await ticket.wait()
                committed()
                status.withLock { $0.finish(succeeded: true) }
            } catch {
                status.withLock { $0.finish(succeeded: false) }
                throw error
            }
        }
    }

    init(failingWith error: StorageError) {
        urns = []
        earliestDeadline = nil
        savedSubStreams = []
        clock = nil
        status = StatusBox(Status(previous: nil, succeeded: false))
        ticket = CommitTicket(finished: .failure(error))
        task = Task { throw error }
    }

    /// Waits for the commit; whether it succeeded.
    func succeeded() async -> Bool {
        (try? await task.value) != nil
    }

    /// Whether the commit failed and ``HealthProcessor/complete(_:)`` has not yet applied its batch again: until
    /// then, nothing may be staged after it.
    var blocksStaging: Bool {
        status.withLock { $0.succeeded == false && !$0.completed }
    }

    /// Whether the commit finished and failed.
    var failed: Bool {
        status.withLock { $0.succeeded == false }
    }

    /// Notes that the batch of a failed commit was dealt with.
    func markCompleted() {
        status.withLock { $0.completed = true }
    }

    /// This commit and the ones staged before it that have not finished yet, newest first.
    func unfinishedChain() -> [PipelinedCommit] {
        var chain: [PipelinedCommit] = []
        var next: PipelinedCommit? = self
        while let commit = next {
            let (running, previous) = commit.status.withLock { ($0.succeeded == nil, $0.previous) }
            guard running else { break }
            chain.append(commit)
            next = previous
        }
        return chain
    }

    /// The sub-streams of `due`, read as due beside the `pending` commits, that are still due once those are
    /// committed, in the order read; `nil` when that is not known.
    ///
    /// A sub-stream a pending commit saves is not due any more, when that commit is one
    /// ``independent(of:requests:due:before:)`` accepts (its deadlines are not before the batch); one of a stream a
    /// pending commit changes without saving the sub-stream (a deletion) makes the answer unknown; the others stay due.
    static func due(_ due: [StreamKey], after pending: [PipelinedCommit]) -> [StreamKey]? {
        var remaining: [StreamKey] = []
        remaining.reserveCapacity(due.count)
        for key in due {
            var superseded = false
            for commit in pending where commit.urns.contains(key.urn) {
                guard commit.savedSubStreams.contains(key) else { return nil }
                superseded = true
            }
            if !superseded { remaining.append(key) }
        }
        return remaining
    }

    /// Whether a batch read beside the `pending` commits can use what it read: none of them changes a stream it
    /// read (requested or due), and none saves a deadline before `end`, which the batch would have to fire.
    static func independent(
        of pending: [PipelinedCommit],
        requests: [ContextRequest],
        due: [StreamKey],
        before end: Date
    ) -> Bool {
        for commit in pending {
            if let deadline = commit.earliestDeadline, deadline < end { return false }
            if requests.contains(where: { commit.urns.contains($0.key.urn) }) { return false }
            if due.contains(where: { commit.urns.contains($0.urn) }) { return false }
        }
        return true
    }
}

extension StoreChange {
    /// Every stream URN the change writes to.
    var changedURNs: Set<String> {
        var urns = Set<String>()
        for deletion in deletedStreams { urns.insert(deletion.urn) }
        for deletion in deletedSubStreams { urns.insert(deletion.key.urn) }
        for record in savedStreams { urns.insert(record.urn) }
        for record in savedSubStreams { urns.insert(record.key.urn) }
        for deletion in deletedCheckStates { urns.insert(deletion.key.urn) }
        for refresh in refreshedCheckStates { urns.insert(refresh.key.urn) }
        for state in savedCheckStates { urns.insert(state.key.urn) }
        for key in deletedErrors { urns.insert(key.urn) }
        for error in savedErrors { urns.insert(error.key.urn) }
        return urns
    }
}
