import HealthSync
import ServiceLifecycle
import Synchronization

/// Group commit for the intake: concurrent requests' envelopes are applied together, as one batch and thus one
/// transaction, instead of one transaction each; and the next batch is processed while the previous one commits.
///
/// A request enqueues its decoded envelope and waits. A *drain* takes batches from the front of the queue until it is
/// empty: each batch everything queued, at most ``HealthSyncHTTPConfiguration/maximumBatchCheckStates`` check states
/// but always at least one envelope. It stages each batch with ``HealthSync/HealthProcessor/stage(batch:)`` and,
/// while that batch's reads and processing are done, the previous batch has been committing; then it completes the
/// previous batch (``HealthSync/HealthProcessor/complete(_:)``) and hands every request of it its own result. So a
/// lone request is applied at once (no timer, no added latency), and under load the requests that arrive while a
/// batch commits are processed meanwhile and committed together by the next commit. One drain runs at a time.
///
/// The batcher is a `Service` (``HealthSyncAPI/intakeService``, one of ``HealthSyncAPI/services``): while its
/// ``run()`` runs in the application's service group, the drains run there, in a structured child task, so that no
/// request's cancellation fails the others' envelopes. Until it runs (routes mounted without it, or the moment
/// before the service group started it) and after it stopped, a request starts the drain as a task of its own
/// instead: the intake never waits for a service that is not there.
///
/// Every request gets its answer only after its batch committed; when the batch fails, every request of it gets the
/// same error and nothing of the batch is stored. Envelopes are applied in the order they were enqueued, so the
/// envelopes of one stream stay in arrival order.
final class IntakeBatcher: Service, Sendable {
    private struct Waiter {
        var entry: HealthProcessor.BatchEntry
        var checkStates: Int
        var continuation: CheckedContinuation<Result<IntakeResult, any Error>, Never>
    }

    /// Where a drain runs.
    private enum Drainer {
        /// In ``run()``'s child task, woken by the request that queued first.
        case service
        /// In a task of its own.
        case task
    }

    private struct State {
        var queue: [Waiter] = []
        var head = 0
        /// Who runs the drain that takes every request queued meanwhile, or is about to; `nil` when none runs.
        var drainer: Drainer?
        /// Wakes ``run()`` for a drain while it runs; `nil` while it does not.
        var wake: AsyncStream<Void>.Continuation?

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
            let startsDrain = state.withLock { state -> Bool in
                state.queue.append(Waiter(entry: entry, checkStates: checkStates, continuation: continuation))
                guard state.drainer == nil else { return false }
                // Under the lock, so that the service cannot finish its stream between this look and the yield.
                guard let wake = state.wake else {
                    state.drainer = .task
                    return true
                }
                state.drainer = .service
                wake.yield()
                return false
            }
            // Unstructured on purpose: the batcher's service does not run (see the type's documentation), and the
            // drain must not be the requesting task's, whose cancellation would fail the others' envelopes. At high
            // priority: it is what every waiting request waits for.
            if startsDrain { Task(priority: .high) { await self.drain() } }
        }
        return try result.get()
    }

    /// Runs the drains until graceful shutdown (or cancellation); requests then start their own drains again. It may
    /// run again afterwards (an application started a second time).
    func run() async throws {
        let (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .unbounded)
        state.withLock { $0.wake = wake }
        await withGracefulShutdownHandler {
            // In a child task at high priority: the batcher is what every waiting request waits for, so it goes
            // ahead of their decoding on the cooperative pool.
            await withDiscardingTaskGroup { group in
                group.addTask(priority: .high) {
                    for await _ in wakeUps { await self.drain() }
                }
            }
        } onGracefulShutdown: {
            // A wake-up yielded before this is still delivered, and its drain runs before the loop ends.
            self.state.withLock { state in
                state.wake = nil
                wake.finish()
            }
        }
        // Every drain of the service has ended. Cancelled rather than shut down, the loop may have ended with a
        // wake-up undelivered: its requests get a drain of their own.
        let orphaned = state.withLock { state -> Bool in
            state.wake = nil
            wake.finish()
            guard state.drainer == .service else { return false }
            state.drainer = .task
            return true
        }
        if orphaned { Task(priority: .high) { await self.drain() } }
    }

    /// Stages batches from the queue until it is empty, completing each one after the next was staged; then no drain
    /// runs until a request starts one.
    private func drain() async {
        var inFlight: (batch: [Waiter], staged: HealthProcessor.StagedBatch)?
        while true {
            let idle = inFlight == nil
            let next = state.withLock { state -> [Waiter]? in
                if state.head < state.queue.count { return state.takeBatch(limit: limit) }
                if idle { state.drainer = nil }
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
