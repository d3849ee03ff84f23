import Foundation
import HealthSync

/// The labels of one check state's health series: what `healthsync_check_state_health` and the exports name it by.
///
/// A check state whose topology element changes starts a new series (its labels changed); the old one ends as a
/// deletion does.
public struct HealthSeries: Sendable, Hashable {
    /// The stream URN (label `urn`).
    public var urn: String
    /// The sub-stream id, `""` for main (label `sub_stream`).
    public var subStreamId: String
    /// The check-state id (label `check_state`).
    public var checkStateId: String
    /// The topology element identifier (label `element`).
    public var element: String

    /// Creates the labels of a series.
    public init(urn: String, subStreamId: String, checkStateId: String, element: String) {
        self.urn = urn
        self.subStreamId = subStreamId
        self.checkStateId = checkStateId
        self.element = element
    }

    /// The series of a stored check state.
    public init(_ state: StoredCheckState) {
        self.init(
            urn: state.key.urn, subStreamId: state.key.subStreamId, checkStateId: state.checkStateId,
            element: state.checkState.topologyElementIdentifier)
    }

    /// The series a check-state event is about; `nil` for other events.
    public init?(_ event: HealthEvent) {
        guard let state = event.checkState else { return nil }
        self.init(
            urn: event.urn, subStreamId: event.subStreamId, checkStateId: state.checkStateId,
            element: state.topologyElementIdentifier)
    }
}

/// One point of a health series: a value at a time.
///
/// Values are ordered as healths are: 0 CLEAR, 1 DEVIATING, 2 CRITICAL; a deleted check state is written as
/// ``deleted`` (-1), below every health, so that `max` over a stream ignores it and an alert on `== 2` ends at
/// the deletion.
public struct HealthSample: Sendable, Hashable {
    /// The value a deletion writes: -1.
    public static let deleted = -1

    /// The series.
    public var series: HealthSeries
    /// 0, 1 or 2 for a health; ``deleted`` when the check state was deleted.
    public var value: Int
    /// When the series took the value.
    public var at: Date

    /// Creates a sample.
    public init(series: HealthSeries, value: Int, at: Date) {
        self.series = series
        self.value = value
        self.at = at
    }

    /// The value of `health`: 0 CLEAR, 1 DEVIATING, 2 CRITICAL.
    public static func value(of health: Health) -> Int {
        switch health {
        case .clear: 0
        case .deviating: 1
        case .critical: 2
        }
    }

    /// The health the value stands for, as the wire spells it, or `DELETED` for ``deleted``: the string field
    /// `health` of the InfluxDB export.
    public var healthName: String {
        switch value {
        case 0: Health.clear.rawValue
        case 1: Health.deviating.rawValue
        case 2: Health.critical.rawValue
        default: "DELETED"
        }
    }
}
