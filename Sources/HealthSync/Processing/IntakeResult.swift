import Foundation

/// What applying one envelope did.
public struct IntakeResult: Sendable, Hashable {
    /// The processor time the envelope was applied at (`nil` when it was not applied).
    public var appliedAt: Date?
    /// How many messages were applied (messages ignored by the model lock count as applied: they are not
    /// rejections).
    public var messagesApplied: Int
    /// Messages rejected at SPEC §2 level 2, with path and reason.
    public var rejections: [PayloadError]
    /// Strict-mode findings.
    public var warnings: [PayloadError]
    /// What the envelope's messages changed.
    public var counts: ChangeCounts
    /// What the timers due before the envelope did.
    public var timers: SweepResult?
    /// The envelope's receipt was committed before; nothing was applied this time.
    public var alreadyApplied: Bool

    /// Creates a result.
    public init(
        appliedAt: Date? = nil,
        messagesApplied: Int = 0,
        rejections: [PayloadError] = [],
        warnings: [PayloadError] = [],
        counts: ChangeCounts = ChangeCounts(),
        timers: SweepResult? = nil,
        alreadyApplied: Bool = false
    ) {
        self.appliedAt = appliedAt
        self.messagesApplied = messagesApplied
        self.rejections = rejections
        self.warnings = warnings
        self.counts = counts
        self.timers = timers
        self.alreadyApplied = alreadyApplied
    }

    /// How many messages were rejected.
    public var messagesRejected: Int { rejections.count }
}

/// What advancing the clock did.
public struct SweepResult: Sendable, Hashable {
    /// The clock after the sweep.
    public var clock: Date
    /// How many timers fired. A run of missed repeat intervals of one sub-stream fires one late-data timer, which
    /// counts them all (``missedPeriods``).
    public var timersFired: Int
    /// How many missed repeat intervals the late-data timers counted: `SubStreamLateData` is raised once per missed
    /// interval (SPEC §3), so a stream silent for a day at a 60 s interval counts 1,440.
    public var missedPeriods: Int
    /// What the timers changed.
    public var counts: ChangeCounts

    /// Creates a result.
    public init(clock: Date, timersFired: Int = 0, missedPeriods: Int = 0, counts: ChangeCounts = ChangeCounts()) {
        self.clock = clock
        self.timersFired = timersFired
        self.missedPeriods = missedPeriods
        self.counts = counts
    }

    /// Adds what `other` fired, counted and changed (the clock stays).
    public mutating func add(_ other: SweepResult) {
        timersFired += other.timersFired
        missedPeriods += other.missedPeriods
        counts += other.counts
    }
}
