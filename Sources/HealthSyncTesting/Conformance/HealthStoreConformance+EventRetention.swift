import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// ``HealthSync/HealthStoreRetention/pruneEvents(before:)`` deletes the events strictly before the cutoff
    /// except, per check state (URN, sub-stream and id), the latest one before the cutoff (by time, then sequence)
    /// when it created or updated the check state; it returns how many it deleted, and later commits get larger
    /// sequences. A store without ``HealthSync/HealthStoreRetention`` has nothing to check here.
    func prunesEventsButTheLatestStateOfLiveCheckStates() async throws {
        let made = try await makeStore()
        guard let store = made as? any HealthStoreRetention & HealthStoreQueries else { return }
        let main = StreamKey.main(Self.urnA)
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        func event(
            _ label: String,
            at seconds: Double,
            _ kind: HealthEvent.Kind,
            _ key: StreamKey = main,
            _ id: String? = nil,
            reason: DeletionReason? = nil
        ) -> HealthEvent {
            HealthEvent(
                at: Self.time(seconds),
                kind: kind,
                urn: key.urn,
                subStreamId: key.subStreamId,
                checkState: id.map {
                    CheckState(checkStateId: $0, name: $0, health: .clear, topologyElementIdentifier: "urn:host:/\($0)")
                },
                deletionReason: reason,
                detail: label
            )
        }
        #expect(try await store.pruneEvents(before: Self.time(100)) == 0, "an empty store has nothing to prune")

        try await store.commit(
            Self.change {
                $0.events = [
                    event("stream", at: 1, .streamCreated),
                    event("c1 created", at: 1, .checkStateCreated, main, "c1"),
                    event("c2 created", at: 1, .checkStateCreated, main, "c2"),
                    event("c1 in x created", at: 1, .checkStateCreated, other, "c1"),
                    event("completed 1", at: 1, .snapshotCompleted),
                    event("c1 updated", at: 2, .checkStateUpdated, main, "c1"),
                    event("c2 deleted", at: 3, .checkStateDeleted, main, "c2", reason: .snapshotDiff),
                    event("error", at: 3, .errorOpened),
                    event("c3 created", at: 3.5, .checkStateCreated, main, "c3"),
                ]
            })
        // Same time as c3's creation, later sequence: this update is c3's latest event before the cutoff.
        try await store.commit(
            Self.change { $0.events = [event("c3 updated", at: 3.5, .checkStateUpdated, main, "c3")] })
        try await store.commit(
            Self.change {
                $0.events = [
                    event("c4 created", at: 3.75, .checkStateCreated, main, "c4"),
                    event("c4 deleted", at: 3.75, .checkStateDeleted, main, "c4", reason: .snapshotDiff),
                    event("at the cutoff", at: 4, .snapshotCompleted),
                    event("c1 updated later", at: 5, .checkStateUpdated, main, "c1"),
                ]
            })

        #expect(try await store.pruneEvents(before: Self.time(4)) == 9)
        let kept = try await store.events(EventQuery())
        #expect(
            kept.map(\.detail) == ["c1 in x created", "c1 updated", "c3 updated", "at the cutoff", "c1 updated later"]
        )
        #expect(try await store.pruneEvents(before: Self.time(4)) == 0, "pruning again at the same cutoff")
        #expect(try await store.pruneEvents(before: Self.time(2)) == 0, "an earlier cutoff")

        try await store.commit(Self.change { $0.events = [event("after pruning", at: 6, .snapshotStarted)] })
        let sequences = try await store.events(EventQuery()).map(\.sequence)
        #expect(Set(sequences).count == sequences.count, "sequences stay unique: \(sequences)")
        let newest = try #require(try await store.events(EventQuery(since: Self.time(6))).first?.sequence)
        #expect(sequences.compactMap { $0 }.allSatisfy { $0 <= newest }, "\(sequences)")

        // The check state deleted after the cutoff keeps its history until a later cutoff passes its deletion.
        try await store.commit(
            Self.change { $0.events = [event("c1 deleted", at: 7, .checkStateDeleted, main, "c1", reason: .expiry)] }
        )
        #expect(try await store.pruneEvents(before: Self.time(8)) == 5)
        #expect(try await store.events(EventQuery()).map(\.detail) == ["c1 in x created", "c3 updated"])
    }
}
