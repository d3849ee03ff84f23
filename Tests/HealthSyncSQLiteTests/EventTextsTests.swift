import Foundation
import HealthSync
import HealthSyncTestSupport
import Testing

@testable import HealthSyncSQLite

/// The dictionary of event texts (schema v3) as the writer keeps it: a text first written by a transaction that
/// rolls back is forgotten with it, so that its key (which SQLite hands out again) never names another text.
@Suite struct EventTextsTests {
    static let urn = "urn:health:test:texts"
    static let origin = Date(timeIntervalSince1970: 1_700_000_000)

    /// A change of one event naming check state `id` with `message`, and `receipt`.
    static func change(_ id: String, message: String, at offset: Double, receipt: String? = nil) -> StoreChange {
        var change = StoreChange()
        change.events = [
            HealthEvent(
                at: origin.addingTimeInterval(offset), kind: .checkStateCreated, urn: urn, subStreamId: "",
                checkState: CheckState(
                    checkStateId: id, name: "Name of \(id)", health: .critical,
                    topologyElementIdentifier: "urn:host:/\(id)", message: message))
        ]
        change.receipts = receipt.map { [$0] } ?? []
        return change
    }

    @Test func textsOfARolledBackCommitAreForgotten() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            // Fails every commit of receipt "boom" after its events were written.
            try await store.execute(
                """
                CREATE TRIGGER boom AFTER INSERT ON receipt WHEN NEW.receipt = 'boom'
                BEGIN SELECT RAISE(ABORT, 'boom'); END
                """)
            try await store.commit(Self.change("kept", message: "known before", at: 0))
            await #expect(throws: StorageError.self) {
                try await store.commit(
                    Self.change("lost", message: "only in the failed commit", at: 1, receipt: "boom"))
            }
            // Other texts take the keys the rolled-back texts had; then the rolled-back texts come again.
            try await store.commit(Self.change("other", message: "after the failure", at: 2))
            try await store.commit(Self.change("lost", message: "only in the failed commit", at: 3))

            let events = try await store.events(EventQuery(urn: Self.urn))
            #expect(events.map { $0.checkState?.checkStateId } == ["kept", "other", "lost"])
            #expect(
                events.map { $0.checkState?.message } == [
                    "known before", "after the failure", "only in the failed commit",
                ])
            #expect(events.map { $0.checkState?.name } == ["Name of kept", "Name of other", "Name of lost"])
            #expect(events.map(\.kind) == [.checkStateCreated, .checkStateCreated, .checkStateCreated])
            #expect(events.allSatisfy { $0.checkState?.health == .critical && $0.urn == Self.urn })
        }
    }

    @Test func eachTextIsStoredOnceWhateverManyEventsNameIt() async throws {
        let store = try SQLiteHealthStore.inMemory()
        for round in 0..<5 {
            try await store.commit(Self.change("same", message: "the same message", at: Double(round)))
        }
        #expect(try await store.events(EventQuery(urn: Self.urn)).count == 5)
        // The seeds (kinds, healths, …) plus the URN, the id, the name, the element and the message, once each.
        let texts = try await store.count("SELECT count(*) FROM eventText")
        #expect(texts == EventTexts.seeds.count + 5)
    }
}
