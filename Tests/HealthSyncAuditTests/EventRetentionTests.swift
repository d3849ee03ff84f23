import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncConsole
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// Event retention: pruning keeps `state --at T` exact for every T from the cutoff on, and bounds the record.
@Suite struct EventRetentionTests {
    @Test func parsesAndFormatsDurations() {
        #expect(DurationText.parse("30d") == 2_592_000)
        #expect(DurationText.parse("12h") == 43_200)
        #expect(DurationText.parse("90m") == 5_400)
        #expect(DurationText.parse("45s") == 45)
        #expect(DurationText.parse("2w") == 1_209_600)
        #expect(DurationText.parse("1.5d") == 129_600)
        #expect(DurationText.parse("3600") == 3_600)
        #expect(DurationText.parse("7D") == 604_800)
        for invalid in ["", "d", "0d", "-1d", "1e3", "3x", "1.d", ".5h", "inf", "nan", "1 d"] {
            #expect(DurationText.parse(invalid) == nil, "\(invalid)")
        }
        #expect(DurationText.format(2_592_000) == "30d")
        #expect(DurationText.format(1_209_600) == "2w")
        #expect(DurationText.format(5_400) == "90m")
        #expect(DurationText.format(45) == "45s")
        #expect(EventRetention.defaultDuration == 30 * 86_400)
        #expect(EventRetention(duration: 60).cutoff(at: epoch(1_000)) == epoch(940))
    }

    /// For every fixture and store: pruning at each envelope time in turn leaves `TimeTravel.state(at: T)` unchanged
    /// for every T at or after the cutoff, and the retained window starts at or after the cutoff.
    @Test(arguments: AuditFixture.all, StoreKind.inMemoryKinds)
    func pruningKeepsTimeTravelExactFromTheCutoff(fixture: AuditFixture, kind: StoreKind) async throws {
        let source = try fixture.source()
        let bounds = try fixture.replayBounds()
        let store = try kind.makeStore()
        let replayer = Replayer(processor: HealthProcessor(store: store), fallbackClock: EpochClock())
        let outcome = try await replayer.replay([source], start: bounds.startDate, until: bounds.untilDate)
        guard let end = outcome.clock else {
            #expect(try await store.events(EventQuery()).isEmpty, "\(fixture.testDescription): nothing applied")
            return
        }
        let complete = try await store.events(EventQuery())
        var times = Set(complete.map(\.at) + [end])
        for time in Array(times) { times.insert(time.addingTimeInterval(0.5)) }
        let sorted = times.filter { $0 <= end }.sorted()

        var previousCount = complete.count
        for cutoff in sorted {
            let pruned = try await store.pruneEvents(before: cutoff)
            let kept = try await store.events(EventQuery())
            #expect(kept.count == previousCount - pruned)
            previousCount = kept.count
            if let start = EventRetention.windowStart(of: kept) {
                let unpruned = kept.count == complete.count
                #expect(start >= cutoff || unpruned, "\(fixture.testDescription)")
            }
            for time in sorted where time >= cutoff {
                let before = TimeTravel.state(at: time, from: complete)
                let after = TimeTravel.state(at: time, from: kept)
                #expect(
                    after == before,
                    "\(fixture.testDescription): at \(time.timeIntervalSince1970), cut \(cutoff.timeIntervalSince1970)")
            }
        }
        // Everything before the end is gone but the latest state of what is alive.
        let remaining = try await store.events(EventQuery()).filter { $0.at < end }
        #expect(remaining.allSatisfy { [.checkStateCreated, .checkStateUpdated].contains($0.kind) })
        #expect(remaining.count == TimeTravel.state(at: end.addingTimeInterval(-0.001), from: complete).count)
    }

    /// Pruning that leaves only the latest values of live check states leaves no event that marks the window: it
    /// starts at the clock then, and at a check state's second event when there is one.
    @Test func windowStartsAtTheClockWhenOnlyTheLatestValuesRemain() {
        func event(_ at: Double, _ kind: HealthEvent.Kind, _ id: String) -> HealthEvent {
            HealthEvent(
                at: epoch(at), kind: kind, urn: "urn:health:a:b", subStreamId: "",
                checkState: CheckState(checkStateId: id, name: id, health: .clear, topologyElementIdentifier: id))
        }
        let baseline = [event(100, .checkStateCreated, "a"), event(200, .checkStateUpdated, "b")]
        #expect(EventRetention.windowStart(of: baseline, clock: epoch(5_000)) == epoch(5_000))
        #expect(EventRetention.windowStart(of: baseline) == nil, "unknown without a clock")
        #expect(EventRetention.windowStart(of: [HealthEvent](), clock: epoch(5_000)) == nil)
        let updatedSince = baseline + [event(4_000, .checkStateUpdated, "a")]
        #expect(EventRetention.windowStart(of: updatedSince, clock: epoch(5_000)) == epoch(4_000))
        let deletedSince = baseline + [event(3_000, .checkStateDeleted, "b")]
        #expect(EventRetention.windowStart(of: deletedSince, clock: epoch(5_000)) == epoch(3_000))
    }

    /// A long synthetic history pruned as it grows keeps at most the window's events plus one per check state.
    @Test(arguments: StoreKind.inMemoryKinds)
    func pruningBoundsTheRecord(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let events = SyntheticHistory.events(checkStates: 20, snapshots: 600, changing: 10, period: 3)
        let retention = EventRetention(duration: 3_600)
        var largest = 0
        var snapshotEvents: [HealthEvent] = []
        for event in events {
            snapshotEvents.append(event)
            guard event.kind == .snapshotCompleted else { continue }
            var change = StoreChange()
            change.events = snapshotEvents
            try await store.commit(change)
            snapshotEvents = []
            try await retention.prune(store, at: event.at)
            largest = max(largest, try await store.events(EventQuery()).count)
        }
        // An hour holds 60 snapshots: 2 snapshot events each, and about 10 / 3 updates; plus 20 kept states.
        let window = events.filter { $0.at >= (events.last?.at ?? .distantPast).addingTimeInterval(-3_600) }
        #expect(largest <= window.count + 20 + 20, "largest record: \(largest), window: \(window.count)")
        #expect(largest < events.count / 5)
        let latest = try #require(events.last?.at)
        let windowStart = try #require(EventRetention.windowStart(of: try await store.events(EventQuery())))
        #expect(windowStart >= retention.cutoff(at: latest))
        #expect(try await EventRetention.windowStart(in: store) == windowStart)
    }
}
