import HealthSync
import Logging
import ServiceLifecycle
import Synchronization

/// A `Service` that watches whether the store is fit to acknowledge into, for the intake and `GET /readyz`.
///
/// It matters only for a store that adopts ``HealthSync/HealthStoreProbing`` (the SQLite store); any other store is
/// always fit. Two checks:
///
/// - ``check()``, on every intake request before the envelope is applied and again before its 200, and on every
///   `/readyz`: the store's ``HealthSync/HealthStoreProbing/checkFile()``, system calls on the file's path only (a
///   few microseconds), so that a database file deleted or replaced under the service is never acknowledged into.
/// - Every ``HealthSyncHTTPConfiguration/storeProbeInterval`` the service runs the store's
///   ``HealthSync/HealthStoreProbing/probe()``, which also looks at the file's header and size; a failure counts once
///   the next probe confirms it (another process's checkpoint can show a short file for an instant), after which
///   ``check()`` fails too, until a probe passes.
///
/// It sleeps in real time (not on the sweeper's clock); tests call ``probeOnce()``.
///
/// Each change between fit and unfit is logged once, at `error` with the reason, then at `notice` on recovery.
public final class StoreMonitor: Service, Sendable {
    private struct State {
        /// The last confirmed failure of the periodic probe.
        var probeProblem: StorageError?
        /// Probe failures in a row.
        var failures = 0
        /// The problem last logged, to log each change once.
        var reported: StorageError?
    }

    private let probing: (any HealthStoreProbing)?
    private let interval: Duration
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates a monitor.
    /// - Parameters:
    ///   - store: the store to watch; one without ``HealthSync/HealthStoreProbing`` is always fit.
    ///   - interval: the time between two probes.
    ///   - logger: where changes between fit and unfit are logged.
    public init(store: any HealthStore, interval: Duration, logger: Logger) {
        probing = store as? any HealthStoreProbing
        self.interval = interval
        self.logger = logger
    }

    /// Throws when the store is known unfit: its file check fails now, or the last probes failed.
    /// - Throws: ``HealthSync/StorageError`` with code ``HealthSync/StorageError/Code/unavailable`` saying why.
    public func check() throws(StorageError) {
        guard let probing else { return }
        var problem: StorageError?
        do {
            try probing.checkFile()
        } catch {
            problem = error
        }
        let current = problem ?? state.withLock { $0.probeProblem }
        report(current)
        if let current { throw current }
    }

    /// Probes once and records the outcome; a failure counts when it is the second in a row.
    public func probeOnce() async {
        guard let probing else { return }
        var problem: StorageError?
        do {
            try await probing.probe()
        } catch {
            problem = error
        }
        state.withLock { state in
            if let problem {
                state.failures += 1
                if state.failures >= 2 { state.probeProblem = problem }
            } else {
                state.failures = 0
                state.probeProblem = nil
            }
        }
        try? check()
    }

    /// Probes every interval until graceful shutdown or cancellation.
    public func run() async throws {
        guard probing != nil else {
            // Nothing to probe; a service that returned early would end the whole group.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.probeOnce()
                do {
                    try await Task.sleep(for: self.interval)
                } catch {
                    return
                }
            }
        }
    }

    /// Logs a change between fit and unfit once.
    private func report(_ problem: StorageError?) {
        let previous = state.withLock { state -> StorageError?? in
            guard state.reported != problem else { return .none }
            defer { state.reported = problem }
            return .some(state.reported)
        }
        guard case .some(let before) = previous else { return }
        if let problem {
            logger.error(
                "the store is not fit for writes: intake answers 503 and /readyz not ready",
                metadata: ["reason": "\(problem.message)"])
        } else if before != nil {
            logger.notice("the store is fit for writes again")
        }
    }
}
