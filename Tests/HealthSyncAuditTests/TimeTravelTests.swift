import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// `TimeTravel`: the check states of a past time from the event record.
@Suite struct TimeTravelTests {
    private static let urn = "urn:health:test:travel"

    private func event(
        _ seconds: Double, _ kind: HealthEvent.Kind, _ id: String, _ health: Health = .clear,
        previous: Health? = nil, reason: DeletionReason? = nil, sequence: Int64
    ) -> HealthEvent {
        HealthEvent(
            sequence: sequence, at: epoch(seconds), kind: kind, urn: Self.urn, subStreamId: "",
            checkState: CheckState(
                checkStateId: id, name: "check \(id)", health: health, topologyElementIdentifier: id),
            previousHealth: previous, deletionReason: reason)
    }

    @Test func foldsCreationsUpdatesAndDeletionsUpToTheTime() {
        let events = [
            event(10, .checkStateCreated, "a", sequence: 1),
            event(10, .checkStateCreated, "b", .deviating, sequence: 2),
            event(20, .checkStateUpdated, "a", .critical, previous: .clear, sequence: 3),
            event(30, .checkStateDeleted, "b", .deviating, reason: .snapshotDiff, sequence: 4),
        ]
        #expect(TimeTravel.state(at: epoch(5), from: events).isEmpty)
        #expect(TimeTravel.state(at: epoch(10), from: events).map(\.checkStateId) == ["a", "b"])
        #expect(TimeTravel.state(at: epoch(19.5), from: events).map(\.checkState.health) == [.clear, .deviating])
        let at20 = TimeTravel.state(at: epoch(20), from: events)
        #expect(at20.map(\.checkState.health) == [.critical, .deviating])
        #expect(at20.first?.since == epoch(20))
        #expect(TimeTravel.state(at: epoch(30), from: events).map(\.checkStateId) == ["a"])
    }

    @Test func timerEffectsAtTheTimeItselfAreNotYetApplied() {
        // A timer due at T fires when the clock moves past T: its deletions are not part of the state at T.
        let events = [
            event(10, .checkStateCreated, "auto", sequence: 1),
            event(10, .checkStateCreated, "expiring", sequence: 2),
            event(10, .checkStateCreated, "diffed", sequence: 3),
            event(30, .checkStateDeleted, "auto", reason: .automaticStop, sequence: 4),
            event(30, .checkStateDeleted, "expiring", reason: .expiry, sequence: 5),
            event(30, .checkStateDeleted, "diffed", reason: .snapshotDiff, sequence: 6),
        ]
        #expect(TimeTravel.state(at: epoch(30), from: events).map(\.checkStateId) == ["auto", "expiring"])
        #expect(TimeTravel.state(at: epoch(30.001), from: events).isEmpty)
        #expect(TimeTravel.isTimerEffect(events[3]))
        #expect(!TimeTravel.isTimerEffect(events[5]))
    }

    @Test func diffListsAddedRemovedWithCauseAndChanged() {
        let events = [
            event(10, .checkStateCreated, "kept", sequence: 1),
            event(10, .checkStateCreated, "removed", sequence: 2),
            event(10, .checkStateCreated, "changed", sequence: 3),
            event(10, .checkStateCreated, "flipped-back", sequence: 4),
            event(20, .checkStateUpdated, "changed", .critical, previous: .clear, sequence: 5),
            event(20, .checkStateDeleted, "removed", reason: .automaticStop, sequence: 6),
            event(25, .checkStateCreated, "added", .deviating, sequence: 7),
            event(26, .checkStateUpdated, "flipped-back", .critical, previous: .clear, sequence: 8),
            event(27, .checkStateUpdated, "flipped-back", .clear, previous: .critical, sequence: 9),
            event(40, .checkStateDeleted, "added", reason: .snapshotDiff, sequence: 10),
        ]
        let diff = TimeTravel.diff(from: epoch(15), to: epoch(30), events: events)
        #expect(diff.added.map(\.checkStateId) == ["added"])
        #expect(diff.removed.map(\.entry.checkStateId) == ["removed"])
        #expect(diff.removed.first?.reason == .automaticStop)
        #expect(diff.removed.first?.removedAt == epoch(20))
        #expect(diff.changed.map(\.after.checkStateId) == ["changed"])
        #expect(diff.changed.first?.before.checkState.health == .clear)
        #expect(diff.changed.first?.after.checkState.health == .critical)
        #expect(diff.changed.first?.changedFields == ["health"])
        #expect(TimeTravel.diff(from: epoch(30), to: epoch(30), events: events).isEmpty)
    }

