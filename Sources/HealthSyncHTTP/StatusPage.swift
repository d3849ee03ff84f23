import Foundation
import HealthSync

/// What the status page shows, read once per request: the body of `GET /status.json` and the content `GET /status`
/// renders. Times are epoch seconds, as in the status API; keys whose value is absent are explicit `null`s.
///
/// Streams, sub-streams and check states are sorted worst first (CRITICAL, DEVIATING, CLEAR), then by id; the main
/// sub-stream has the `subStreamId` `null`.
struct StatusPage: Encodable, Sendable {
    /// The words a status page uses for the worst health: `operational` (all CLEAR, or no check states, and no open
    /// error), `degraded` (a DEVIATING check state, or an open error while all are CLEAR) or `outage` (a CRITICAL
    /// check state).
    enum Overall: String, Encodable, Sendable {
        case operational, degraded, outage
    }

    /// How many check states have each health: `{"CLEAR": n, "DEVIATING": n, "CRITICAL": n}`.
    struct Counts: Encodable, Sendable, Equatable {
        var clear = 0
        var deviating = 0
        var critical = 0

        mutating func add(_ health: Health) {
            switch health {
            case .clear: clear += 1
            case .deviating: deviating += 1
            case .critical: critical += 1
            }
        }

        mutating func add(_ other: Counts) {
            clear += other.clear
            deviating += other.deviating
            critical += other.critical
        }

        /// The worst health counted, or `nil` when none is.
        var worst: Health? {
            critical > 0 ? .critical : deviating > 0 ? .deviating : clear > 0 ? .clear : nil
        }

        enum CodingKeys: String, CodingKey {
            case clear = "CLEAR"
            case deviating = "DEVIATING"
            case critical = "CRITICAL"
        }
    }

    /// One check state.
    struct CheckStateItem: Encodable, Sendable {
        var checkStateId: String
        var name: String
        var health: Health
        var topologyElementIdentifier: String
        @ExplicitNull var message: String?
        /// When it took its health, as far back as the event window reaches; `null` when earlier.
        @ExplicitNull var since: Double?
        var lastSeenAt: Double
    }

    /// One sub-stream.
    struct SubStreamItem: Encodable, Sendable {
        @ExplicitNull var subStreamId: String?
        @ExplicitNull var worstHealth: Health?
        var counts: Counts
        var lastMessageAt: Double
        var checkStates: [CheckStateItem]
    }

    /// One stream.
    struct StreamItem: Encodable, Sendable {
        var urn: String
        var consistencyModel: String
        @ExplicitNull var worstHealth: Health?
        var counts: Counts
        var subStreams: [SubStreamItem]
    }

    /// A late or dead source, or another open error.
    struct Problem: Encodable, Sendable {
        /// `late` (SubStreamLateData), `dead` (SubStreamExpired) or `error` (any other open error).
        var kind: String
        var urn: String
        @ExplicitNull var subStreamId: String?
        var errorCode: String
        var level: String
        var message: String
        var count: Int64
        /// When it opened.
        var since: Double
        var lastSeenAt: Double
    }

    /// One change from the event record.
    struct Change: Encodable, Sendable {
        var at: Double
        var kind: String
        var urn: String
        @ExplicitNull var subStreamId: String?
        @ExplicitNull var checkStateId: String?
        @ExplicitNull var name: String?
        @ExplicitNull var health: Health?
        /// Why it happened, as `healthsync history` says it: `CLEAR → CRITICAL`, `deleted by snapshot diff`, …
        var explanation: String
    }

    var title: String
    var generatedAt: Double
    var status: Overall
    @ExplicitNull var worstHealth: Health?
    var counts: Counts
    var streams: [StreamItem]
    var problems: [Problem]
    var changes: [Change]
}

