import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// ``HealthStoreTransfer``: a whole store copied between any two kinds holds the same records, versions, deadlines,
/// open snapshots and seen sets, errors, events with their sequences, receipts and clock; a load that fails leaves
/// its store empty.
@Suite struct StoreTransferTests {
    /// The kinds copied from and into (the file stores share the SQLite store's code with `sqliteInMemory`).
    static let kinds: [StoreKind] = StoreKind.inMemoryKinds + StoreKind.postgresKinds

    static let snapshotURN = "urn:health:transfer:open-snapshot"

    /// Everything a store holds, read through its listings.
    struct Contents: Equatable {
        var summaries: [StreamSummary] = []
        var streams: [StreamRecord?] = []
        var subStreams: [SubStreamRecord] = []
        var checkStates: [StoredCheckState] = []
        var errors: [ErrorRecord] = []
        var events: [HealthEvent] = []
        var receipts: [StoredReceipt] = []
        var clock: Date?
        var nextDeadline: Date?
    }

    static func contents(of store: any HealthStoreTransfer) async throws -> Contents {
        var contents = Contents()
        contents.summaries = try await store.streams()
        for summary in contents.summaries {
            contents.streams.append(try await store.stream(summary.urn))
            contents.subStreams += try await store.subStreams(of: summary.urn)
        }
        contents.checkStates = try await store.allCheckStates()
        contents.errors = try await store.openErrors()
        contents.events = try await store.events(EventQuery())
        var last: String?
        while true {
            // A small page, so that the walk crosses pages.
            let page = try await store.receipts(after: last, limit: 7)
            guard let receipt = page.last else { break }
            contents.receipts += page
            last = receipt.receipt
        }
        contents.clock = try await store.clock()
        contents.nextDeadline = try await store.nextDeadline()
        return contents
    }

    /// A store of `kind` holding every scenario replayed, then a snapshot started and not stopped.
    static func filledStore(_ kind: StoreKind) async throws -> any HealthStoreTransfer {
        let store = try #require(try kind.makeStore() as? any HealthStoreTransfer)
        let processor = HealthProcessor(store: store)
        let replayer = Replayer(processor: processor, fallbackClock: FixtureTests.EpochClock())
        let outcome = try await replayer.replay(try Fixture.all(.scenarios).map { try $0.source() })
        #expect(outcome.isClean)
        let time = try #require(try await store.clock()).addingTimeInterval(10)
        _ = try await processor.apply(Self.openSnapshot(at: time), at: time, receipt: "test:open-snapshot")
        return store
    }

    /// A snapshot of two check states, started and not stopped, over a completed one of three.
    static func openSnapshot(at time: Date) throws -> Envelope {
        let states = ["a", "b", "c"].map { Payload.checkState($0, health: "CRITICAL") }
        let body = Payload.envelope(
            at: time.timeIntervalSince1970.rounded(.down),
            [
                Payload.snapshot(snapshotURN, repeatInterval: 300, states: states),
                Payload.snapshot(snapshotURN, repeatInterval: 300, stop: false, states: Array(states.prefix(2))),
            ])
        return try EnvelopeDecoder().decode(Array(body.utf8))
    }

    @Test(arguments: kinds, kinds)
    func aCopyHoldsEverythingTheSourceHolds(from sourceKind: StoreKind, to destinationKind: StoreKind) async throws {
        let source = try await Self.filledStore(sourceKind)
        let destination = try #require(try destinationKind.makeStore() as? any HealthStoreTransfer)
        #expect(try await destination.isEmpty())
        let counts = try await destination.copy(from: source, pageSize: 50)

        let expected = try await Self.contents(of: source)
        let copied = try await Self.contents(of: destination)
        #expect(copied == expected)
        #expect(!(try await destination.isEmpty()))
        #expect(counts.streams == expected.summaries.count)
        #expect(counts.checkStates == expected.checkStates.count)
        #expect(counts.events == expected.events.count)
        #expect(counts.receipts == expected.receipts.count)
        // The open snapshot, and the check states seen in it.
        let open = try #require(copied.subStreams.first { $0.key == .main(Self.snapshotURN) })
        #expect(open.openSnapshot != nil)
        let seen = copied.checkStates.filter { $0.key == open.key && $0.snapshotSequence == open.snapshotSequence }
        #expect(seen.map(\.checkStateId) == ["a", "b"])
        #expect(expected.errors.count > 0)
        #expect(expected.receipts.contains { $0.receipt == "test:open-snapshot" })
    }

