import Foundation
import HealthSync
import HealthSyncSQLite
import HealthSyncTestSupport
import Testing

/// `SQLiteHealthStore.openCommitStream()`: the parts of a stream are committed together when it is finished, and
/// nothing of them when one fails or the stream is abandoned; the writer is free again afterwards.
@Suite struct CommitStreamStoreTests {
    static let urn = EventTextsTests.urn
    static let origin = EventTextsTests.origin

    /// A part of one event about check state `id` (``EventTextsTests/change(_:message:at:receipt:)``).
    static func part(_ id: String, at offset: Double) -> StoreChange {
        EventTextsTests.change(id, message: "part \(id)", at: offset)
    }

    static func ids(_ store: SQLiteHealthStore) async throws -> [String?] {
        try await store.events(EventQuery()).map(\.checkStateId)
    }

    @Test func thePartsOfAFinishedStreamAreCommittedTogether() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            let stream = try #require(store.openCommitStream())
            stream.send(Self.part("a", at: 0))
            stream.send(Self.part("b", at: 1))
            var last = Self.part("c", at: 2)
            last.clock = Self.origin.addingTimeInterval(2)
            stream.send(last)
            try await stream.finish()
            #expect(try await Self.ids(store) == ["a", "b", "c"])
            #expect(try await store.clock() == Self.origin.addingTimeInterval(2))
        }
    }

    @Test func aPartThatFailsLeavesNothingOfTheStream() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            try await store.commit(Self.part("before", at: 0))
            let stream = try #require(store.openCommitStream())
            stream.send(Self.part("first", at: 1))
            // A stream record saved at a version it does not have: a conflict, in the second part.
            var conflicting = Self.part("second", at: 2)
            var record = StreamRecord(urn: Self.urn, consistencyModel: .repeatSnapshots, createdAt: Self.origin)
            record.version = 7
            conflicting.savedStreams = [record]
            stream.send(conflicting)
            stream.send(Self.part("third", at: 3))
            await #expect(throws: StorageError.self) { try await stream.finish() }
            #expect(try await Self.ids(store) == ["before"])
            // The writer is free, and the texts of the rolled-back parts are forgotten.
            try await store.commit(Self.part("after", at: 4))
            #expect(try await Self.ids(store) == ["before", "after"])
            #expect(try await store.events(EventQuery()).last?.checkState?.message == "part after")
        }
    }

    @Test func anAbandonedStreamLeavesNothingAndFreesTheWriter() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            let stream = try #require(store.openCommitStream())
            stream.send(Self.part("gone", at: 0))
            stream.abandon()
            try await store.commit(Self.part("kept", at: 1))
            #expect(try await Self.ids(store) == ["kept"])
        }
    }

    @Test func aReadOnlySnapshotOpensNoStream() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let store = try SQLiteHealthStore(path: path)
            try await store.commit(Self.part("a", at: 0))
            try await store.withSnapshot { snapshot in
                let view = try #require(snapshot as? any PipelinedHealthStore)
                #expect(view.openCommitStream() == nil)
            }
        }
    }
}
