import Foundation
import HealthSync
import HealthSyncAudit

/// A deterministic event record of one REPEAT_SNAPSHOTS sub-stream with many check states, written directly as
/// events (what the processor would record), for report-size tests that would take long through the processor.
enum SyntheticHistory {
    static let urn = "urn:health:synthetic:large"

    /// `checkStates` check states snapshotted every `interval` seconds `snapshots` times from `start`; the check
    /// states whose index is below `changing` alternate between CLEAR and DEVIATING every `period` snapshots (offset
    /// by their index); the others stay CLEAR.
    static func events(
        checkStates: Int,
        snapshots: Int,
        changing: Int,
        period: Int = 7,
        interval: Double = 60,
        start: Date = Date(timeIntervalSince1970: 1_900_900_000)
    ) -> [HealthEvent] {
        var events: [HealthEvent] = []
        var sequence: Int64 = 0
        func add(
            _ at: Date, _ kind: HealthEvent.Kind, _ state: CheckState? = nil, previous: Health? = nil,
            detail: String? = nil
        ) {
            sequence += 1
            events.append(
                HealthEvent(
                    sequence: sequence, at: at, kind: kind, urn: urn, subStreamId: "", checkState: state,
                    previousHealth: previous, detail: detail))
        }
        func state(_ index: Int, _ health: Health) -> CheckState {
            CheckState(
                checkStateId: String(format: "check-%04d", index), name: "check \(index)", health: health,
                topologyElementIdentifier: "urn:host:/\(index)")
        }
        var healths = Array(repeating: Health.clear, count: checkStates)
        add(start, .streamCreated, detail: ConsistencyModel.repeatSnapshots.rawValue)
        add(start, .subStreamCreated)
        for snapshot in 0..<snapshots {
            let at = start.addingTimeInterval(Double(snapshot) * interval)
            add(at, .snapshotStarted, detail: "snapshot \(snapshot + 1)")
            if snapshot == 0 {
                for index in 0..<checkStates { add(at, .checkStateCreated, state(index, .clear)) }
            } else {
                for index in 0..<changing where (snapshot + index) % period == 0 {
                    let previous = healths[index]
                    healths[index] = previous == .clear ? .deviating : .clear
                    add(at, .checkStateUpdated, state(index, healths[index]), previous: previous)
                }
            }
            add(at, .snapshotCompleted, detail: "clean")
        }
        return events
    }

    /// An audit input over ``events(checkStates:snapshots:changing:period:interval:start:)``, repeat `interval`.
    static func input(checkStates: Int, snapshots: Int, changing: Int, period: Int = 7) -> AuditInput {
        let events = events(checkStates: checkStates, snapshots: snapshots, changing: changing, period: period)
        let from = events.first?.at ?? Date(timeIntervalSince1970: 0)
        let to = (events.last?.at ?? from).addingTimeInterval(30)
        return AuditInput(
            source: "synthetic",
            events: events,
            period: AuditReport.Period(from: from, to: to),
            consistencyModels: [urn: .repeatSnapshots],
            intervals: [StreamKey.main(urn): Intervals(repeatInterval: 60)]
        )
    }
}
