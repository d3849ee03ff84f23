import Foundation
import HealthSync
import Logging
import ServiceLifecycle
import Synchronization

/// How a ``DeadlineSweeper`` sleeps, coalesces wake-ups and retries.
public struct DeadlineSweeperConfiguration: Sendable {
    /// The longest sleep without looking at the store again, even when no deadline is stored (another process
    /// sharing the store may have added one).
    public var maximumSleep: Duration
    /// After a wake-up, how long to wait for more before looking at the store, so that a stream of intakes costs
    /// one deadline query per interval instead of one per request. Timers still fire at their deadlines; only the
    /// moment the sweep runs moves.
    public var wakeCoalescing: Duration
    /// The delay before the first retry after a failed sweep; it doubles with every further failure.
    public var retryDelay: Duration
    /// The longest delay between retries.
    public var maximumRetryDelay: Duration
    /// How long events are kept (seconds before the processor clock), or `nil` to keep them all. The sweeper
    /// prunes older events through ``HealthSync/HealthStoreRetention/pruneEvents(before:)`` at most once per
    /// ``pruneInterval``, keeping what time travel needs inside the retained window.
    public var eventRetention: TimeInterval?
    /// How long the intake remembers an `Idempotency-Key` (seconds before the processor clock), or `nil` to remember
    /// them all. The sweeper prunes older keys' receipts through
    /// ``HealthSync/HealthStoreRetention/pruneReceipts(withPrefix:before:)`` with the events; a key re-sent after that is
    /// applied again.
    public var idempotencyKeyRetention: TimeInterval?
    /// The least time between two prunings of the event record and the idempotency keys.
    public var pruneInterval: Duration

    /// Creates a configuration.
    public init(
        maximumSleep: Duration = .seconds(60),
        wakeCoalescing: Duration = .milliseconds(100),
        retryDelay: Duration = .seconds(1),
        maximumRetryDelay: Duration = .seconds(60),
        eventRetention: TimeInterval? = nil,
        idempotencyKeyRetention: TimeInterval? = nil,
        pruneInterval: Duration = .seconds(3_600)
    ) {
        self.maximumSleep = maximumSleep
        self.wakeCoalescing = wakeCoalescing
        self.retryDelay = retryDelay
        self.maximumRetryDelay = maximumRetryDelay
        self.eventRetention = eventRetention
        self.idempotencyKeyRetention = idempotencyKeyRetention
        self.pruneInterval = pruneInterval
    }
}

/// A `Service` that fires timers at their deadlines while the intake is idle (SPEC §7).
///
/// It asks the store for the earliest stored deadline (one indexed query), sleeps until just past it, then
/// advances the processor to the current time, which fires every due timer at its own deadline. It never scans the
/// database. The intake calls ``wake()`` after each envelope, since a new deadline may be earlier than the one the
/// sweeper sleeps for. On start it sweeps at once, so timers that fell due while the service was down fire
/// immediately, at their original deadlines.
///
/// A failing sweep is logged and retried with exponential backoff; the service only ends on graceful shutdown or
/// cancellation, after the sweep in progress (if any) committed.
///
/// The sweeper reads processor time from a ``HealthSync/HealthClock`` and sleeps on a `Clock`, so tests can drive
/// both by hand.
public struct DeadlineSweeper<C: Clock>: Service where C.Duration == Duration {
    /// The processor whose timers it fires.
    public let processor: HealthProcessor
    /// The settings.
    public let configuration: DeadlineSweeperConfiguration
    private let clock: any HealthClock
    private let sleepClock: C
    private let signal = WakeSignal()
    private let metrics: HealthSyncMetrics?
    private let logger: Logger
    /// The store's retention, when it adopts it.
    private let retention: (any HealthStoreRetention)?

