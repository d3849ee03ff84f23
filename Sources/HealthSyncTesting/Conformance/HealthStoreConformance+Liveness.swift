import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// Liveness (``HealthSync/Liveness``) is stored as given: a sub-stream's silence deadline counts as its next
    /// deadline and makes it due; a check state's promise and the time silence turned it `CRITICAL` read back
    /// equal, survive a refresh, and are replaced (removed included) by a save.
    func roundTripsLiveness() async throws {
        let store = try await makeStore()
        let nodes = StreamKey(urn: Self.urnA, subStreamId: "node-1")
        let other = StreamKey(urn: Self.urnA, subStreamId: "node-2")
        let silent = Self.subStream(nodes, deadlines: SubStreamDeadlines(silence: Self.time(80.5)))
        let later = Self.subStream(other, deadlines: SubStreamDeadlines(lateData: Self.time(90)))
        var live = Self.state(nodes, "replica-a")
        live.liveness = CheckStateLiveness(interval: 60, grace: 20)
        var silenced = Self.state(nodes, "replica-b", health: .critical, message: "no report for 80 s")
        silenced.liveness = CheckStateLiveness(interval: 60, grace: 20, silencedAt: Self.time(82.5))
        let plain = Self.state(nodes, "replica-c")
        try await store.commit(
            Self.change {
                $0.savedStreams = [Self.stream(Self.urnA)]
                $0.savedSubStreams = [silent, later]
                $0.savedCheckStates = [live, silenced, plain]
            })

        #expect(try await store.subStream(nodes) == Self.stored(silent, version: 1))
        #expect(try await store.nextDeadline() == Self.time(80.5))
        #expect(try await store.dueSubStreams(before: Self.time(85), limit: 10) == [nodes])
        #expect(try await store.dueSubStreams(before: Self.time(80.5), limit: 10).isEmpty)
        #expect(Self.byId(try await store.checkStates(of: nodes)) == Self.byId([live, silenced, plain]))
        #expect(live.silenceDeadline == Self.time(82.5))
        #expect(silenced.silenceDeadline == nil)

        // A refresh moves *last seen* and keeps the liveness columns.
        try await store.commit(
            Self.change {
                $0.refreshedCheckStates = [
                    StoreChange.CheckStateRefresh(key: nodes, lastSeenAt: Self.time(100), snapshotSequence: 3)
                ]
            })
        let refreshed = Self.keyed(try await store.checkStates(of: nodes))
        #expect(refreshed["replica-a"]?.liveness == live.liveness)
        #expect(refreshed["replica-b"]?.liveness == silenced.liveness)
        #expect(refreshed["replica-c"]?.liveness == nil)

        // A save replaces the liveness: a report after silence clears `silencedAt`, one without liveness removes it.
        var restored = silenced
        restored.checkState.health = .clear
        restored.checkState.message = nil
        restored.liveness = CheckStateLiveness(interval: 30, grace: 5)
        var withoutLiveness = live
        withoutLiveness.liveness = nil
        var moved = try #require(try await store.subStream(nodes))
        moved.deadlines.silence = nil
        try await store.commit(
            Self.change {
                $0.savedSubStreams = [moved]
                $0.savedCheckStates = [restored, withoutLiveness]
            })
        let saved = Self.keyed(try await store.checkStates(of: nodes))
        #expect(saved["replica-b"] == restored)
        #expect(saved["replica-a"] == withoutLiveness)
        #expect(try await store.subStream(nodes)?.deadlines.silence == nil)
        #expect(try await store.nextDeadline() == Self.time(90))
    }

    /// Check states by id.
    private static func keyed(_ states: [StoredCheckState]) -> [String: StoredCheckState] {
        Dictionary(states.map { ($0.checkStateId, $0) }, uniquingKeysWith: { _, last in last })
    }
}
