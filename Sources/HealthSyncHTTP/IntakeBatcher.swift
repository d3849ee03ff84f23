import HealthSync
import Synchronization

/// Group commit for the intake: concurrent requests' envelopes are applied together, in one
/// ``HealthSync/HealthProcessor/apply(batch:)`` and thus one transaction, instead of one transaction each.
///
/// A request enqueues its decoded envelope and waits. When no batch is being applied, the request that arrives
/// becomes the *leader*: it takes everything queued (its own envelope first, at most
/// ``HealthSyncHTTPConfiguration/maximumBatchCheckStates`` check states but always at least one envelope), applies it
/// as one batch and hands every waiting request its own result. If more requests queued meanwhile, the oldest of them
/// becomes the next leader. So a lone request is applied at once (no timer, no added latency), and under load the
/// requests that arrive while a batch commits are committed together by the next one.
///
/// Every request gets its answer only after its batch committed; when the batch fails, every request of it gets the
/// same error and nothing of the batch is stored. Envelopes are applied in the order they were enqueued, so the
/// envelopes of one stream stay in arrival order. The leader is one of the waiting requests; it runs the batch in an
/// unstructured task, so that its own cancellation does not fail the other requests' envelopes.
final class IntakeBatcher: Sendable {
    private struct Waiter {
        var entry: HealthProcessor.BatchEntry
        var checkStates: Int
        var continuation: CheckedContinuation<Outcome, Never>
    }

    private enum Outcome: Sendable {
        /// The request leads the next batch, which starts with its own envelope.
        case lead
        /// The request's envelope was in a batch that committed (or failed).
        case done(Result<IntakeResult, any Error>)
    }

    private struct State {
        var queue: [Waiter] = []
        var head = 0
        var leading = false

        /// Takes the next batch from the front of the queue: at least one envelope, then more while their check
        /// states stay within `limit`.
        mutating func takeBatch(limit: Int) -> [Waiter] {
            var end = head
            var checkStates = 0
            while end < queue.count && (end == head || checkStates + queue[end].checkStates <= limit) {
                checkStates += queue[end].checkStates
                end += 1
            }
            let batch = Array(queue[head..<end])
            head = end
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
            return batch
        }
    }

    private let processor: HealthProcessor
    private let limit: Int
    private let state = Mutex(State())

    /// Creates a batcher.
    /// - Parameters:
    ///   - processor: the processor batches are applied to.
    ///   - maximumCheckStates: the most check states one batch takes when it has more than one envelope.
    init(processor: HealthProcessor, maximumCheckStates: Int) {
        self.processor = processor
        limit = max(1, maximumCheckStates)
    }

    /// How many requests wait for a batch (not counting those of the batch being applied).
    var waitingCount: Int { state.withLock { $0.queue.count - $0.head } }

    /// Applies `entry` in the next batch and returns its own result once that batch committed.
    /// - Throws: what the batch's ``HealthSync/HealthProcessor/apply(batch:)`` threw.
    func apply(_ entry: HealthProcessor.BatchEntry) async throws -> IntakeResult {
        let checkStates = entry.envelope.messages.reduce(0) { $0 + $1.checkStates.count }
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let leads = state.withLock { state -> Bool in
                state.queue.append(Waiter(entry: entry, checkStates: checkStates, continuation: continuation))
                guard !state.leading else { return false }
                state.leading = true
                return true
            }
            if leads { continuation.resume(returning: .lead) }
        }
        switch outcome {
        case .done(let result):
            return try result.get()
        case .lead:
            return try await lead().get()
        }
    }

    /// Applies the batch at the front of the queue (whose first envelope is the leader's own), answers every other
    /// request of it, passes the lead on, and returns the leader's own result.
    private func lead() async -> Result<IntakeResult, any Error> {
        let batch = state.withLock { $0.takeBatch(limit: limit) }
        let entries = batch.map(\.entry)
        let processor = processor
        // The batch runs in a task of its own, not in the leader's: cancelling the leading request (its client went
        // away) must not cancel the database work that the other requests of the batch wait for.
        let results = await Task { () async -> Result<[IntakeResult], any Error> in
            do {
                return .success(try await processor.apply(batch: entries))
            } catch {
                return .failure(error)
            }
        }.value
        let next = state.withLock { state -> Waiter? in
            guard state.head < state.queue.count else {
                state.leading = false
                return nil
            }
            return state.queue[state.head]
        }
        for (index, waiter) in batch.enumerated().dropFirst() {
            waiter.continuation.resume(returning: .done(results.map { $0[index] }))
        }
        next?.continuation.resume(returning: .lead)
        return results.map { $0[0] }
    }
}