    @Test(arguments: kinds, kinds)
    func theCopyGoesOnAsTheSourceWould(from sourceKind: StoreKind, to destinationKind: StoreKind) async throws {
        let source = try await Self.filledStore(sourceKind)
        let destination = try #require(try destinationKind.makeStore() as? any HealthStoreTransfer)
        try await destination.copy(from: source)
        let lastSequence = try #require(try await source.events(EventQuery()).compactMap(\.sequence).max())

        // Stopping the open snapshot deletes the check state it did not see, in both.
        for store in [source, destination] {
            let time = try #require(try await store.clock()).addingTimeInterval(5)
            let stop = Payload.envelope(
                at: time.timeIntervalSince1970.rounded(.down),
                [Payload.snapshot(Self.snapshotURN, repeatInterval: 300, start: false, states: [])])
            _ = try await HealthProcessor(store: store).apply(
                try EnvelopeDecoder().decode(Array(stop.utf8)), at: time, receipt: "test:stop")
            // A receipt copied is known: applying its envelope again is refused.
            await #expect(throws: StorageError.self) {
                var change = StoreChange()
                change.receipt = "test:open-snapshot"
                try await store.commit(change)
            }
        }
        var expected = try await Self.contents(of: source)
        var copied = try await Self.contents(of: destination)
        #expect(copied.checkStates.filter { $0.key == .main(Self.snapshotURN) }.map(\.checkStateId) == ["a", "b"])
        let newEvents = copied.events.filter { ($0.sequence ?? 0) > lastSequence }
        #expect(newEvents.contains { $0.kind == .checkStateDeleted && $0.checkStateId == "c" })
        // The copy's sequences follow the copied ones (a PostgreSQL source's may have gaps a copy does not repeat).
        #expect(newEvents.count == expected.events.filter { ($0.sequence ?? 0) > lastSequence }.count)
        for index in expected.events.indices where (expected.events[index].sequence ?? 0) > lastSequence {
            expected.events[index].sequence = nil
        }
        for index in copied.events.indices where (copied.events[index].sequence ?? 0) > lastSequence {
            copied.events[index].sequence = nil
        }
        #expect(copied == expected)
    }

    @Test(arguments: kinds)
    func aCopyIntoAStoreThatIsNotEmptyIsRefusedAndChangesNothing(kind: StoreKind) async throws {
        let source = try await Self.filledStore(.inMemory)
        let destination = try #require(try kind.makeStore() as? any HealthStoreTransfer)
        var change = StoreChange()
        change.receipt = "test:only-a-receipt"
        try await destination.commit(change)
        #expect(!(try await destination.isEmpty()))
        let before = try await Self.contents(of: destination)

        await #expect {
            try await destination.copy(from: source)
        } throws: { error in
            (error as? StorageError)?.code == .conflict
        }
        #expect(try await Self.contents(of: destination) == before)
    }

    struct Abandoned: Error {}

    @Test(arguments: kinds)
    func aLoadThatThrowsLeavesTheStoreEmpty(kind: StoreKind) async throws {
        let source = try await Self.filledStore(.inMemory)
        let destination = try #require(try kind.makeStore() as? any HealthStoreTransfer)
        var page = StoreContents()
        page.streams = [try #require(try await source.stream(Self.snapshotURN))]
        page.subStreams = try await source.subStreams(of: Self.snapshotURN)
        var events = StoreContents()
        events.events = try await source.events(EventQuery(limit: 100))
        events.clock = try await source.clock()

        await #expect(throws: Abandoned.self) {
            try await destination.load { loader in
                try await loader.insert(page)
                try await loader.insert(events)
                throw Abandoned()
            }
        }
        #expect(try await destination.isEmpty())
        #expect(try await Self.contents(of: destination) == Contents())
        // And the store takes a copy afterwards.
        try await destination.copy(from: source)
        #expect(try await Self.contents(of: destination) == Self.contents(of: source))
    }

    @Test(arguments: kinds.filter { $0 != .inMemory })
    func aWriteThatFailsMidLoadLeavesTheStoreEmpty(kind: StoreKind) async throws {
        let source = try await Self.filledStore(.inMemory)
        let destination = try #require(try kind.makeStore() as? any HealthStoreTransfer)
        var page = StoreContents()
        page.streams = [try #require(try await source.stream(Self.snapshotURN))]
        var events = StoreContents()
        events.events = try await source.events(EventQuery(limit: 100))

        await #expect(throws: StorageError.self) {
            try await destination.load { loader in
                try await loader.insert(page)
                try await loader.insert(events)
                // The same stream again: its key exists.
                try await loader.insert(page)
                Issue.record("a duplicate stream was written")
            }
        }
        #expect(try await destination.isEmpty())
        #expect(try await Self.contents(of: destination) == Contents())
    }
}

