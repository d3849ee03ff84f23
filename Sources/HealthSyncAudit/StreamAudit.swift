import Foundation
import HealthSync

/// The audit of one stream: its model and its sub-streams.
public struct StreamAudit: Sendable, Hashable, Codable {
    /// The stream URN.
    public var urn: String
    /// Its consistency model, when known (from the store or its `streamCreated` event).
    public var consistencyModel: ConsistencyModel?
    /// Its sub-streams, main first, then by id; including sub-streams that only appear in errors.
    public var subStreams: [SubStreamAudit]

    /// Creates a stream audit.
    public init(urn: String, consistencyModel: ConsistencyModel?, subStreams: [SubStreamAudit]) {
        self.urn = urn
        self.consistencyModel = consistencyModel
        self.subStreams = subStreams
    }

    private enum CodingKeys: String, CodingKey {
        case urn, consistencyModel, subStreams
    }

    /// Encodes every key, absent values as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(urn, forKey: .urn)
        try container.encode(consistencyModel, forKey: .consistencyModel)
        try container.encode(subStreams, forKey: .subStreams)
    }
}

/// An interval of time; ``to`` is `nil` while it is still going on at the end of the audited period.
public struct TimeSpan: Sendable, Hashable, Codable {
    /// Its start.
    public var from: Date
    /// Its end, or `nil` when it lasts past the audited period.
    public var to: Date?

    /// Creates a span.
    public init(from: Date, to: Date?) {
        self.from = from
        self.to = to
    }

    private enum CodingKeys: String, CodingKey {
        case from, to
    }

    /// Encodes every key, absent values as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
    }
}

/// The audit of one sub-stream.
public struct SubStreamAudit: Sendable, Hashable, Codable {
    /// How its snapshots went (REPEAT_SNAPSHOTS).
    public struct Snapshots: Sendable, Hashable, Codable {
        /// Snapshots started.
        public var started = 0
        /// Snapshots completed by a `stop_snapshot`.
        public var completed = 0
        /// Completed snapshots that were clean (SPEC §6).
        public var clean = 0
        /// Snapshots abandoned by a `start_snapshot` while open.
        public var abandoned = 0
        /// Snapshots stopped automatically (missing stop).
        public var automaticallyStopped = 0

        /// Creates zero counts.
        public init() {}
    }

    /// The spacing of completed snapshots: statistics of the intervals between consecutive `snapshotCompleted`
    /// events, in seconds.
    public struct Cadence: Sendable, Hashable, Codable {
        /// How many intervals (one fewer than the completions they lie between).
        public var intervals: Int
        /// The shortest.
        public var minimum: Double
        /// The median (the mean of the two middle values for an even count).
        public var median: Double
        /// The 95th percentile (nearest rank: the smallest value with at least 95 % of the intervals at or below).
        public var p95: Double
        /// The longest.
        public var maximum: Double

        /// Statistics of `intervals`, or `nil` when there are none.
        public init?(_ intervals: [Double]) {
            guard !intervals.isEmpty else { return nil }
            let sorted = intervals.sorted()
            let count = sorted.count
            self.intervals = count
            minimum = sorted[0]
            maximum = sorted[count - 1]
            median = count % 2 == 1 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2
            let rank = Int((0.95 * Double(count)).rounded(.up))
            p95 = sorted[max(0, min(count, rank) - 1)]
        }
    }

    /// A period in which the source was late: from the deadline `lastCompleted + repeat + lateGrace` (before the
    /// first completion: the sub-stream's creation + repeat + lateGrace) to the next completion.
    public struct LateWindow: Sendable, Hashable, Codable {
        /// When the deadline passed (clipped to the audited period).
        public var from: Date
        /// When the next snapshot completed, or the end of the audited period.
        public var to: Date
        /// Its length in seconds.
        public var length: Double
        /// How many repeat intervals were missed in it (`SubStreamLateData` raises), when the repeat is known.
        public var missedDeadlines: Int?
        /// Whether it was still open at the end of the audited period.
        public var open: Bool

