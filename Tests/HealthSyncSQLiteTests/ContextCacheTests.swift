import Foundation
import GRDB
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

@testable import HealthSyncSQLite

/// The SQLite store's context cache: it answers the processor's reads of streams it lately wrote without SQL, it
/// equals what the file holds, and another connection's commits can never make the processor act on stale state.
@Suite struct ContextCacheTests {
    private static let urn = "urn:health:test:cache"

    private static func envelope(at time: Double, _ messages: String...) throws -> Envelope {
        try EnvelopeDecoder().decode(Array(Payload.envelope(at: time, messages).utf8))
    }

    private static func snapshot(_ ids: [String], of urn: String = urn, health: String = "CLEAR") -> String {
        Payload.snapshot(urn, states: ids.map { Payload.checkState($0, health: health) })
    }

    private static func at(_ time: Double) -> Date { Date(timeIntervalSince1970: time) }

    /// What a store with no cache reads of `requests` in the same file.
    private static func uncachedRead(
        of requests: [ContextRequest],
        path: String
    ) async throws -> BatchContext {
        let plain = try SQLiteHealthStore(path: path, contextCacheCapacity: 0)
        return try await plain.batchContext(of: requests, due: DueTimers(before: at(0), limit: 10))
    }

    @Test func theNextMessageOfAStreamJustWrittenIsProcessedWithoutReadingTheFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let store = try SQLiteHealthStore(path: path)
            let cache = try #require(store.cache)
            let processor = HealthProcessor(store: store)
            let memory = HealthProcessor(store: InMemoryHealthStore())
            let envelopes = [
                try Self.envelope(at: 100, Self.snapshot(["a", "b", "c"])),
                try Self.envelope(at: 130, Self.snapshot(["a", "b", "d"], health: "CRITICAL")),
                try Self.envelope(at: 160, Self.snapshot(["d"])),
            ]
            for (index, envelope) in envelopes.enumerated() {
                let time = Self.at(100 + 30 * Double(index))
                #expect(try await processor.apply(envelope, at: time) == memory.apply(envelope, at: time))
            }
            let statistics = cache.statistics
            // The first envelope read the file (the stream was new); the two after it were answered from the cache.
            #expect(statistics.misses == 1)
            #expect(statistics.hits == 2)
            try await expectSameState(store, memory.store)

