import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// ``HealthSync/HealthStoreSnapshots``: a view reads the state of the moment it was taken, whatever is committed
    /// while it is open, through every read; the store itself sees the commits at once; the view refuses commits and
    /// leaves the store as it was. A store without the capability has nothing to check here.
    func snapshotsShowOneStateWhileCommitsGoOn() async throws {
        guard let store = try await makeStore() as? any HealthStoreSnapshots else { return }
        let key = StreamKey(urn: Self.urnA, subStreamId: "x")
        try await Self.seed(
            store, subStreams: [key], checkStates: [Self.state(key, "1"), Self.state(key, "2")],
            errors: [Self.error(key, .subStreamUnknownCheckState, at: 5)],
            events: [HealthEvent(at: Self.time(5), kind: .snapshotStarted, urn: Self.urnA, subStreamId: "x")])
        try await store.commit(Self.change { $0.clock = Self.time(5) })
        let urns = [Self.urnA, Self.urnB, Self.urnC, Self.urnD]
        let before = try await Self.contents(of: store, urns: urns)

        let (inside, later, refusal) = try await store.withSnapshot {
            view -> (Contents, Contents, StorageError.Code?) in
            let inside = try await Self.contents(of: view, urns: urns)
            // Commits by the store while the view is open: a new stream and much else, a check state deleted.
            var change = Self.payload(touching: key)
            change.deletedCheckStates = [(key, "2")]
            try await store.commit(change)
            let later = try await Self.contents(of: view, urns: urns)
            var refusal: StorageError.Code?
            do {
                try await view.commit(Self.change { $0.receipt = "from-the-view" })
            } catch let error as StorageError {
                refusal = error.code
            }
            return (inside, later, refusal)
        }

        #expect(inside == before, "the view shows the store as it was")
        #expect(later == before, "commits made while the view is open do not change it")
        #expect(refusal == .readOnly, "a view refuses commits")
        let after = try await Self.contents(of: store, urns: urns)
        #expect(after != before, "the store itself sees its commits")
        #expect(try await store.stream(Self.urnD) != nil)
        #expect(try await store.checkStates(of: key).map(\.checkStateId).sorted() == ["1", "payload"])
        #expect(try await store.hasReceipt("from-the-view") == false)
        #expect(try await store.hasReceipt("payload"))
    }
}