extension StoreTransferTests {
    /// A source that a writer commits into while a copy reads its receipts.
    struct WrittenDuringCopy: HealthStoreTransfer {
        let store: InMemoryHealthStore

        func batchContext(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
            await store.batchContext(of: requests, due: due)
        }
        func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState] {
            await store.checkStates(of: key, ids: ids)
        }
        func subStreams(of urn: String) async throws -> [SubStreamRecord] { await store.subStreams(of: urn) }
        func nextDeadline() async throws -> Date? { await store.nextDeadline() }
        func clock() async throws -> Date? { await store.clock() }
        func hasReceipt(_ receipt: String) async throws -> Bool { await store.hasReceipt(receipt) }
        func commit(_ change: StoreChange) async throws { try await store.commit(change) }
        func streams() async throws -> [StreamSummary] { await store.streams() }
        func checkStates(urn: String?, subStreamId: String?) async throws -> [StoredCheckState] {
            await store.checkStates(urn: urn, subStreamId: subStreamId)
        }
        func events(_ query: EventQuery) async throws -> [HealthEvent] { await store.events(query) }
        func isEmpty() async throws -> Bool { await store.isEmpty() }
        func load<T: Sendable>(_ body: (any HealthStoreLoader) async throws -> T) async throws -> T {
            try await store.load(body)
        }

        /// The receipts, after a commit that moves the clock, as a writer's would.
        func receipts(after receipt: String?, limit: Int) async throws -> [StoredReceipt] {
            if receipt == nil {
                var change = StoreChange()
                change.clock = try #require(await store.clock()).addingTimeInterval(1)
                try await store.commit(change)
            }
            return await store.receipts(after: receipt, limit: limit)
        }
    }

    @Test(arguments: kinds)
    func aCopyOfASourceWrittenMeanwhileFailsAndWritesNothing(kind: StoreKind) async throws {
        let filled = try #require(try await Self.filledStore(.inMemory) as? InMemoryHealthStore)
        let destination = try #require(try kind.makeStore() as? any HealthStoreTransfer)
        await #expect {
            try await destination.copy(from: WrittenDuringCopy(store: filled))
        } throws: { error in
            let error = error as? StorageError
            return error?.code == .conflict && error?.message.contains("stop its writers") == true
        }
        #expect(try await destination.isEmpty())
    }
}
