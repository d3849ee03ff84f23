import HealthSync
import Synchronization

/// Group commit for the intake: concurrent requests' envelopes are applied together, as one batch and thus one
/// transaction, instead of one transaction each; and the next batch is processed while the previous one commits.
///
/// A request enqueues its decoded envelope and waits. When no batch is being applied, the request that arrives
/// starts a *runner*, an unstructured task (so that no request's cancellation fails the others' envelopes), which
/// takes batches from the front of the queue until it is empty: each one everything queued, at most
/// ``HealthSyncHTTPConfiguration/maximumBatchCheckStates`` check states but always at least one envelope. It stages
/// each batch with ``HealthSync/HealthProcessor/stage(batch:)`` and, while that batch's reads and processing are done,
/// the previous batch has been committing; then it completes the previous batch
/// (``HealthSync/HealthProcessor/complete(_:)``) and hands every request of it its own result. So a lone request is
/// applied at once (no timer, no added latency), and under load the requests that arrive while a batch commits are
/// processed meanwhile and committed together by the next commit.
///
/// Every request gets its answer only after its batch committed; when the batch fails, every request of it gets the
/// same error and nothing of the batch is stored. Envelopes are applied in the order they were enqueued, so the
/// envelopes of one stream stay in arrival order.
final class IntakeBatcher: Sendable {
    private struct Waiter {
        var entry: HealthProcessor.BatchEntry
        var checkStates: Int
        var continuation: CheckedContinuation<Result<IntakeResult, any Error>, Never>
    }

    private struct State {
        var queue: [Waiter] = []
        var head = 0
        var running = false

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

    /// How many requests wait for a batch (not counting those of the batches being applied).
    var waitingCount: Int { state.withLock { $0.queue.count - $0.head } }

    /// Applies `entry` in the next batch and returns its own result once that batch committed.
    /// - Throws: what applying the batch threw.
    func apply(_ entry: HealthProcessor.BatchEntry) async throws -> IntakeResult {
        let checkStates = entry.envelope.messages.reduce(0) { $0 + $1.checkStates.count }
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<IntakeResult, any Error>, Never>) in
            let starts = state.withLock { state -> Bool in
                state.queue.append(Waiter(entry: entry, checkStates: checkStates, continuation: continuation))
                guard !state.running else { return false }
                state.running = true
                return true
            }
            // The runner is ahead of the requests' decoding on the cooperative pool: it is what they all wait for.
            if starts { Task(priority: .high) { await self.run() } }
        }
        return try result.get()
    }

    /// Stages batches from the queue until it is empty, completing each one after the next was staged.
    private func run() async {
        var inFlight: (batch: [Waiter], staged: HealthProcessor.StagedBatch)?
        while true {
            let idle = inFlight == nil
            let next = state.withLock { state -> [Waiter]? in
                if state.head < state.queue.count { return state.takeBatch(limit: limit) }
                if idle { state.running = false }
                return nil
            }
            guard let batch = next else {
                guard let previous = inFlight else { return }
                await complete(previous.batch, previous.staged)
                inFlight = nil
                continue
            }
            let staged = await processor.stage(batch: batch.map(\.entry))
            if let previous = inFlight { await complete(previous.batch, previous.staged) }
            inFlight = (batch, staged)
        }
    }

    /// Waits for a staged batch's commit and answers each of its requests.
    private func complete(_ batch: [Waiter], _ staged: HealthProcessor.StagedBatch) async {
        let results: Result<[IntakeResult], any Error>
        do {
            results = .success(try await processor.complete(staged))
        } catch {
            results = .failure(error)
        }
        for (index, waiter) in batch.enumerated() {
            waiter.continuation.resume(returning: results.map { $0[index] })
        }
    }
}