    /// Creates a sweeper.
    /// - Parameters:
    ///   - processor: the processor whose timers it fires.
    ///   - clock: processor time (wall time in production).
    ///   - sleepClock: the clock it sleeps on.
    ///   - configuration: the settings.
    ///   - metrics: where sweeps are counted, if anywhere.
    ///   - logger: where sweeps and failures are logged.
    public init(
        processor: HealthProcessor,
        clock: some HealthClock,
        sleepClock: C,
        configuration: DeadlineSweeperConfiguration = DeadlineSweeperConfiguration(),
        metrics: HealthSyncMetrics? = nil,
        logger: Logger
    ) {
        self.processor = processor
        self.clock = clock
        self.sleepClock = sleepClock
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        retention = processor.store as? any HealthStoreRetention
    }

    /// Tells the sweeper that a deadline may have been added or moved: it looks at the store again (after
    /// ``DeadlineSweeperConfiguration/wakeCoalescing``). Cheap and safe to call from any task, any number of times.
    public func wake() {
        signal.wake()
    }

    /// Sweeps until graceful shutdown or cancellation.
    public func run() async throws {
        logger.debug("deadline sweeper started")
        await withTaskCancellationOrGracefulShutdownHandler {
            var failures = 0
            var lastPrune: C.Instant?
            while !signal.isShutDown {
                let pause: Duration
                do {
                    pause = try await sweep()
                    failures = 0
                    if configuration.eventRetention != nil || configuration.idempotencyKeyRetention != nil,
                        lastPrune.map({ $0.duration(to: sleepClock.now) >= configuration.pruneInterval }) ?? true
                    {
                        lastPrune = sleepClock.now
                        await prune()
                    }
                } catch {
                    // Stopped while sweeping (such as when the server could not listen): not a failure to report.
                    if Task.isCancelled { break }
                    failures += 1
                    metrics?.recordSweep(succeeded: false, lag: nil)
                    pause = retryDelay(after: failures)
                    logger.error(
                        "sweep failed; retrying",
                        metadata: [
                            "error": "\(error)", "failures": "\(failures)", "retry_in": "\(pause)",
                        ]
                    )
                }
                if pause == .zero { continue }
                if await sleep(for: pause), configuration.wakeCoalescing > .zero {
                    // Woken by the intake: let a burst of wake-ups pass before querying again.
                    try? await sleepClock.sleep(for: configuration.wakeCoalescing)
                }
            }
        } onCancelOrGracefulShutdown: {
            signal.shutDown()
        }
        logger.debug("deadline sweeper stopped")
    }

    /// Fires what is due and tells how long to sleep: until just past the next deadline, at most
    /// ``DeadlineSweeperConfiguration/maximumSleep``, or `.zero` to look again at once.
    private func sweep() async throws -> Duration {
        // Never read or write a store known unfit: a lost file, or an -shm whose write would fault (SIGBUS; a reader
        // writes its read mark there too). The failure is logged and retried like any other.
        let probing = processor.store as? any HealthStoreProbing
        try probing?.checkFile()
        guard let next = try await processor.store.nextDeadline() else { return configuration.maximumSleep }
        let now = clock.now
        guard next < now else {
            // A timer fires when the clock moves past its deadline: wake just after it.
            let wait = Duration.milliseconds(Int64((next.timeIntervalSince(now) * 1000).rounded(.up)) + 1)
            return min(wait, configuration.maximumSleep)
        }
        try probing?.checkFile()
        let result = try await processor.advance(to: now)
        let lag = Duration.milliseconds(Int64((now.timeIntervalSince(next) * 1000).rounded()))
        metrics?.recordSweep(succeeded: true, lag: lag)
        metrics?.record(result)
        logger.debug(
            "timers fired",
            metadata: [
                "timers": "\(result.timersFired)", "missed_periods": "\(result.missedPeriods)",
                "deleted": "\(result.counts.deleted)",
                "errors_opened": "\(result.counts.errorsOpened)", "lag_ms": "\(lag / .milliseconds(1))",
            ]
        )
        if let after = try await processor.store.nextDeadline(), after <= next {
            // The earliest deadline did not move: do not spin on it.
            logger.warning("a due deadline did not move after a sweep", metadata: ["deadline": "\(after)"])
            return configuration.retryDelay
        }
        return .zero
    }

