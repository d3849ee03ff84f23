import Foundation
import HealthSync

extension AuditReport {
    /// A check state that is not `CLEAR` at the end of the period.
    public struct UnhealthyCheckState: Sendable, Hashable {
        /// Its stream.
        public var urn: String
        /// Its sub-stream (`nil` for main).
        public var subStreamId: String?
        /// Its id.
        public var checkStateId: String
        /// Its latest name.
        public var name: String
        /// Its health at the end.
        public var health: Health
        /// Since when it has had that health without a break (within the period), when known.
        public var since: Date?
    }

    /// The health of every check state at the end of the period: what the report leads with.
    public struct HealthNow: Sendable, Hashable {
        /// Check states `CLEAR` at the end.
        public var clear = 0
        /// Check states `DEVIATING` at the end.
        public var deviating = 0
        /// Check states `CRITICAL` at the end.
        public var critical = 0
        /// The `CRITICAL` ones first, then the `DEVIATING` ones, each longest in that health first.
        public var unhealthy: [UnhealthyCheckState] = []

        /// Check states that exist at the end.
        public var total: Int { clear + deviating + critical }
    }

    /// The health of every check state at the end of the period, from the streams' audits.
    public var healthNow: HealthNow {
        var now = HealthNow()
        for stream in streams {
            for sub in stream.subStreams {
                for state in sub.checkStates {
                    guard let health = state.health else { continue }
                    switch health {
                    case .clear:
                        now.clear += 1
                        continue
                    case .deviating: now.deviating += 1
                    case .critical: now.critical += 1
                    }
                    now.unhealthy.append(
                        UnhealthyCheckState(
                            urn: stream.urn, subStreamId: sub.subStreamId, checkStateId: state.checkStateId,
                            name: state.name, health: health, since: state.healthSince))
                }
            }
        }
        now.unhealthy = now.unhealthy.enumerated().sorted { lhs, rhs in
            let (left, right) = (lhs.element, rhs.element)
            if left.health != right.health { return left.health == .critical }
            if left.since != right.since { return (left.since ?? .distantPast) < (right.since ?? .distantPast) }
            return lhs.offset < rhs.offset
        }.map(\.element)
        return now
    }
}

extension CheckStateAudit {
    /// Since when it has had its health at the end without a break, from its segments; `nil` when it does not exist
    /// at the end.
    var healthSince: Date? {
        guard let health else { return nil }
        var since: Date?
        for segment in segments.reversed() {
            guard segment.health == health, since.map({ segment.to >= $0 }) ?? true else { break }
            since = segment.from
        }
        return since
    }
}
