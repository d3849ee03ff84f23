import Foundation
import HealthSync
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Processor time read from the PostgreSQL server's clock, so that every replica sharing one database runs on one
/// clock, whatever its own machine's clock says.
///
/// Reading the server's time in every transaction would cost a round trip per envelope; the clock instead samples
/// the server's `clock_timestamp()` (``synchronize()``, every ``interval`` while it runs as a service) and advances
/// the last sample by the local *monotonic* clock, which no change of the machine's wall clock moves. A sample is
/// stamped with the moment its answer arrived, after the server read its time, so ``now`` is never ahead of the
/// server's clock (up to the drift of the local oscillator between two samples: microseconds). Hence:
///
/// - a replica whose wall clock runs fast cannot fire a timer before the server's clock reached its deadline, nor push
///   the shared processor clock ahead of the others;
/// - a replica whose wall clock runs slow is no later than one round trip behind the server;
/// - ``now`` never runs backwards between samples, and the processor keeps the committed clock in the store and
///   applies a time before it at it, so a stream's time never moves backwards either.
///
/// Before the first successful sample, ``now`` is the machine's wall clock (the `fallback`): the store cannot commit
/// while the server is unreachable anyway. A machine clock more than a second off the server's is logged, once per
/// sample that finds it so.
public final class PostgresServerClock: HealthClock, Service {
    /// One reading of the server's clock.
    public struct Sample: Sendable, Equatable {
        /// The server's time when it answered.
        public var serverTime: Date
        /// The local monotonic instant the answer arrived: ``serverTime`` is at most this old at that instant.
        public var received: ContinuousClock.Instant
        /// How long the reading took, from sending the query to its answer.
        public var roundTrip: Duration
        /// The server's time minus the machine's wall clock at the answer: positive when the machine is behind.
        public var offset: TimeInterval
    }

    /// The store whose server's clock is read.
    public let store: PostgresHealthStore

    /// How often ``run()`` takes a new sample.
    public let interval: Duration

    /// The machine's clock: ``now`` before the first sample, and what ``Sample/offset`` is measured against.
    private let fallback: any HealthClock

    private let logger: Logger

    private struct State {
        var sample: Sample?
        /// The latest time ``now`` returned from a sample, which it never goes below.
        var latest: Date = .distantPast
        var failing = false
    }

    private let state = Mutex(State())

    /// The largest difference between the machine's and the server's clocks that is not logged.
    public static let loggedOffset: TimeInterval = 1

    /// Creates a clock reading the server of `store`; call ``synchronize()`` (or run the clock) before use.
    /// - Parameters:
    ///   - store: The store whose database server keeps the time.
    ///   - interval: How often ``run()`` samples the server's clock: ten seconds by default.
    ///   - fallback: The machine's clock (wall time by default).
    ///   - logger: Where offsets and failed samples are logged.
    public init(
        store: PostgresHealthStore, interval: Duration = .seconds(10), fallback: any HealthClock = SystemClock(),
        logger: Logger
    ) {
        self.store = store
        self.interval = interval
        self.fallback = fallback
        self.logger = logger
    }

    /// The server's time: the last sample advanced by the monotonic time since, never less than a time returned
    /// before; the machine's wall clock before the first sample.
    public var now: Date {
        let instant = ContinuousClock.now
        return state.withLock { state in
            guard let sample = state.sample else { return fallback.now }
            let estimate = sample.serverTime.addingTimeInterval((instant - sample.received).seconds)
            state.latest = max(state.latest, estimate)
            return state.latest
        }
    }

    /// The last sample taken, or `nil` before the first succeeded.
    public var lastSample: Sample? { state.withLock { $0.sample } }

    /// Reads the server's clock once and makes it the clock's time.
    /// - Returns: The sample.
    /// - Throws: ``HealthSync/StorageError`` when the server cannot be read; the clock keeps its previous sample.
    @discardableResult
    public func synchronize() async throws(StorageError) -> Sample {
        let logger = self.logger
        let sent = ContinuousClock.now
        let serverSeconds = try await store.connection("reading the database server's clock") { connection in
            let rows = try await connection.rows(
                "SELECT extract(epoch FROM clock_timestamp())::double precision", logger: logger)
            guard let row = rows.first else {
                throw StorageError(code: .failed, message: "reading the database server's clock returned no row")
            }
            return try row.decode(Double.self)
        }
        let received = ContinuousClock.now
        let serverTime = Date(timeIntervalSince1970: serverSeconds)
        let sample = Sample(
            serverTime: serverTime, received: received, roundTrip: received - sent,
            offset: serverTime.timeIntervalSince(fallback.now))
        state.withLock { state in
            state.sample = sample
            state.failing = false
        }
        if abs(sample.offset) > Self.loggedOffset {
            logger.warning(
                "this machine's clock is \(Self.describe(sample.offset)) the database server's; processor time follows the server",
                metadata: ["offset": "\(sample.offset)"])
        }
        return sample
    }

    /// Samples the server's clock every ``interval`` until the service group shuts down (at once unless it was sampled
    /// before). A failed sample is logged once until one succeeds again; the clock runs on from its last sample
    /// meanwhile.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown { try await self.sample() }
    }

    private func sample() async throws {
        // A clock sampled before it runs (as `serve` does, before it listens) waits an interval for its next sample.
        if lastSample != nil {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
        }
        while !Task.isCancelled {
            do {
                try await synchronize()
            } catch {
                let first = state.withLock { state in
                    defer { state.failing = true }
                    return !state.failing
                }
                if first {
                    logger.warning(
                        "cannot read the database server's clock; the clock runs on from its last sample",
                        metadata: ["error": "\(error)"])
                }
            }
            guard (try? await Task.sleep(for: interval)) != nil else { return }
        }
    }

    /// "3.2 s behind" or "3.2 s ahead of", for an offset of the server over the machine.
    static func describe(_ offset: TimeInterval) -> String {
        let amount = String(format: "%.1f s", abs(offset))
        return offset > 0 ? "\(amount) behind" : "\(amount) ahead of"
    }
}

extension Duration {
    /// The duration in seconds.
    fileprivate var seconds: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
