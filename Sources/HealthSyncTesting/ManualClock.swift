import Foundation
import HealthSync
import Synchronization

/// A ``HealthSync/HealthClock`` that moves only when a test moves it.
///
/// ```swift
/// let clock = ManualClock(Date(timeIntervalSince1970: 1_700_000_000))
/// clock.advance(by: 60)
/// #expect(clock.now == Date(timeIntervalSince1970: 1_700_000_060))
/// ```
///
/// It is safe to share between tasks: the time is kept in a `Mutex`.
public final class ManualClock: HealthClock {
    private let current: Mutex<Date>

    /// Creates a clock that reads `start` until it is moved.
    public init(_ start: Date) {
        current = Mutex(start)
    }

    /// The current time of the clock.
    public var now: Date { current.withLock { $0 } }

    /// Moves the clock by `interval` seconds (backwards when negative).
    public func advance(by interval: TimeInterval) {
        current.withLock { $0.addTimeInterval(interval) }
    }

    /// Sets the clock to `date`, earlier or later than now.
    public func set(_ date: Date) {
        current.withLock { $0 = date }
    }
}
