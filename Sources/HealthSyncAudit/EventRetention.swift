import Foundation
import HealthSync

/// How long the event record is kept, and the pruning that applies it.
///
/// Pruning at processor time `now` deletes the events before `now − duration` through
/// ``HealthSync/HealthStoreRetention/pruneEvents(before:)``, which keeps the latest state-defining event of every check
/// state alive at the cutoff. So `state --at T`, `diff` and `audit` stay exact for any `T` from the cutoff on: the
/// *retained window*. `healthsync sweep --retain-events` uses it, and so can any long-running intake:
///
/// ```swift
/// let retention = EventRetention(duration: 30 * 86_400)
/// let sweep = try await processor.advance(to: clock.now)
/// try await retention.prune(store, at: sweep.clock)
/// ```
///
/// Pruning costs a range scan of the events before the cutoff (the new ones since the last pruning plus one kept
/// event per live check state), so running it after every sweep is cheap; once an hour is plenty.
public struct EventRetention: Sendable, Hashable {
    /// The default retention: 30 days.
    public static let defaultDuration: TimeInterval = 30 * 86_400

    /// How long events are kept, in seconds.
    public var duration: TimeInterval

    /// Creates a retention; `precondition`: `duration` is positive and finite.
    public init(duration: TimeInterval = EventRetention.defaultDuration) {
        precondition(duration > 0 && duration.isFinite, "a retention must be a positive number of seconds")
        self.duration = duration
    }

    /// The cutoff at processor time `now`: `now − duration`.
    public func cutoff(at now: Date) -> Date {
        now.addingTimeInterval(-duration)
    }

    /// Prunes the events of `store` before ``cutoff(at:)``.
    /// - Parameters:
    ///   - store: the store.
    ///   - now: the processor time (the clock after a sweep), not necessarily wall time: a replayed history is
    ///     pruned relative to its own clock.
    /// - Returns: How many events were deleted.
    /// - Throws: ``HealthSync/StorageError``.
    @discardableResult
    public func prune(_ store: any HealthStoreRetention, at now: Date) async throws -> Int {
        try await store.pruneEvents(before: cutoff(at: now))
    }

    /// The start of the retained window of `events` (in record order): the earliest time from which the record is
    /// known to be complete, so that time travel from it on is exact; `nil` for no events.
    ///
    /// Pruning at a cutoff keeps, before it, only the latest creation or update of each check state alive then;
    /// everything else it keeps is at or after the cutoff. So the window starts no later than the earliest event
    /// that is not a creation or update, or that is the second event of its check state. Without a pruning it is
    /// the first event (a stream's creation comes first). When neither exists (a pruning left only the latest
    /// values of the check states alive at its cutoff, and nothing happened since), the record does not say where
    /// the cutoff was, only that it was at or before the processor clock: the window starts at `clock`, and is
    /// unknown (`nil`) without one.
    /// - Parameters:
    ///   - events: the events, oldest first.
    ///   - clock: the processor clock of the store they come from.
    public static func windowStart(of events: some Sequence<HealthEvent>, clock: Date? = nil) -> Date? {
        var earliest: Date?
        var seen = Set<TimeTravel.Fold.Key>()
        var any = false
        for event in events {
            any = true
            if event.kind == .checkStateCreated || event.kind == .checkStateUpdated,
                let key = TimeTravel.Fold.Key(event),
                seen.insert(key).inserted
            {
                continue
            }
            earliest = min(earliest ?? event.at, event.at)
        }
        guard any else { return nil }
        return earliest ?? clock
    }

    /// The start of the retained window of the whole record of `store`: ``windowStart(of:clock:)`` over its events
    /// and its clock, read oldest first in growing pages (the events before the window are at most one per live
    /// check state).
    /// - Throws: ``HealthSync/StorageError``.
    public static func windowStart(in store: any HealthStoreQueries) async throws -> Date? {
        var limit = 4_096
        while true {
            let events = try await store.events(EventQuery(limit: limit))
            if events.count < limit { return windowStart(of: events, clock: try await store.clock()) }
            if let start = windowStart(of: events) { return start }
            limit *= 8
        }
    }
}
