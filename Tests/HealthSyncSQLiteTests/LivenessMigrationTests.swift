import Foundation
import GRDB
import HealthSync
import HealthSyncTestSupport
import Testing

@testable import HealthSyncSQLite

/// Migration `v2` (liveness, issue 17) on a database written at `v1`: the rows are kept, without liveness, and the
/// new columns take liveness afterwards.
@Suite struct LivenessMigrationTests {
    static let urn = "urn:health:test:migration"

    @Test func aVersion1DatabaseIsMigratedWithItsRowsKept() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            do {
                let queue = try DatabaseQueue(path: path)
                try SQLiteHealthStore.migrator.migrate(queue, upTo: "v1")
                try await queue.write { db in
                    try db.execute(
                        sql: """
                            INSERT INTO stream VALUES (?, 'REPEAT_STATES', 1000, 1);
                            INSERT INTO subStream (urn, subStreamId, createdAt, repeatInterval, expiryInterval,
                                snapshotSequence, lastMessageAt, lateDataDeadline, nextDeadline, messageCount,
                                createCount, updateCount, deleteCount, totalLatency, lastLatency, version)
                            VALUES (?, 'node', 1000, 60, 600, 0, 1000, 1060, 1060, 1, 1, 0, 0, 0, 0, 1);
                            INSERT INTO checkState VALUES (?, 'node', 'a', 'A', 'CLEAR', 'urn:x', NULL, 1000, 0);
                            """, arguments: [Self.urn, Self.urn, Self.urn])
                }
            }
            let store = try SQLiteHealthStore(path: path)
            #expect(try await store.appliedMigrations() == ["v1", "v2", "v3", "v4"])
            let key = StreamKey(urn: Self.urn, subStreamId: "node")
            let subStream = try #require(try await store.subStream(key))
            #expect(subStream.deadlines == SubStreamDeadlines(lateData: Date(timeIntervalSince1970: 1_060)))
            #expect(try await store.nextDeadline() == Date(timeIntervalSince1970: 1_060))
            var state = try #require(try await store.checkStates(of: key).first)
            #expect(state.checkState.health == .clear && state.liveness == nil)

            // The migrated tables take liveness.
            var moved = subStream
            moved.deadlines.silence = Date(timeIntervalSince1970: 1_050)
            state.liveness = CheckStateLiveness(interval: 30, grace: 20)
            var change = StoreChange()
            change.savedSubStreams = [moved]
            change.savedCheckStates = [state]
            try await store.commit(change)
            #expect(try await store.checkStates(of: key).first?.liveness == state.liveness)
            #expect(try await store.nextDeadline() == Date(timeIntervalSince1970: 1_050))
        }
    }
}
