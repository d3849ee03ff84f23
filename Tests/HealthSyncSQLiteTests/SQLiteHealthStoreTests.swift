import Foundation
import HealthSync
import HealthSyncTestSupport
import Testing

@testable import HealthSyncSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What only the SQLite store has: the file, its settings, its schema, its query plans and its errors.
@Suite struct SQLiteHealthStoreTests {
    // MARK: Helpers

    private static let origin = Date(timeIntervalSince1970: 1_700_000_000)
    private static let urn = "urn:health:test:sqlite"

    /// A change that creates a stream with its main sub-stream, one check state and one event.
    private static func seedChange(deadline: Date? = nil, receipt: String? = nil) -> StoreChange {
        let key = StreamKey.main(urn)
        var change = StoreChange()
        change.savedStreams = [StreamRecord(urn: urn, consistencyModel: .repeatStates, createdAt: origin)]
        change.savedSubStreams = [
            SubStreamRecord(
                key: key,
                createdAt: origin,
                intervals: Intervals(repeatInterval: 60, expiryInterval: 600),
                lastMessageAt: origin,
                deadlines: SubStreamDeadlines(lateData: deadline)
            )
        ]
        change.savedCheckStates = [
            StoredCheckState(
                key: key,
                checkState: CheckState(
                    checkStateId: "cpu", name: "CPU", health: .deviating, topologyElementIdentifier: "urn:host:/a"
                ),
                lastSeenAt: origin,
                snapshotSequence: 0
            )
        ]
        change.events = [HealthEvent(at: origin, kind: .streamCreated, urn: urn, subStreamId: "")]
        change.clock = origin
        change.receipt = receipt
        return change
    }

