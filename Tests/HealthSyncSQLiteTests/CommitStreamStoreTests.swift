import Foundation
import HealthSync
import HealthSyncSQLite
import HealthSyncTestSupport
import Synchronization
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

    /// A commit, and a read on the writer connection (a context the cache does not hold), runs on its caller's
    /// thread, but not while a stream is open: the stream's writer waits for parts that a task sends, and calls that
    /// blocked every thread of the pool would leave that task none. Here more commits, and as many such reads, than
    /// the machine has cores start while a stream is open; the stream then gets its parts, and every call follows it.
    ///
    /// Were they to block, no task could run again, the time limit's included: a thread of its own ends the test
    /// process after a minute instead of letting it hang.
    @Test(.timeLimit(.minutes(1)))
    func commitsAndReadsWhileAStreamIsOpenWaitWithoutBlockingTheirThreads() async throws {
        let watchdog = Watchdog(seconds: 60, failure: "calls blocked every thread while a commit stream was open")
        defer { watchdog.disarm() }
        try await withTemporaryDirectory { directory in
            let store = try SQLiteHealthStore(path: temporaryFile(in: directory))
            try await store.commit(Self.part("before", at: 0))
            let stream = try #require(store.openCommitStream())
            let calls = 4 * ProcessInfo.processInfo.activeProcessorCount
            let unknown = StreamKey(urn: "urn:health:test:unknown")
            let reads = try await withThrowingTaskGroup(of: StreamContext?.self) { group in
                for index in 0..<calls {
                    group.addTask {
                        try await store.commit(Self.part("commit \(index)", at: Double(2 + index)))
                        return nil
                    }
                    group.addTask { try await store.streamContext(of: unknown, includingCheckStates: true) }
                }
                // Let the calls start, all of them waiting for the writer.
                try await Task.sleep(for: .milliseconds(200))
                await Task.yield()
                stream.send(Self.part("streamed", at: 1))
                try await stream.finish()
                return try await group.reduce(into: [StreamContext]()) { reads, read in
                    if let read { reads.append(read) }
                }
            }
            #expect(reads.count == calls)
            #expect(reads.allSatisfy { $0.stream == nil && $0.subStream == nil })
            let ids = try await Self.ids(store)
            #expect(ids.prefix(2) == ["before", "streamed"])
            #expect(Set(ids.dropFirst(2)) == Set((0..<calls).map { "commit \($0)" }))
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

/// Ends the process with `failure` unless disarmed within `seconds`: for a test whose failure is a deadlock of the
/// task pool, which no task-based time limit can report. Its thread is a plain thread, outside the pool.
final class Watchdog: Sendable {
    private let disarmed = Atomic<Bool>(false)

    init(seconds: Int, failure: String) {
        let thread = Thread { [disarmed = self] in
            for _ in 0..<(seconds * 10) {
                if disarmed.isDisarmed { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
            if !disarmed.isDisarmed { fatalError("watchdog: \(failure)") }
        }
        thread.start()
    }

    private var isDisarmed: Bool { disarmed.load(ordering: .acquiring) }

    /// Stops the watchdog.
    func disarm() { disarmed.store(true, ordering: .releasing) }
}