            // What the cache answers equals what the file holds, field for field.
            let requests = [ContextRequest(key: StreamKey.main(Self.urn), includingCheckStates: true)]
            let cached = try await store.batchContext(of: requests, due: DueTimers(before: Self.at(0), limit: 10))
            #expect(cache.statistics.hits == 3)
            #expect(try await cached == Self.uncachedRead(of: requests, path: path))
        }
    }

    @Test func datesReadBackFromTheCacheAsFromTheFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let store = try SQLiteHealthStore(path: path)
            let processor = HealthProcessor(store: store)
            // Times with more digits than seconds since 1970 keep: they read back rounded from the stored REAL.
            var rounded = 0
            for step in 0..<5 {
                let time = Date(timeIntervalSinceReferenceDate: 800_000_000.123_456_789 + Double(step) * 11.987_654_321)
                if time.asStored != time { rounded += 1 }
                let envelope = try Self.envelope(
                    at: 0, Self.snapshot(["a", "b"]),
                    Payload.snapshot(
                        "urn:health:test:other", start: step == 0, stop: false, states: [Payload.checkState("x")]))
                _ = try await processor.apply(envelope, at: time)
            }
            let requests = [
                ContextRequest(key: StreamKey.main(Self.urn), includingCheckStates: true),
                ContextRequest(key: StreamKey.main("urn:health:test:other"), includingCheckStates: true),
            ]
            let cache = try #require(store.cache)
            let hits = cache.statistics.hits
            let cached = try await store.batchContext(of: requests, due: DueTimers(before: .distantPast, limit: 10))
            #expect(cache.statistics.hits == hits + 2)
            let fromFile = try await Self.uncachedRead(of: requests, path: path)
            #expect(cached == fromFile)
            #expect(rounded > 0, "no time of the test is rounded by the file")
        }
    }

    @Test func anotherConnectionsCommitMakesTheProcessorReadTheFileAgain() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let store = try SQLiteHealthStore(path: path)
            let cache = try #require(store.cache)
            let processor = HealthProcessor(store: store)
            // Another process on the same file, here another connection.
            let other = HealthProcessor(store: try SQLiteHealthStore(path: path, contextCacheCapacity: 0))
            let memoryStore = InMemoryHealthStore()
            let memory = HealthProcessor(store: memoryStore)
            let steps: [(HealthProcessor, Envelope, Double)] = [
                (processor, try Self.envelope(at: 100, Self.snapshot(["a", "b", "c"])), 100),
                // The other writer removes b and c and turns a critical; `processor`'s cache still holds a, b, c.
                (other, try Self.envelope(at: 130, Self.snapshot(["a"], health: "CRITICAL")), 130),
                (processor, try Self.envelope(at: 160, Self.snapshot(["a", "d"])), 160),
            ]
            for (index, (writer, envelope, time)) in steps.enumerated() {
                let expected = try await memory.apply(envelope, at: Self.at(time))
                #expect(try await writer.apply(envelope, at: Self.at(time)) == expected, "step \(index)")
            }
            try await expectSameState(store, memory.store)
            #expect(try await store.events(EventQuery()) == memoryStore.events(EventQuery()))
            // The stale read was answered from the cache; its commit failed on the data version, and the retry read
            // the file.
            #expect(cache.statistics.hits == 1)
            #expect(cache.statistics.misses == 2)

            // Raw SQL on the store's own connection empties the cache as well.
            try await store.execute("UPDATE checkState SET health = 'DEVIATING'")
            #expect(cache.statistics.size == 0)
        }
    }

    @Test func aChangeByAnotherConnectionThatBumpsNoVersionIsSeenToo() async throws {
        try await withTemporaryDirectory { directory in
            // The same steps on a file with a cache and on one without: a raw write by another connection changes a
            // check state's health without touching the versions, which the processor's commit checks.
            var outcomes: [IntakeResult] = []
            for capacity in [SQLiteHealthStore.defaultContextCacheCapacity, 0] {
                let path = temporaryFile(in: directory)
                let store = try SQLiteHealthStore(path: path, contextCacheCapacity: capacity)
                let processor = HealthProcessor(store: store)
                _ = try await processor.apply(try Self.envelope(at: 100, Self.snapshot(["a", "b"])), at: Self.at(100))
                let other = try SQLiteHealthStore(path: path, contextCacheCapacity: 0)
                try await other.execute("UPDATE checkState SET health = 'CRITICAL' WHERE checkStateId = 'a'")
                outcomes.append(
                    try await processor.apply(try Self.envelope(at: 130, Self.snapshot(["a", "b"])), at: Self.at(130)))
            }
            // Both saw a turn from CRITICAL back to CLEAR.
            #expect(outcomes[0].counts.updated == 1)
            #expect(outcomes[0] == outcomes[1])
        }
    }

    @Test func anotherConnectionsCommitBeforeTheStoresFirstCommitIsNoticedToo() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let seeded = HealthProcessor(store: try SQLiteHealthStore(path: path, contextCacheCapacity: 0))
            _ = try await seeded.apply(try Self.envelope(at: 100, Self.snapshot(["a", "b"])), at: Self.at(100))

            // A new store reads the stream (and caches it); another connection then changes a check state without
            // a version; the new store's first commit, about another stream, sees that and empties the cache.
            let store = try SQLiteHealthStore(path: path)
            let requests = [ContextRequest(key: StreamKey.main(Self.urn), includingCheckStates: true)]
            _ = try await store.batchContext(of: requests, due: DueTimers(before: Self.at(0), limit: 10))
            let other = try SQLiteHealthStore(path: path, contextCacheCapacity: 0)
            try await other.execute("UPDATE checkState SET health = 'CRITICAL' WHERE checkStateId = 'a'")
            _ = try await HealthProcessor(store: store).apply(
                try Self.envelope(at: 130, Self.snapshot(["x"], of: "urn:health:test:unrelated")), at: Self.at(130))
            let read = try await store.batchContext(of: requests, due: DueTimers(before: Self.at(0), limit: 10))
            #expect(try await read == Self.uncachedRead(of: requests, path: path))
            #expect(read.contexts.first?.checkStates?.first?.checkState.health == .critical)
        }
    }

    @Test func aFullCacheKeepsWhatItHoldsAndStartsOverWhenTheStreamsMoveOn() {
        // Each stream counts two entries (its record and its main sub-stream's, both absent here).
        let cache = ContextCache(capacity: 6, window: 8)
        func request(_ stream: Int) -> [ContextRequest] {
            [ContextRequest(key: .main("urn:health:test:s\(stream)"), includingCheckStates: false)]
        }
        func cached(_ stream: Int) -> Bool {
            cache.lookup(of: request(stream), dueBefore: .distantPast, limit: 0).complete != nil
        }
        func fill(_ stream: Int) {
            let empty = StreamContext(stream: nil, errors: [], subStream: nil)
            cache.fill(cache.token(), with: [empty], of: request(stream), nextDeadline: nil)
        }
        for stream in 0..<4 { fill(stream) }
        // Full after three streams: the fourth is not admitted, and nothing held is dropped for it.
        #expect(cache.statistics.size == 6)
        #expect((0..<3).allSatisfy(cached))
        #expect(!cached(3))
        // Streams 10 to 13 alone are sent now: after a window of mostly misses (the eighth lookup) the cache starts
        // over and takes three of them.
        for _ in 0..<2 {
            for stream in 10..<14 where !cached(stream) { fill(stream) }
        }
        #expect((10..<14).count(where: cached) == 3)
        #expect(!cached(0))
    }

    /// An in-memory store whose cache holds the stream after a first snapshot of check states a and b at 100.
    private static func storeWithACachedStream() async throws -> (
        store: SQLiteHealthStore, cache: ContextCache, processor: HealthProcessor
    ) {
        let store = try SQLiteHealthStore.inMemory()
        let cache = try #require(store.cache)
        let processor = HealthProcessor(store: store)
        _ = try await processor.apply(try envelope(at: 100, snapshot(["a", "b"])), at: at(100))
        #expect(cache.statistics.size > 0)
        return (store, cache, processor)
    }

    @Test func aCommitThatFailsEmptiesTheCache() async throws {
        let (store, cache, processor) = try await Self.storeWithACachedStream()
        let stale = try #require(try await store.stream(Self.urn))
        var change = StoreChange()
        change.savedStreams = [StreamRecord(urn: Self.urn, consistencyModel: .repeatSnapshots, createdAt: Self.at(0))]
        change.savedStreams[0].version = stale.version + 5
        await #expect(throws: StorageError.self) { try await store.commit(change) }
        #expect(cache.statistics.size == 0)
        // The next message reads the file again and is processed as if nothing had happened.
        let memory = HealthProcessor(store: InMemoryHealthStore())
        _ = try await memory.apply(try Self.envelope(at: 100, Self.snapshot(["a", "b"])), at: Self.at(100))
        let next = try Self.envelope(at: 160, Self.snapshot(["b", "c"]))
        #expect(try await processor.apply(next, at: Self.at(160)) == memory.apply(next, at: Self.at(160)))
        try await expectSameState(store, memory.store)
    }

    @Test func commitsThatDeleteCheckStatesReuseTheCompiledDelete() async throws {
        // GRDB drops the cached statements that can delete rows whenever a transaction observer is added or removed:
        // a cache that followed each commit with an observer of its own had the delete compiled again in every
        // commit that deleted a check state.
        let store = try SQLiteHealthStore.inMemory()
        let processor = HealthProcessor(store: store)
        // The statement object itself is held, so that a new one cannot take its address.
        let compiledDelete = {
            try store.writer.writeWithoutTransaction { db in
                try db.cachedStatement(sql: SQLiteHealthStore.deleteCheckStateSQL)
            }
        }
        _ = try await processor.apply(try Self.envelope(at: 100, Self.snapshot(["a", "b", "c"])), at: Self.at(100))
        _ = try await processor.apply(try Self.envelope(at: 130, Self.snapshot(["a", "b"])), at: Self.at(130))
        let first = try compiledDelete()
        let result = try await processor.apply(try Self.envelope(at: 160, Self.snapshot(["a"])), at: Self.at(160))
        #expect(result.counts.deleted == 1)
        #expect(try compiledDelete() === first)
        #expect(try #require(store.cache).statistics.hits == 2)
    }

    @Test func aRolledBackTransactionThatWroteAChangeEmptiesTheCache() async throws {
        let (store, cache, processor) = try await Self.storeWithACachedStream()
        // A transaction that ends without error in its body but rolls back: the changes it followed never happened.
        try await store.writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                cache.follow([StoreChange()])
                return .rollback
            }
        }
        #expect(cache.statistics.size == 0)
        // A transaction that wrote no followed change leaves the cache alone.
        _ = try await processor.apply(try Self.envelope(at: 130, Self.snapshot(["a", "b"])), at: Self.at(130))
        let size = cache.statistics.size
        try await store.writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) { .rollback }
        }
        #expect(size > 0)
        #expect(cache.statistics.size == size)
    }

    @Test func aBatchTakesWhatTheCacheHoldsAndReadsOnlyTheRest() async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let seeded = HealthProcessor(store: try SQLiteHealthStore(path: path, contextCacheCapacity: 0))
            let urns = (0..<4).map { "urn:health:test:batch-\($0)" }
            for (index, urn) in urns.enumerated() {
                _ = try await seeded.apply(
                    try Self.envelope(at: 0, Self.snapshot(["a", "b\(index)"], of: urn)), at: Self.at(100))
            }
            let store = try SQLiteHealthStore(path: path)
            let cache = try #require(store.cache)
            let requests = urns.map { ContextRequest(key: StreamKey.main($0), includingCheckStates: true) }
            // Two of the four streams are read (and cached) first; the batch then reads only the other two.
            _ = try await store.batchContext(of: Array(requests[1...2]), due: DueTimers(before: Self.at(0), limit: 10))
            #expect(cache.statistics.misses == 2)
            let read = try await store.batchContext(of: requests, due: DueTimers(before: Self.at(0), limit: 10))
            #expect(cache.statistics.hits == 2)
            #expect(cache.statistics.misses == 4)
            #expect(try await read == Self.uncachedRead(of: requests, path: path))
            let beside = try await store.batchContextBesideWrites(
                of: requests, due: DueTimers(before: Self.at(0), limit: 10))
            #expect(cache.statistics.hits == 6)
            #expect(beside == read)
        }
    }

    @Test func holdsNoMoreThanItsCapacityAndStaysExact() async throws {
        let capacity = 250
        let store = try SQLiteHealthStore.inMemory(contextCacheCapacity: capacity)
        let cache = try #require(store.cache)
        let processor = HealthProcessor(store: store)
        let memory = HealthProcessor(store: InMemoryHealthStore())
        let ids = (0..<40).map { "check-\($0)" }
        var largest = 0
        for round in 0..<3 {
            for stream in 0..<20 {
                let time = Self.at(Double(1_000 + round * 60 + stream))
                let kept = Array(ids.dropFirst(round * 5 + stream % 3))
                let envelope = try Self.envelope(at: 0, Self.snapshot(kept, of: "urn:health:test:s\(stream)"))
                #expect(try await processor.apply(envelope, at: time) == memory.apply(envelope, at: time))
                largest = max(largest, cache.statistics.size)
            }
        }
        // Check states saved into cached sub-streams may take it a tenth past its capacity before it drops some.
        #expect(largest <= capacity + capacity / 10)
        #expect(largest > capacity / 2)
        try await expectSameState(store, memory.store)
    }

    @Test func dueDeadlinesAreNeverAnsweredFromTheCache() async throws {
        let store = try SQLiteHealthStore.inMemory()
        let cache = try #require(store.cache)
        let processor = HealthProcessor(store: store)
        _ = try await processor.apply(try Self.envelope(at: 100, Self.snapshot(["a"])), at: Self.at(100))
        let key = StreamKey.main(Self.urn)
        let deadline = try #require(try await store.nextDeadline())
        let requests = [ContextRequest(key: key, includingCheckStates: true)]
        // Before the deadline the cache knows nothing is due; past it, the store asks the file for the due
        // sub-streams (and still takes the context from the cache).
        let before = try await store.batchContext(of: requests, due: DueTimers(before: deadline, limit: 10))
        #expect(before.due.isEmpty)
        let statistics = cache.statistics
        let after = try await store.batchContext(
            of: requests, due: DueTimers(before: deadline.addingTimeInterval(1), limit: 10))
        #expect(after.due == [key])
        #expect(after.contexts == before.contexts)
        #expect(cache.statistics.hits == statistics.hits + 1)
        #expect(cache.statistics.misses == statistics.misses)
    }

    @Test func aSubStreamsCheckStatesStayInTheOrderTheFileReadsThem() {
        // Ids whose byte order differs from Swift's `String` order, and prefixes of each other. (Ids that differ only
        // in Unicode normalization, "é" and "e\u{301}", are one key to Swift's `String` and so to the whole
        // processor; they are left out.)
        let ids = ["a", "aa", "B", "", "é", "z", "check-10", "check-9", "ä", "Z", "ß"]
        let key = StreamKey.main(Self.urn)
        func state(_ id: String, _ version: Int64) -> StoredCheckState {
            StoredCheckState(
                key: key,
                checkState: CheckState(checkStateId: id, name: id, health: .clear, topologyElementIdentifier: "e"),
                lastSeenAt: Self.at(0),
                snapshotSequence: version
            )
        }
        var table = CheckStateTable([state("z", 0), state("a", 0), state("B", 0)])
        var reference: [String: StoredCheckState] = ["z": state("z", 0), "a": state("a", 0), "B": state("B", 0)]
        var random = SystemRandomNumberGenerator()
        for step in 0..<400 {
            // Several changes between two reads, as a commit or a few pending commits make them.
            for change in 0..<Int.random(in: 1...6, using: &random) {
                let id = ids.randomElement(using: &random) ?? "a"
                let version = Int64(step * 10 + change)
                if Bool.random(using: &random) {
                    let inserted = table.save(state(id, version))
                    #expect(inserted == (reference.updateValue(state(id, version), forKey: id) == nil))
                } else {
                    #expect(table.remove(id) == (reference.removeValue(forKey: id) != nil))
                }
                #expect(table.count == reference.count)
            }
            let expected = reference.values.sorted {
                $0.checkStateId.utf8.lexicographicallyPrecedes($1.checkStateId.utf8)
            }
            let (states, positions) = table.statesWithPositions()
            #expect(states == expected, "step \(step)")
            #expect(table.isOrdered)
            // The positions a working set finds the check states by: each id's index in the states handed out.
            #expect(positions.count == states.count, "step \(step)")
            #expect(states.indices.allSatisfy { positions[states[$0].checkStateId] == $0 }, "step \(step)")
        }
    }

    @Test(arguments: [IdOrder.ascending, .descending, .shuffled])
    func aLargeSubStreamKeepsItsOrderThroughSavesAndRemovals(order: IdOrder) {
        let key = StreamKey.main(Self.urn)
        func state(_ number: Int) -> StoredCheckState {
            let id = "check-\(number)"
            return StoredCheckState(
                key: key,
                checkState: CheckState(checkStateId: id, name: id, health: .clear, topologyElementIdentifier: "e"),
                lastSeenAt: Self.at(0),
                snapshotSequence: 1
            )
        }
        let numbers = order.arrange(Array(0..<5_000))
        var table = CheckStateTable()
        let inserted = numbers.map { table.save(state($0)) }
        #expect(inserted.allSatisfy { $0 })
        // Saves only append: a sub-stream sent in ascending order stays ordered, the others wait for the next read.
        #expect(table.isOrdered == (order == .ascending))
        let ids = numbers.map { "check-\($0)" }
        let sortedIds = ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let states = table.statesWithPositions().states
        #expect(states.map(\.checkStateId) == sortedIds)
        // Remove every other one, then put a few back.
        let removed = numbers.filter { $0 % 2 == 0 }.map { table.remove("check-\($0)") }
        let savedAgain = numbers.filter { $0 % 100 == 0 }.map { table.save(state($0)) }
        #expect(removed.allSatisfy { $0 } && savedAgain.allSatisfy { $0 })
        let kept = numbers.filter { $0 % 2 == 1 || $0 % 100 == 0 }.map { "check-\($0)" }
        #expect(table.count == kept.count)
        let left = table.statesWithPositions().states
        #expect(left.map(\.checkStateId) == kept.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    /// The order in which a test sends check-state ids.
    enum IdOrder: Sendable, CustomTestStringConvertible {
        case ascending, descending, shuffled

        func arrange(_ numbers: [Int]) -> [Int] {
            switch self {
            case .ascending: numbers.sorted { "check-\($0)".utf8.lexicographicallyPrecedes("check-\($1)".utf8) }
            case .descending: numbers.sorted { "check-\($1)".utf8.lexicographicallyPrecedes("check-\($0)".utf8) }
            case .shuffled: numbers.shuffled()
            }
        }

        var testDescription: String {
            switch self {
            case .ascending: "ascending ids"
            case .descending: "descending ids"
            case .shuffled: "shuffled ids"
            }
        }
    }

    @Test(arguments: [IdOrder.ascending, .descending, .shuffled])
    func aSubStreamLargerThanTheCacheIsNotCachedAndPushesNothingOut(order: IdOrder) async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let store = try SQLiteHealthStore(path: path, contextCacheCapacity: 1_000)
            let cache = try #require(store.cache)
            let processor = HealthProcessor(store: store)
            let small = (0..<5).map { "urn:health:test:small-\($0)" }
            for urn in small {
                _ = try await processor.apply(
                    try Self.envelope(at: 0, Self.snapshot(["a", "b", "c"], of: urn)), at: Self.at(100))
            }
            // Twice the cache, in one new sub-stream: saved by the commit, never held.
            let large = order.arrange(Array(0..<2_000)).map { "check-\($0)" }
            _ = try await processor.apply(try Self.envelope(at: 0, Self.snapshot(large)), at: Self.at(100))
            let requests = small.map { ContextRequest(key: StreamKey.main($0), includingCheckStates: true) }
            let before = cache.statistics
            #expect(before.size <= before.capacity)
            let read = try await store.batchContext(of: requests, due: nil)
            // Every small stream is still answered from the cache.
            #expect(cache.statistics.hits == before.hits + small.count)
            #expect(read.contexts.map { $0.checkStates?.count } == small.map { _ in 3 })

            // The large one is read from the file each time, and what it reads is not admitted either.
            let largeRequest = [ContextRequest(key: StreamKey.main(Self.urn), includingCheckStates: true)]
            for _ in 0..<2 {
                let statistics = cache.statistics
                let context = try await store.batchContext(of: largeRequest, due: nil)
                #expect(context.contexts.first?.checkStates?.count == large.count)
                #expect(cache.statistics.misses == statistics.misses + 1)
                #expect(cache.statistics.size == statistics.size)
            }
            #expect(
                try await store.batchContext(of: largeRequest, due: nil)
                    == Self.uncachedRead(of: largeRequest, path: path))
        }
    }

    private func expectSameState(_ actual: any HealthStore, _ expected: any HealthStore) async throws {
        let actual = try #require(actual as? any HealthStoreQueries)
        let expected = try #require(expected as? any HealthStoreQueries)
        #expect(
            try await actual.checkStates(urn: nil, subStreamId: nil) == expected.checkStates(urn: nil, subStreamId: nil)
        )
        #expect(try await actual.streams() == expected.streams())
        #expect(try await actual.nextDeadline() == expected.nextDeadline())
    }
}