    /// The error `body` throws, expecting it to be a ``StorageError``.
    private func storageError(
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async -> StorageError? {
        await #expect(throws: StorageError.self, sourceLocation: sourceLocation) { try await body() }
    }

    // MARK: Event sequences

    /// Schema v3 hands out sequences from a counter, not as row ids: once the newest events are pruned, the next
    /// event still follows them (a row id would start again after the largest row left).
    @Test func aSequenceIsNeverHandedOutTwiceEvenAfterTheNewestEventsArePruned() async throws {
        let store = try SQLiteHealthStore.inMemory()
        var change = StoreChange()
        change.events = [
            HealthEvent(at: Self.origin, kind: .streamCreated, urn: Self.urn, subStreamId: ""),
            HealthEvent(at: Self.origin.addingTimeInterval(1), kind: .snapshotStarted, urn: Self.urn, subStreamId: ""),
        ]
        try await store.commit(change)
        #expect(try await store.events(EventQuery()).compactMap(\.sequence) == [1, 2])
        #expect(try await store.pruneEvents(before: Self.origin.addingTimeInterval(10)) == 2)
        #expect(try await store.events(EventQuery()).isEmpty)

        change.events = [
            HealthEvent(at: Self.origin.addingTimeInterval(20), kind: .snapshotStarted, urn: Self.urn, subStreamId: "")
        ]
        try await store.commit(change)
        #expect(try await store.events(EventQuery()).compactMap(\.sequence) == [3])
    }

    // MARK: File and settings

    @Test func usesWALWithFullSynchronousByDefault() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            #expect(try await store.journalMode() == "wal")
            #expect(try await store.synchronousLevel() == 2)
        }
    }

    @Test func normalDurabilityUsesNormalSynchronous() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory), durability: .normal)
            #expect(try await store.journalMode() == "wal")
            #expect(try await store.synchronousLevel() == 1)
        }
    }

    /// SQLite's memory statistics are a setting of the library, taken only before its first connection: once a
    /// store is open, turning them off is refused (and says so), and the store works on.
    @Test func memoryStatisticsAreRefusedOnceSQLiteIsInUse() async throws {
        let store = try SQLiteHealthStore.inMemory()
        #expect(SQLiteHealthStore.turnOffMemoryStatistics() == false)
        try await store.commit(StoreChange())
        #expect(try await store.integrityCheck().isEmpty)
    }

    @Test func inMemoryStoreNeedsNoFile() async throws {
        let store = try SQLiteHealthStore.inMemory()
        #expect(try await store.journalMode() == "memory")
        try await store.commit(Self.seedChange())
        #expect(try await store.streams().map(\.urn) == [Self.urn])
    }

    @Test func recordsItsMigrations() async throws {
        #expect(SQLiteHealthStore.schemaVersion == "v4")
        #expect(SQLiteHealthStore.migrations == ["v1", "v2", "v3", "v4"])
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let first = try await SQLiteHealthStore(path: path).appliedMigrations()
            #expect(first == ["v1", "v2", "v3", "v4"])
            // Opening again runs no migration twice.
            let second = try await SQLiteHealthStore(path: path).appliedMigrations()
            #expect(second == ["v1", "v2", "v3", "v4"])
        }
        #expect(try await SQLiteHealthStore.inMemory().appliedMigrations() == ["v1", "v2", "v3", "v4"])
    }

    /// `close()` settles the file while the store is still held: the log is checkpointed into it and deleted, and
    /// the store fails every use afterwards.
    @Test func closingCheckpointsAndDeletesTheLogWhileTheStoreIsHeld() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let store = try SQLiteHealthStore(path: path)
            try await store.commit(Self.seedChange(receipt: "envelope-1"))
            _ = try await store.streams()
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
            try store.close()
            for suffix in ["-wal", "-shm"] {
                #expect(!FileManager.default.fileExists(atPath: path + suffix), "\(suffix) is left")
            }
            await #expect(throws: StorageError.self) { try await store.streams() }
            #expect(try await SQLiteHealthStore(path: path).streams().map(\.urn) == [Self.urn])
        }
    }

    @Test func dataSurvivesClosingAndReopening() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let deadline = Self.origin.addingTimeInterval(60)
            let firstEvents: [HealthEvent]
            do {
                let store = try SQLiteHealthStore(path: path)
                try await store.commit(Self.seedChange(deadline: deadline, receipt: "envelope-1"))
                firstEvents = try await store.events(EventQuery())
            }

            let reopened = try SQLiteHealthStore(path: path)
            let stream = try #require(try await reopened.stream(Self.urn))
            #expect(stream.version == 1 && stream.consistencyModel == .repeatStates && stream.createdAt == Self.origin)
            #expect(try await reopened.subStream(.main(Self.urn))?.deadlines.lateData == deadline)
            #expect(try await reopened.checkStates(of: .main(Self.urn)).map(\.checkState.health) == [.deviating])
            #expect(try await reopened.events(EventQuery()) == firstEvents)
            #expect(try await reopened.clock() == Self.origin)
            #expect(try await reopened.hasReceipt("envelope-1"))
            #expect(try await reopened.nextDeadline() == deadline)

            // Event sequences go on from where they were.
            var change = StoreChange()
            change.events = [HealthEvent(at: Self.origin, kind: .snapshotStarted, urn: Self.urn, subStreamId: "")]
            try await reopened.commit(change)
            let sequences = try await reopened.events(EventQuery()).compactMap(\.sequence)
            #expect(sequences.count == 2 && sequences[0] < sequences[1])
        }
    }

    @Test func integrityCheckFindsNothingWrongInAHealthyDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            var change = Self.seedChange(deadline: Self.origin)
            // A stream-level error names a sub-stream that does not exist; a sub-stream error needs its sub-stream.
            change.savedErrors = [
                (true, "gone", StreamErrorCode.streamMissingSubStream), (false, "", .subStreamLateData),
            ].map { streamLevel, subStreamId, code in
                ErrorRecord(
                    key: ErrorKey(urn: Self.urn, streamLevel: streamLevel, subStreamId: subStreamId, code: code),
                    level: code.level, message: "m", count: 1, firstSeenAt: Self.origin, lastSeenAt: Self.origin
                )
            }
            try await store.commit(change)
            #expect(try await store.errors(of: Self.urn).count == 2)
            #expect(try await store.integrityCheck() == [])
        }
    }

    @Test func integrityCheckReportsRowsWhoseParentIsMissing() async throws {
        let store = try SQLiteHealthStore.inMemory()
        try await store.commit(Self.seedChange())
        try await store.execute(
            "PRAGMA foreign_keys = OFF; DELETE FROM subStream; PRAGMA foreign_keys = ON", transaction: false)
        let problems = try await store.integrityCheck()
        #expect(problems == ["a row of checkState refers to a missing row of subStream"])
    }

    @Test func keepsTimesToWithinAQuarterMicrosecond() async throws {
        let store = try SQLiteHealthStore.inMemory()
        // Not made from epoch seconds: its epoch seconds are rounded to a double.
        let arbitrary = Date(timeIntervalSinceReferenceDate: 721_234_567.123_456_789)
        var change = StoreChange()
        change.clock = arbitrary
        try await store.commit(change)
        let stored = try #require(try await store.clock())
        #expect(abs(stored.timeIntervalSince(arbitrary)) <= 0.000_000_25)
    }

    // MARK: Query plans

    @Test func findsDueSubStreamsThroughTheDeadlineIndex() async throws {
        let store = try SQLiteHealthStore.inMemory()
        let plan = try await store.queryPlan(SQLiteHealthStore.dueSubStreamsSQL, parameterCount: 2)
        #expect(plan.contains { $0.contains("subStream_nextDeadline") }, "\(plan)")
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "sorted by the index: \(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN subStream") && !$0.contains("INDEX") }, "\(plan)")
    }

    @Test func readsTheNextDeadlineFromTheDeadlineIndex() async throws {
        let store = try SQLiteHealthStore.inMemory()
        let plan = try await store.queryPlan(SQLiteHealthStore.nextDeadlineSQL, parameterCount: 0)
        #expect(plan.contains { $0.contains("subStream_nextDeadline") }, "\(plan)")
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
    }

    // MARK: Errors

    @Test func aPathInAMissingDirectoryIsUnavailable() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory.appending(path: "missing"))
            let error = await storageError { _ = try SQLiteHealthStore(path: path) }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains(path) == true)
        }
    }

    @Test func aMissingFileOpenedReadOnlyIsUnavailable() async throws {
        try await withTemporaryDirectory { directory in
            let error = await storageError {
                _ = try SQLiteHealthStore(path: temporaryFile(in: directory), readOnly: true)
            }
            #expect(error?.code == .unavailable)
        }
    }

    @Test func aStoreOpenedReadOnlyReadsButRefusesWrites() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            try await SQLiteHealthStore(path: path).commit(Self.seedChange())

            let store = try SQLiteHealthStore(path: path, readOnly: true)
            #expect(try await store.streams().map(\.urn) == [Self.urn])
            let error = await storageError { try await store.commit(Self.seedChange(receipt: "again")) }
            #expect(error?.code == .readOnly)
            #expect(try await store.hasReceipt("again") == false)
        }
    }

    @Test(.enabled(if: geteuid() != 0, "root ignores file permissions; readOnly: true covers the mapping"))
    func aFileWithoutWritePermissionRefusesWrites() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            try await SQLiteHealthStore(path: path).commit(Self.seedChange())
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path) }

            // SQLite opens the file read-only; GRDB's WAL set-up or the first write then fails.
            let error = await storageError {
                let store = try SQLiteHealthStore(path: path)
                try await store.commit(Self.seedChange(receipt: "again"))
            }
            #expect(error?.code == .readOnly)
        }
    }

    @Test func aFileThatIsNotADatabaseIsCorrupt() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            try garbage.write(to: URL(filePath: path))
            let error = await storageError { _ = try SQLiteHealthStore(path: path) }
            #expect(error?.code == .corrupt)
        }
    }

    @Test func aDatabaseFromANewerVersionIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            try await SQLiteHealthStore(path: path).execute("INSERT INTO grdb_migrations (identifier) VALUES ('v99')")
            let error = await storageError { _ = try SQLiteHealthStore(path: path) }
            #expect(error?.code == .failed)
            #expect(error?.message.contains("newer version") == true)
        }
    }

    @Test func anUnknownStoredValueIsCorrupt() async throws {
        let store = try SQLiteHealthStore.inMemory()
        try await store.commit(Self.seedChange())
        try await store.execute("UPDATE checkState SET health = 'PURPLE'")
        let error = await storageError { _ = try await store.checkStates(of: .main(Self.urn)) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("PURPLE") == true)
    }

    @Test func anUnknownStoredValueIsCorruptInALookupByIdAndTheStatementIsReusableAfterwards() async throws {
        let store = try SQLiteHealthStore.inMemory()
        try await store.commit(Self.seedChange())
        try await store.execute("UPDATE checkState SET health = 'PURPLE'")
        let error = await storageError { _ = try await store.checkStates(of: .main(Self.urn), ids: ["cpu", "x"]) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("PURPLE") == true)
        try await store.execute("UPDATE checkState SET health = 'CLEAR'")
        let byId = try await store.checkStates(of: .main(Self.urn), ids: ["x", "cpu", "cpu"])
        #expect(byId.map(\.checkState.health) == [.clear])
        let all = try await store.checkStates(of: .main(Self.urn))
        #expect(all.map(\.checkStateId) == ["cpu"])
    }

    @Test func aCheckStateOfASubStreamThatIsNotStoredConflicts() async throws {
        // Another writer deleted the sub-stream after this one read it: the foreign key refuses the orphan.
        let store = try SQLiteHealthStore.inMemory()
        try await store.commit(Self.seedChange())
        var change = StoreChange()
        change.savedCheckStates = [
            StoredCheckState(
                key: StreamKey(urn: Self.urn, subStreamId: "gone"),
                checkState: CheckState(checkStateId: "a", name: "A", health: .clear, topologyElementIdentifier: "x"),
                lastSeenAt: Self.origin,
                snapshotSequence: 0
            )
        ]
        change.receipt = "orphan"
        let error = await storageError { try await store.commit(change) }
        #expect(error?.code == .conflict)
        #expect(try await store.hasReceipt("orphan") == false)
    }
}