        /// Creates a window.
        public init(from: Date, to: Date, missedDeadlines: Int?, open: Bool) {
            self.from = from
            self.to = to
            length = to.timeIntervalSince(from)
            self.missedDeadlines = missedDeadlines
            self.open = open
        }

        private enum CodingKeys: String, CodingKey {
            case from, to, length, missedDeadlines, open
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(from, forKey: .from)
            try container.encode(to, forKey: .to)
            try container.encode(length, forKey: .length)
            try container.encode(missedDeadlines, forKey: .missedDeadlines)
            try container.encode(open, forKey: .open)
        }
    }

    /// A snapshot that got no `stop_snapshot` and was stopped automatically at `startedAt + 2 × repeat`.
    public struct MissingStop: Sendable, Hashable, Codable {
        /// When it was stopped (the timer's deadline).
        public var at: Date
        /// When the snapshot started, when the record still has it.
        public var snapshotStartedAt: Date?
        /// The check states the automatic stop's diff deleted, sorted.
        public var deletedCheckStateIds: [String]

        /// Creates a missing stop.
        public init(at: Date, snapshotStartedAt: Date?, deletedCheckStateIds: [String]) {
            self.at = at
            self.snapshotStartedAt = snapshotStartedAt
            self.deletedCheckStateIds = deletedCheckStateIds
        }

        private enum CodingKeys: String, CodingKey {
            case at, snapshotStartedAt, deletedCheckStateIds
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(at, forKey: .at)
            try container.encode(snapshotStartedAt, forKey: .snapshotStartedAt)
            try container.encode(deletedCheckStateIds, forKey: .deletedCheckStateIds)
        }
    }

    /// An expiry: of the sub-stream (with the check states it took along), or of check states (REPEAT_STATES).
    public struct Expiry: Sendable, Hashable, Codable {
        /// What expired.
        public enum Kind: String, Sendable, Hashable, Codable {
            /// The sub-stream got no message for `expiry_interval_s` and was removed.
            case subStream
            /// Check states not seen for `expiry_interval_s` (REPEAT_STATES) were deleted.
            case checkStates
        }

        /// What expired.
        public var kind: Kind
        /// When (the timer's deadline).
        public var at: Date
        /// The check states deleted, sorted.
        public var checkStateIds: [String]

        /// Creates an expiry.
        public init(kind: Kind, at: Date, checkStateIds: [String]) {
            self.kind = kind
            self.at = at
            self.checkStateIds = checkStateIds
        }
    }

    /// The history of one error code on the sub-stream (or at stream level, naming it).
    public struct ErrorHistory: Sendable, Hashable, Codable {
        /// The code.
        public var code: StreamErrorCode
        /// `ERROR` or `WARN`.
        public var level: ErrorLevel
        /// Whether the error is recorded at stream level (naming this sub-stream).
        public var streamLevel: Bool
        /// How many times it was raised, as far as the record tells (see `Docs/audit.md`).
        public var count: Int
        /// Each time it was open: from its `errorOpened` to its `errorClosed` (`to` `nil`: still open).
        public var episodes: [TimeSpan]
        /// The latest message.
        public var message: String?

        /// Creates an error history.
        public init(
            code: StreamErrorCode, level: ErrorLevel, streamLevel: Bool, count: Int, episodes: [TimeSpan],
            message: String?
        ) {
            self.code = code
            self.level = level
            self.streamLevel = streamLevel
            self.count = count
            self.episodes = episodes
            self.message = message
        }

        /// Whether it is still open at the end of the audited period.
        public var isOpen: Bool { episodes.last.map { $0.to == nil } ?? false }

        /// The first time it opened in (or before) the period.
        public var firstAt: Date? { episodes.first?.from }

        private enum CodingKeys: String, CodingKey {
            case code, level, streamLevel, count, episodes, message
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(code, forKey: .code)
            try container.encode(level, forKey: .level)
            try container.encode(streamLevel, forKey: .streamLevel)
            try container.encode(count, forKey: .count)
            try container.encode(episodes, forKey: .episodes)
            try container.encode(message, forKey: .message)
        }
    }

