import Foundation
import HealthSync

extension AuditAnalyzer {
    /// What the pass over the events learns about one check state. A class: the pass updates many of them through
    /// the dictionaries of their sub-stream.
    final class CheckStateAccumulator {
        let checkStateId: String
        var name: String
        var health: Health
        var alive = false
        var segmentStart: Date
        var seenInPeriod = false
        var segments: [CheckStateAudit.Segment] = []
        var transitions = 0
        var creations = 0
        var deletions = 0
        var suspiciousDeletions = 0
        var tracker: FlapDetection.Tracker
        var flappingSince: Date?
        var flappingPeriods: [TimeSpan] = []
        /// REPEAT_STATES: the next time the health is sampled as an observation.
        var nextSample: Date?

        init(checkState: CheckState, at time: Date, detection: FlapDetection) {
            checkStateId = checkState.checkStateId
            name = checkState.name
            health = checkState.health
            segmentStart = time
            tracker = FlapDetection.Tracker(detection: detection)
        }

        /// Ends the current segment at `time`, clipped to `period`.
        func closeSegment(at time: Date, in period: AuditReport.Period) {
            guard alive else { return }
            let from = max(segmentStart, period.from)
            let to = min(time, period.to)
            guard to > from else { return }
            if var last = segments.last, last.health == health, last.to == from {
                last.to = to
                segments[segments.count - 1] = last
            } else {
                segments.append(CheckStateAudit.Segment(from: from, to: to, health: health))
            }
        }

        /// Records `count` observations of the current health at `time`, following the flapping state.
        func observe(count: Int = 1, at time: Date, in period: AuditReport.Period) {
            let wasFlapping = tracker.isFlapping
            tracker.observe(health, count: count)
            guard tracker.isFlapping != wasFlapping else { return }
            if tracker.isFlapping {
                flappingSince = time
            } else if let since = flappingSince {
                addFlappingPeriod(from: since, to: time, in: period)
                flappingSince = nil
            }
        }

        func addFlappingPeriod(from: Date, to: Date?, in period: AuditReport.Period) {
            let start = max(from, period.from)
            let end = to.map { min($0, period.to) }
            if let end, end <= start, to != nil { return }
            flappingPeriods.append(TimeSpan(from: start, to: end))
        }

        func result(in period: AuditReport.Period, flapApplies: Bool) -> CheckStateAudit {
            var durations = CheckStateAudit.HealthDurations()
            for segment in segments { durations[segment.health] += segment.to.timeIntervalSince(segment.from) }
            let episodes = flappingPeriods.count
            return CheckStateAudit(
                checkStateId: checkStateId,
                name: name,
                health: alive ? health : nil,
                lastHealth: health,
                timeInHealth: durations,
                transitions: transitions,
                creations: creations,
                deletions: deletions,
                suspiciousDeletions: suspiciousDeletions,
                flap: flapApplies
                    ? CheckStateAudit.Flap(
                        score: tracker.score, maximum: tracker.maximum, flapping: tracker.isFlapping,
                        episodes: episodes, observations: tracker.observations)
                    : nil,
                flappingPeriods: flappingPeriods,
                segments: segments
            )
        }
    }

    /// What the pass learns about one error code on one sub-stream.
    struct ErrorAccumulator {
        var code: StreamErrorCode
        var streamLevel: Bool
        var episodes: [TimeSpan] = []
        var message: String?
    }

    /// A deletion waiting to see whether its check state comes back.
    struct PendingDeletion {
        var at: Date
        var reason: DeletionReason
        var name: String
        var startedBefore: Int
    }

    /// What the pass learns about one sub-stream.
    final class SubStreamAccumulator {
        let key: StreamKey
        var exists = false
        var checkStates: [String: CheckStateAccumulator] = [:]
        var alive: [String: CheckStateAccumulator] = [:]
        var snapshots = SubStreamAudit.Snapshots()
        var startedTotal = 0
        var lastStartedAt: Date?
        /// When the late deadline is measured from: the last completion, or the creation before the first one.
        var lateBase: Date?
        var lastCompletion: Date?
        var cadence: [Double] = []
        var lateWindows: [SubStreamAudit.LateWindow] = []
        var missingStops: [SubStreamAudit.MissingStop] = []
        var expiries: [SubStreamAudit.Expiry] = []
        var errors: [String: ErrorAccumulator] = [:]
        var suspicious: [SubStreamAudit.SuspiciousDeletion] = []
        var pendingDeletions: [String: PendingDeletion] = [:]
        var autoStopDeletions: [String] = []
        var expiryDeletions: [String] = []

        init(key: StreamKey) {
            self.key = key
        }
    }
}
