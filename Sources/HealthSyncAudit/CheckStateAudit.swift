import Foundation
import HealthSync

/// The audit of one check state over the period.
public struct CheckStateAudit: Sendable, Hashable, Codable {
    /// A stretch of time with one health.
    public struct Segment: Sendable, Hashable, Codable {
        /// Its start.
        public var from: Date
        /// Its end.
        public var to: Date
        /// The health in it.
        public var health: Health

        /// Creates a segment.
        public init(from: Date, to: Date, health: Health) {
            self.from = from
            self.to = to
            self.health = health
        }
    }

    /// Seconds spent in each health (time without the check state is in none).
    public struct HealthDurations: Sendable, Hashable, Codable {
        /// Seconds `CLEAR`.
        public var clear = 0.0
        /// Seconds `DEVIATING`.
        public var deviating = 0.0
        /// Seconds `CRITICAL`.
        public var critical = 0.0

        /// Creates zero durations.
        public init() {}

        /// The seconds of one health.
        public subscript(health: Health) -> Double {
            get {
                switch health {
                case .clear: clear
                case .deviating: deviating
                case .critical: critical
                }
            }
            set {
                switch health {
                case .clear: clear = newValue
                case .deviating: deviating = newValue
                case .critical: critical = newValue
                }
            }
        }

        /// The seconds the check state existed.
        public var total: Double { clear + deviating + critical }
    }

    /// The flap score (``FlapDetection``) over the check state's observations.
    public struct Flap: Sendable, Hashable, Codable {
        /// The score after the last observation, in percent.
        public var score: Double
        /// The highest score in the period.
        public var maximum: Double
        /// Whether it is flapping at the end.
        public var flapping: Bool
        /// How many times it started flapping in the period.
        public var episodes: Int
        /// How many observations there were (before and in the period).
        public var observations: Int

        /// Creates a flap summary.
        public init(score: Double, maximum: Double, flapping: Bool, episodes: Int, observations: Int) {
            self.score = score
            self.maximum = maximum
            self.flapping = flapping
            self.episodes = episodes
            self.observations = observations
        }
    }

    /// The check state id.
    public var checkStateId: String
    /// Its latest name.
    public var name: String
    /// Its health at the end of the period, `nil` when it did not exist then.
    public var health: Health?
    /// Its last known health.
    public var lastHealth: Health
    /// Time in each health.
    public var timeInHealth: HealthDurations
    /// Changes of health in the period (updates that changed the health).
    public var transitions: Int
    /// Times it was created in the period.
    public var creations: Int
    /// Times it was deleted in the period.
    public var deletions: Int
    /// Its suspicious deletions in the period.
    public var suspiciousDeletions: Int
    /// Its flap score; `nil` for TRANSACTIONAL_INCREMENTS and when the declared repeat interval of a REPEAT_STATES
    /// sub-stream is unknown (see `Docs/audit.md`).
    public var flap: Flap?
    /// When it was flapping, clipped to the period.
    public var flappingPeriods: [TimeSpan]
    /// Its health over the period, oldest first; gaps are times it did not exist.
    public var segments: [Segment]

    /// Creates a check-state audit.
    public init(
        checkStateId: String,
        name: String,
        health: Health?,
        lastHealth: Health,
        timeInHealth: HealthDurations,
        transitions: Int,
        creations: Int,
        deletions: Int,
        suspiciousDeletions: Int,
        flap: Flap?,
        flappingPeriods: [TimeSpan],
        segments: [Segment]
    ) {
        self.checkStateId = checkStateId
        self.name = name
        self.health = health
        self.lastHealth = lastHealth
        self.timeInHealth = timeInHealth
        self.transitions = transitions
        self.creations = creations
        self.deletions = deletions
        self.suspiciousDeletions = suspiciousDeletions
        self.flap = flap
        self.flappingPeriods = flappingPeriods
        self.segments = segments
    }

    /// Whether it flapped at some point of the period.
    public var flapped: Bool { !flappingPeriods.isEmpty }

    /// Whether anything about it is worth a look: it flapped, had a suspicious deletion, changed health, was
    /// deleted, spent time in a health other than `CLEAR`, or ends in one.
    public var isNotable: Bool {
        flapped || suspiciousDeletions > 0 || transitions > 0 || deletions > 0 || timeInHealth.deviating > 0
            || timeInHealth.critical > 0 || (health.map { $0 != .clear } ?? false)
    }

    private enum CodingKeys: String, CodingKey {
        case checkStateId, name, health, lastHealth, timeInHealth, transitions, creations, deletions
        case suspiciousDeletions, flap, flappingPeriods, segments
    }

    /// Encodes every key, absent values as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(checkStateId, forKey: .checkStateId)
        try container.encode(name, forKey: .name)
        try container.encode(health, forKey: .health)
        try container.encode(lastHealth, forKey: .lastHealth)
        try container.encode(timeInHealth, forKey: .timeInHealth)
        try container.encode(transitions, forKey: .transitions)
        try container.encode(creations, forKey: .creations)
        try container.encode(deletions, forKey: .deletions)
        try container.encode(suspiciousDeletions, forKey: .suspiciousDeletions)
        try container.encode(flap, forKey: .flap)
        try container.encode(flappingPeriods, forKey: .flappingPeriods)
        try container.encode(segments, forKey: .segments)
    }
}