    /// A check state deleted by a snapshot diff or an automatic stop that came back within a few snapshots: the
    /// classic sign of a truncated snapshot.
    public struct SuspiciousDeletion: Sendable, Hashable, Codable {
        /// The check state.
        public var checkStateId: String
        /// Its name.
        public var name: String
        /// When it was deleted.
        public var deletedAt: Date
        /// Why: ``HealthSync/DeletionReason/snapshotDiff`` or ``HealthSync/DeletionReason/automaticStop``.
        public var reason: DeletionReason
        /// When it was created again.
        public var cameBackAt: Date
        /// In which snapshot after the deletion it came back (1: the next one).
        public var snapshotsLater: Int

        /// Creates a suspicious deletion.
        public init(
            checkStateId: String, name: String, deletedAt: Date, reason: DeletionReason, cameBackAt: Date,
            snapshotsLater: Int
        ) {
            self.checkStateId = checkStateId
            self.name = name
            self.deletedAt = deletedAt
            self.reason = reason
            self.cameBackAt = cameBackAt
            self.snapshotsLater = snapshotsLater
        }
    }

    /// The sub-stream id, `nil` for main.
    public var subStreamId: String?
    /// The declared repeat interval in seconds, when known.
    public var repeatInterval: Int?
    /// The declared expiry interval in seconds (`nil`: none or unknown).
    public var expiryInterval: Int?
    /// Its snapshots in the period.
    public var snapshots: Snapshots
    /// The cadence of completed snapshots (REPEAT_SNAPSHOTS with at least two completions in the period).
    public var cadence: Cadence?
    /// Late windows, oldest first.
    public var lateWindows: [LateWindow]
    /// Automatic stops, oldest first.
    public var missingStops: [MissingStop]
    /// Expiries, oldest first.
    public var expiries: [Expiry]
    /// Error histories: stream-level ones first, then by code.
    public var errors: [ErrorHistory]
    /// Suspicious deletions, oldest first.
    public var suspiciousDeletions: [SuspiciousDeletion]
    /// Check states seen in the period, sorted by id.
    public var checkStates: [CheckStateAudit]

    /// Creates a sub-stream audit.
    public init(
        subStreamId: String?,
        repeatInterval: Int?,
        expiryInterval: Int?,
        snapshots: Snapshots,
        cadence: Cadence?,
        lateWindows: [LateWindow],
        missingStops: [MissingStop],
        expiries: [Expiry],
        errors: [ErrorHistory],
        suspiciousDeletions: [SuspiciousDeletion],
        checkStates: [CheckStateAudit]
    ) {
        self.subStreamId = subStreamId
        self.repeatInterval = repeatInterval
        self.expiryInterval = expiryInterval
        self.snapshots = snapshots
        self.cadence = cadence
        self.lateWindows = lateWindows
        self.missingStops = missingStops
        self.expiries = expiries
        self.errors = errors
        self.suspiciousDeletions = suspiciousDeletions
        self.checkStates = checkStates
    }

    /// `main` or the sub-stream id, for people.
    public var displayName: String { subStreamId ?? "main" }

    private enum CodingKeys: String, CodingKey {
        case subStreamId, repeatInterval, expiryInterval, snapshots, cadence, lateWindows, missingStops, expiries
        case errors, suspiciousDeletions, checkStates
    }

    /// Encodes every key, absent values as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(subStreamId, forKey: .subStreamId)
        try container.encode(repeatInterval, forKey: .repeatInterval)
        try container.encode(expiryInterval, forKey: .expiryInterval)
        try container.encode(snapshots, forKey: .snapshots)
        try container.encode(cadence, forKey: .cadence)
        try container.encode(lateWindows, forKey: .lateWindows)
        try container.encode(missingStops, forKey: .missingStops)
        try container.encode(expiries, forKey: .expiries)
        try container.encode(errors, forKey: .errors)
        try container.encode(suspiciousDeletions, forKey: .suspiciousDeletions)
        try container.encode(checkStates, forKey: .checkStates)
    }
}