    // MARK: state at T equals a replay stopped at T

    /// Every fixture: for every envelope time, every event time, and half a second either side of them, the state
    /// reconstructed from a complete replay's events equals the state of a fresh replay of the envelopes applied
    /// by then, advanced to T.
    @Test(arguments: AuditFixture.all, StoreKind.inMemoryKinds)
    func stateAtTimeEqualsReplayStoppedThere(fixture: AuditFixture, kind: StoreKind) async throws {
        let source = try fixture.source()
        let bounds = try fixture.replayBounds()
        let envelopes = Self.envelopeTimes(of: source, start: bounds.startDate)
        let lastEnvelope = envelopes.compactMap(\.time).max()
        guard let end = bounds.untilDate ?? lastEnvelope ?? bounds.startDate else {
            // Nothing applies (a payload that does not decode): there is no time to travel to.
            #expect(envelopes.allSatisfy { $0.time == nil }, "\(fixture.testDescription)")
            return
        }

        let complete = try kind.makeStore()
        let replayer = Replayer(processor: HealthProcessor(store: complete), fallbackClock: EpochClock())
        _ = try await replayer.replay([source], start: bounds.startDate, until: end)
        let events = try await complete.events(EventQuery())

        var times = Set(envelopes.compactMap(\.time) + events.map(\.at) + [end])
        for time in Array(times) {
            times.insert(time.addingTimeInterval(-0.5))
            times.insert(time.addingTimeInterval(0.5))
        }
        let earliest = bounds.startDate ?? events.first?.at ?? end
        let checked = times.filter { $0 >= earliest && $0 <= end }.sorted()
        #expect(!checked.isEmpty)
        for time in checked {
            let prefix = envelopes.filter { ($0.time ?? .distantPast) <= time }.map(\.bytes)
            let partial = InMemoryHealthStore()
            let partialReplayer = Replayer(processor: HealthProcessor(store: partial), fallbackClock: EpochClock())
            let partialSource: Replayer.Source
            if envelopes.count == 1 {
                // One (possibly pretty-printed) envelope: all of it or nothing.
                partialSource = Replayer.Source(name: source.name, bytes: prefix.isEmpty ? [] : source.bytes)
            } else {
                let lines = prefix.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
                partialSource = Replayer.Source(name: "prefix.jsonl", bytes: Array(lines.utf8))
            }
            _ = try await partialReplayer.replay([partialSource], start: bounds.startDate, until: time)
            let replayed = try await partial.allCheckStates().map { Pair(key: $0.key, checkState: $0.checkState) }
            let travelled = TimeTravel.state(at: time, from: events).map {
                Pair(key: $0.key, checkState: $0.checkState)
            }
            #expect(
                travelled == replayed,
                "\(fixture.testDescription) at \(time.timeIntervalSince1970): \(travelled) vs \(replayed)")
        }
    }

    private struct Pair: Equatable, CustomStringConvertible {
        var key: StreamKey
        var checkState: CheckState
        var description: String { "\(key) \(checkState.checkStateId)=\(checkState.health.rawValue)" }
    }

    /// Each envelope of a payload with the time it is applied at: its timestamp, never before the clock (SPEC §7);
    /// `nil` for an envelope that does not decode (it changes nothing).
    static func envelopeTimes(of source: Replayer.Source, start: Date?) -> [(bytes: [UInt8], time: Date?)] {
        var clock = start
        var result: [(bytes: [UInt8], time: Date?)] = []
        let jsonLines = PayloadFile.isJSONLinesName(source.name) ? true : nil
        for entry in PayloadFile.entries(in: source.bytes, jsonLines: jsonLines) {
            // A push report line (issue 17) applies as the envelope it translates to.
            let decoded =
                ReportLine.isReportLine(entry.bytes)
                ? (try? ReportLine.decode(entry.bytes)).map { ReportTranslation().envelope(for: $0) }
                : try? EnvelopeDecoder().decode(entry.bytes)
            guard let envelope = decoded else {
                result.append((Array(entry.bytes), nil))
                continue
            }
            let stamped = envelope.collectionTimestamp ?? clock ?? epoch(0)
            let time = max(clock ?? stamped, stamped)
            clock = time
            result.append((Array(entry.bytes), time))
        }
        return result
    }
}
