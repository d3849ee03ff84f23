import Foundation

/// A source of the current time for the outer layers (intake, CLI). Processing itself takes `now` as a parameter.
public protocol HealthClock: Sendable {
    /// The current time.
    var now: Date { get }
}

/// Wall-clock time.
public struct SystemClock: HealthClock {
    /// Creates a system clock.
    public init() {}

    /// The current wall-clock time.
    public var now: Date { Date() }
}