    /// Deletes the events older than ``DeadlineSweeperConfiguration/eventRetention`` and the idempotency keys older
    /// than ``DeadlineSweeperConfiguration/idempotencyKeyRetention`` before the processor clock (the store's clock
    /// when it is ahead of the wall clock, as after a replay of future-stamped payloads). A failure is logged; the
    /// next pruning is one ``DeadlineSweeperConfiguration/pruneInterval`` later.
    /// Logs a pruning failure as an error, or at debug level when the sweeper was stopped while pruning (the
    /// store's answer is then `cancelled`, which is no failure of the store).
    private func logPruneFailure(_ message: Logger.Message, _ error: any Error) {
        logger.log(level: Task.isCancelled ? .debug : .error, message, metadata: ["error": "\(error)"])
    }

    private func prune() async {
        guard let store = retention else {
            logger.error("pruning skipped: the store does not adopt HealthStoreRetention")
            return
        }
        let now: Date
        do {
            let stored = try await processor.store.clock()
            now = max(clock.now, stored ?? clock.now)
        } catch {
            logPruneFailure("pruning failed: the clock cannot be read", error)
            return
        }
        if let retention = configuration.eventRetention {
            do {
                let pruned = try await store.pruneEvents(before: now.addingTimeInterval(-retention))
                if pruned > 0 {
                    logger.info("events pruned", metadata: ["events": "\(pruned)", "retention_s": "\(retention)"])
                }
            } catch {
                logPruneFailure("pruning events failed", error)
            }
        }
        if let retention = configuration.idempotencyKeyRetention {
            do {
                let pruned = try await store.pruneReceipts(
                    withPrefix: idempotencyReceiptPrefix, before: now.addingTimeInterval(-retention))
                if pruned > 0 {
                    logger.info(
                        "idempotency keys pruned", metadata: ["keys": "\(pruned)", "retention_s": "\(retention)"])
                }
            } catch {
                logPruneFailure("pruning idempotency keys failed", error)
            }
        }
    }

    /// Sleeps for `duration` unless woken or shut down first. Returns whether it was woken.
    private func sleep(for duration: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await signal.wait()
                return true
            }
            group.addTask {
                try? await sleepClock.sleep(for: duration)
                return false
            }
            let woken = await group.next() ?? false
            group.cancelAll()
            return woken && !signal.isShutDown
        }
    }

    private func retryDelay(after failures: Int) -> Duration {
        var delay = configuration.retryDelay
        for _ in 1..<max(failures, 1) where delay < configuration.maximumRetryDelay { delay *= 2 }
        return min(delay, configuration.maximumRetryDelay)
    }
}

extension DeadlineSweeper where C == ContinuousClock {
    /// Creates a sweeper that sleeps on the continuous clock.
    /// - Parameters:
    ///   - processor: the processor whose timers it fires.
    ///   - clock: processor time.
    ///   - configuration: the settings.
    ///   - metrics: where sweeps are counted, if anywhere.
    ///   - logger: where sweeps and failures are logged.
    public init(
        processor: HealthProcessor,
        clock: some HealthClock = SystemClock(),
        configuration: DeadlineSweeperConfiguration = DeadlineSweeperConfiguration(),
        metrics: HealthSyncMetrics? = nil,
        logger: Logger
    ) {
        self.init(
            processor: processor, clock: clock, sleepClock: ContinuousClock(), configuration: configuration,
            metrics: metrics, logger: logger
        )
    }
}

/// A one-slot, coalescing wake-up signal for one waiter, which can also be shut down for good.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var shutDown = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Whether ``shutDown()`` was called.
    var isShutDown: Bool { state.withLock { $0.shutDown } }

    /// Wakes the waiter, or the next one to wait if none waits now.
    func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Wakes the waiter and makes every later ``wait()`` return at once.
    func shutDown() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.shutDown = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns when woken (or at once if a wake-up is pending), when shut down, or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || state.shutDown || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    precondition(state.waiter == nil, "WakeSignal supports one waiter")
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