extension StatusPage {
    /// Builds the page from what the store holds.
    /// - Parameters:
    ///   - summaries: the streams shown.
    ///   - statuses: their statuses (sub-streams and open errors), by URN.
    ///   - states: their check states.
    ///   - events: the event record over the window, oldest first.
    init(
        configuration: StatusPageConfiguration,
        now: Date,
        summaries: [StreamSummary],
        statuses: [String: HealthSync.StreamStatus],
        states: [StoredCheckState],
        events: [HealthEvent]
    ) {
        var since: [CheckStatePosition: Date] = [:]
        for event in events {
            guard let state = event.checkState else { continue }
            let position = CheckStatePosition(
                key: StreamKey(urn: event.urn, subStreamId: event.subStreamId), checkStateId: state.checkStateId)
            switch event.kind {
            case .checkStateCreated:
                since[position] = event.at
            case .checkStateUpdated where event.previousHealth != nil && event.previousHealth != state.health:
                since[position] = event.at
            default:
                break
            }
        }

        var statesByKey: [StreamKey: [StoredCheckState]] = [:]
        for state in states {
            statesByKey[state.key, default: []].append(state)
        }

        func rankedFirst(_ lhs: Health?, _ rhs: Health?) -> Bool? {
            guard lhs != rhs else { return nil }
            guard let lhs else { return false }
            guard let rhs else { return true }
            return rhs < lhs
        }

        var total = Counts()
        var items: [StreamItem] = []
        var problems: [Problem] = []
        for summary in summaries {
            let status = statuses[summary.urn]
            var streamCounts = Counts()
            var subStreams: [SubStreamItem] = []
            for subStream in status?.subStreams ?? [] {
                let key = subStream.record.key
                var counts = Counts()
                var checkStates: [CheckStateItem] = []
                let held = statesByKey[key] ?? []
                checkStates.reserveCapacity(held.count)
                for state in held {
                    counts.add(state.checkState.health)
                    checkStates.append(
                        CheckStateItem(
                            checkStateId: state.checkStateId, name: state.checkState.name,
                            health: state.checkState.health,
                            topologyElementIdentifier: state.checkState.topologyElementIdentifier,
                            message: state.checkState.message,
                            since: since[CheckStatePosition(key: key, checkStateId: state.checkStateId)]?
                                .timeIntervalSince1970,
                            lastSeenAt: state.lastSeenAt.timeIntervalSince1970))
                }
                checkStates.sort {
                    rankedFirst($0.health, $1.health)
                        ?? $0.checkStateId.utf8.lexicographicallyPrecedes(
                            $1.checkStateId.utf8)
                }
                streamCounts.add(counts)
                subStreams.append(
                    SubStreamItem(
                        subStreamId: key.publicSubStreamId, worstHealth: counts.worst, counts: counts,
                        lastMessageAt: subStream.record.lastMessageAt.timeIntervalSince1970, checkStates: checkStates))
                problems += subStream.errors.map { Problem($0) }
            }
            // Sorted worst first; the store lists main first, and a stable sort keeps that order among equals.
            subStreams = stableSorted(subStreams) { rankedFirst($0.worstHealth, $1.worstHealth) ?? false }
            problems += (status?.errors ?? []).map { Problem($0) }
            total.add(streamCounts)
            items.append(
                StreamItem(
                    urn: summary.urn, consistencyModel: summary.consistencyModel.rawValue,
                    worstHealth: streamCounts.worst, counts: streamCounts, subStreams: subStreams))
        }
        items = stableSorted(items) { rankedFirst($0.worstHealth, $1.worstHealth) ?? false }
        problems.sort { $0.since > $1.since }

        let shown = Set(summaries.map(\.urn))
        var changes: [Change] = []
        for event in events.reversed() where shown.contains(event.urn) && event.isNotable {
            changes.append(Change(event))
            if changes.count >= configuration.maximumChanges { break }
        }

        title = configuration.title
        generatedAt = now.timeIntervalSince1970
        worstHealth = total.worst
        counts = total
        switch total.worst {
        case .critical: status = .outage
        case .deviating: status = .degraded
        case .clear, nil: status = problems.isEmpty ? .operational : .degraded
        }
        streams = items
        self.problems = problems
        self.changes = changes
    }
}

/// `elements` sorted by `areInIncreasingOrder`, equal elements in their original order.
private func stableSorted<T>(_ elements: [T], by areInIncreasingOrder: (T, T) -> Bool) -> [T] {
    elements.enumerated().sorted { lhs, rhs in
        if areInIncreasingOrder(lhs.element, rhs.element) { return true }
        if areInIncreasingOrder(rhs.element, lhs.element) { return false }
        return lhs.offset < rhs.offset
    }.map(\.element)
}

extension HealthEvent {
    /// Whether the status page lists it among the last changes: every event but an update that kept its health and
    /// the routine start and stop of a snapshot.
    fileprivate var isNotable: Bool {
        switch kind {
        case .checkStateUpdated: previousHealth != nil && previousHealth != checkState?.health
        case .snapshotStarted, .snapshotCompleted: false
        default: true
        }
    }
}

extension StatusPage.Problem {
    fileprivate init(_ record: ErrorRecord) {
        switch record.code {
        case .subStreamLateData: kind = "late"
        case .subStreamExpired: kind = "dead"
        default: kind = "error"
        }
        urn = record.key.urn
        subStreamId = record.key.subStreamId.isEmpty ? nil : record.key.subStreamId
        errorCode = record.code.rawValue
        level = record.level.rawValue
        message = record.message
        count = record.count
        since = record.firstSeenAt.timeIntervalSince1970
        lastSeenAt = record.lastSeenAt.timeIntervalSince1970
    }
}

extension StatusPage.Change {
    fileprivate init(_ event: HealthEvent) {
        at = event.at.timeIntervalSince1970
        kind = event.kind.rawValue
        urn = event.urn
        subStreamId = event.subStreamId.isEmpty ? nil : event.subStreamId
        checkStateId = event.checkStateId
        name = event.checkState?.name
        health = event.checkState?.health
        explanation = event.explanation
    }
}
