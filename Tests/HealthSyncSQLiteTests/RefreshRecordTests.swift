import Foundation
import GRDB
import HealthSync
import HealthSyncTestSupport
import Testing

@testable import HealthSyncSQLite

/// Schema v4 (issue 19): a refresh is kept by the sub-stream's row, and the check states written before it read its
/// time and sequence; rows written by schema v3 keep their own until their sub-stream's next refresh.
@Suite struct RefreshRecordTests {
    static let urn = "urn:health:test:refresh"
    static let key = StreamKey(urn: urn, subStreamId: "pods")

    static func time(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_700_000_000 + seconds) }

    static func state(_ id: String, at seconds: Double, sequence: Int64) -> StoredCheckState {
        StoredCheckState(
            key: key,
            checkState: CheckState(
                checkStateId: id, name: "check \(id)", health: .clear, topologyElementIdentifier: "urn:host:/\(id)"),
            lastSeenAt: time(seconds), snapshotSequence: sequence)
    }

    static func refresh(at seconds: Double, sequence: Int64) -> StoreChange {
        var change = StoreChange()
        change.refreshedCheckStates = [
            StoreChange.CheckStateRefresh(key: key, lastSeenAt: time(seconds), snapshotSequence: sequence)
        ]
        return change
    }

    /// The times and sequences of the rows of `checkState` as stored, by id.
    static func storedRows(_ path: String) throws -> [String: [Double]] {
        try DatabaseQueue(path: path).read { db in
            var rows: [String: [Double]] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT checkStateId, lastSeenAt, snapshotSequence, refreshVersion FROM checkState")
            {
                rows[row[0]] = [row[1], row[2], row[3]]
            }
            return rows
        }
    }

    @Test func aRefreshWritesTheSubStreamsRowNotItsCheckStates() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let ids = (0..<50).map { "check-\($0)" }
            do {
                let store = try SQLiteHealthStore(path: path)
                var seed = StoreChange()
                seed.savedStreams = [
                    StreamRecord(urn: Self.urn, consistencyModel: .repeatSnapshots, createdAt: Self.time(0))
                ]
                seed.savedSubStreams = [
                    SubStreamRecord(key: Self.key, createdAt: Self.time(0), lastMessageAt: Self.time(0))
                ]
                seed.savedCheckStates = ids.map { Self.state($0, at: 1, sequence: 1) }
                try await store.commit(seed)
                try await store.commit(Self.refresh(at: 2, sequence: 2))
                let states = try await store.checkStates(of: Self.key)
                #expect(states == ids.sorted().map { Self.state($0, at: 2, sequence: 2) })
            }
            // Every row is as the first commit wrote it: the refresh changed one row, the sub-stream's.
            let rows = try Self.storedRows(path)
            #expect(rows.count == ids.count)
            #expect(rows.values.allSatisfy { $0 == [Self.time(1).timeIntervalSince1970, 1, 0] })
            let subStream = try await DatabaseQueue(path: path).read { db -> [Double] in
                let row = try Row.fetchOne(
                    db, sql: "SELECT refreshVersion, refreshedAt, refreshedSequence FROM subStream WHERE urn = ?",
                    arguments: [Self.urn])
                return row.map { [$0[0], $0[1], $0[2]] } ?? []
            }
            #expect(subStream == [1, Self.time(2).timeIntervalSince1970, 2])
        }
    }

    @Test func rowsWrittenByVersion3KeepTheirTimesUntilTheNextRefresh() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            do {
                let queue = try DatabaseQueue(path: path)
                try SQLiteHealthStore.migrator.migrate(queue, upTo: "v3")
                try await queue.write { db in
                    try db.execute(
                        sql: """
                            INSERT INTO stream VALUES (?1, 'REPEAT_SNAPSHOTS', 1000, 1);
                            INSERT INTO subStream (urn, subStreamId, createdAt, snapshotSequence, lastMessageAt,
                                messageCount, createCount, updateCount, deleteCount, totalLatency, lastLatency, version)
                            VALUES (?1, 'pods', 1000, 4, 1000, 1, 1, 0, 0, 0, 0, 1);
                            INSERT INTO checkState (urn, subStreamId, checkStateId, name, health,
                                topologyElementIdentifier, message, lastSeenAt, snapshotSequence)
                            VALUES (?1, 'pods', 'a', 'check a', 'CLEAR', 'urn:host:/a', NULL, ?2, 3),
                                (?1, 'pods', 'b', 'check b', 'CLEAR', 'urn:host:/b', NULL, ?3, 4);
                            """,
                        arguments: [
                            Self.urn, Self.urn, Self.urn, Self.time(3).timeIntervalSince1970,
                            Self.time(4).timeIntervalSince1970,
                        ])
                }
            }
            let store = try SQLiteHealthStore(path: path)
            #expect(try await store.appliedMigrations() == ["v1", "v2", "v3", "v4"])
            let written = [Self.state("a", at: 3, sequence: 3), Self.state("b", at: 4, sequence: 4)]
            #expect(try await store.checkStates(of: Self.key) == written)

            try await store.commit(Self.refresh(at: 5, sequence: 5))
            #expect(
                try await store.checkStates(of: Self.key) == [
                    Self.state("a", at: 5, sequence: 5), Self.state("b", at: 5, sequence: 5),
                ])
            var save = StoreChange()
            save.savedCheckStates = [Self.state("b", at: 6, sequence: 6)]
            try await store.commit(save)
            #expect(
                try await store.checkStates(of: Self.key) == [
                    Self.state("a", at: 5, sequence: 5), Self.state("b", at: 6, sequence: 6),
                ])
        }
    }
}
