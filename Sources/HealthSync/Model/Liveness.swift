import Foundation

/// A source's promise to report its check states again within an interval: the liveness of a sub-stream.
///
/// Liveness is opt-in: a REPEAT_STATES message that carries it (``HealthMessage/liveness``) makes the check states it
/// upserts *live*. A live check state not refreshed within ``interval`` plus ``grace`` seconds turns `CRITICAL` at
/// that deadline (a `checkStateUpdated` event whose detail starts with "no report within"); the next report sets
/// the reported health again. Expiry still removes the check state later. StackState envelopes never carry
/// liveness; the status-reporter and metric translations set it.
public struct Liveness: Sendable, Hashable {
    /// The seconds the source promises between two reports, at least 1.
    public var interval: Int
    /// The seconds of silence tolerated beyond ``interval`` before the check state turns `CRITICAL`, at least 0.
    public var grace: Int
    /// The check states of the message the promise covers; `nil` for every check state the message upserts.
    public var checkStateIds: Set<String>?

    /// Creates a liveness promise.
    public init(interval: Int, grace: Int, checkStateIds: Set<String>? = nil) {
        self.interval = interval
        self.grace = grace
        self.checkStateIds = checkStateIds
    }

    /// Whether the promise covers the check state `id`.
    public func covers(_ id: String) -> Bool { checkStateIds?.contains(id) ?? true }
}

/// The liveness of one stored check state: the interval and grace its latest report promised, and when silence
/// turned it `CRITICAL`.
public struct CheckStateLiveness: Sendable, Hashable {
    /// The seconds the latest report promised until the next.
    public var interval: Int
    /// The seconds of silence tolerated beyond ``interval``.
    public var grace: Int
    /// When the check state turned `CRITICAL` for silence, `nil` while it shows its reported health. Equal to
    /// ``deadline(after:)`` of its `lastSeenAt` once set.
    public var silencedAt: Date?

    /// Creates the liveness of a check state.
    public init(interval: Int, grace: Int, silencedAt: Date? = nil) {
        self.interval = interval
        self.grace = grace
        self.silencedAt = silencedAt
    }

    /// The time at which a check state last seen at `lastSeenAt` turns `CRITICAL`: `lastSeenAt + interval + grace`.
    public func deadline(after lastSeenAt: Date) -> Date {
        lastSeenAt.addingTimeInterval(TimeInterval(interval + grace))
    }
}
