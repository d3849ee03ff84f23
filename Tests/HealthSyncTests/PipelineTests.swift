import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Synchronization
import Testing

/// `HealthProcessor.stage(batch:)` and `complete(_:)` (the next batch processed while the previous one commits)
/// against `apply(batch:)` one batch at a time: the same results and the same stored state, with commits that
/// overlap, fail or are held.
@Suite struct PipelineTests {
    /// The stores to pipeline into; `sqliteFile` is the on-disk pool, whose reads beside a commit use a reader
    /// (or its context cache); `sqliteFileUncached` has no cache, so every read beside a commit is SQL; `postgres`
    /// (when the PostgreSQL tests are enabled) reads beside a commit on another connection of its pool.
    static let kinds: [StoreKind] =
        [.inMemory, .sqliteInMemory, .sqliteFile, .sqliteFileUncached] + StoreKind.postgresKinds

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func entry(at time: Double, _ messages: String...) throws -> HealthProcessor.BatchEntry {
        let envelope = try EnvelopeDecoder().decode(Array(Payload.envelope(at: time, messages).utf8))
        return HealthProcessor.BatchEntry(envelope, at: Date(timeIntervalSince1970: time))
    }

    static func snapshot(_ urn: String, _ ids: [String], health: String = "CLEAR") -> String {
        Payload.snapshot(urn, repeatInterval: 30, states: ids.map { Payload.checkState($0, health: health) })
    }

    @Test(arguments: kinds)
    func randomPipelinedBatchesLeaveTheSameStateAsBatchesOneAtATime(_ kind: StoreKind) async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Sums the outcomes of `count` sequences made by `generator` from seeds `first`, `first + 1`, ….
        func compareSequences(
            from first: Int, count: Int, steps: Int,
            _ generator: @escaping (UInt64) -> () -> SequenceGenerator.Action
        ) async throws -> (batches: Int, independent: Int, dependent: Int) {
            var totals = (batches: 0, independent: 0, dependent: 0)
            for seed in UInt64(first)..<UInt64(first + count) {
                let outcome = try await Self.compare(
                    kind, in: directory, seed: seed, steps: steps, nextAction: generator(seed))
                totals.batches += outcome.batches
                totals.independent += outcome.independent
                totals.dependent += outcome.dependent
            }
            return totals
        }
        // The fuzz sequences: three streams of every model, so nearly every batch names a stream of the one before.
        let few = try await compareSequences(from: 9_000, count: 12, steps: 60) { seed in
            var generator = SequenceGenerator(seed: seed)
            return { generator.nextAction() }
        }
        #expect(few.batches > 100 && few.dependent > 20, "\(few)")
        // Snapshots of twelve streams, seconds apart: most batches name other streams than the one before.
        let many = try await compareSequences(from: 9_500, count: 6, steps: 80) { seed in
            var generator = ManyStreams(seed: seed)
            return { generator.nextAction() }
        }
        #expect(many.batches > 100 && many.independent > 50 && many.dependent > 5, "\(many)")
    }

    /// Up to three staged batches committing at once (a replay keeps four): a batch that names the stream of an older
    /// running commit waits for that one and is read beside the newer ones, with the same outcome.
    @Test(arguments: kinds)
    func randomBatchesWithSeveralInFlightLeaveTheSameStateAsBatchesOneAtATime(_ kind: StoreKind) async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var totals = (batches: 0, independent: 0, dependent: 0)
        for seed in UInt64(9_700)..<UInt64(9_706) {
            var generator = ManyStreams(seed: seed)
            let outcome = try await Self.compare(
                kind, in: directory, seed: seed, steps: 80, batchesInFlight: 3,
                nextAction: { generator.nextAction() })
            totals.batches += outcome.batches
            totals.independent += outcome.independent
            totals.dependent += outcome.dependent
        }
        // How many batches read beside a running commit depends on timing (a held commit goes through after 20 ms
        // without a read): about 100 of 253 here alone, fewer under load. The outcomes above are what counts.
        #expect(totals.batches > 100 && totals.independent > 5, "\(totals)")
    }

    /// Entries with receipts drawn from a small pool, so that some were committed by an earlier batch (or are still
    /// being committed by the one before) and some repeat inside one: a staged batch skips exactly the entries
    /// `apply(batch:)` skips and applies the others the same.
    @Test(arguments: kinds)
    func pipelinedBatchesWithReceiptsSkipWhatBatchesOneAtATimeSkip(_ kind: StoreKind) async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var totals = (batches: 0, skipped: 0)
        for seed in UInt64(9_500)..<UInt64(9_508) {
            var generator = ManyStreams(seed: seed)
            let outcome = try await Self.compare(
                kind, in: directory, seed: seed, steps: 60, receiptPool: 50, nextAction: { generator.nextAction() })
            totals.batches += outcome.batches
            totals.skipped += outcome.skipped
        }
        #expect(totals.batches > 80 && totals.skipped > 20, "\(totals)")
    }

    /// Snapshots (REPEAT_SNAPSHOTS, whole or split over envelopes) of twelve streams, a few seconds apart, with now and
    /// then a jump past their repeat intervals and an advance of the clock.
    struct ManyStreams {
        private var random: SeededRandom
        private var time = 1_700_000_000.0

        init(seed: UInt64) {
            random = SeededRandom(seed: seed)
        }

        mutating func nextAction() -> SequenceGenerator.Action {
            time += random.chance(0.05) ? 200 : Double(random.below(3))
            if random.chance(0.05) { return .advance(time) }
            let urn = "urn:health:many:s\(random.below(12))"
            let ids = (0..<random.below(5)).map { _ in "c\(random.below(6))" }
            let states = ids.map {
                Payload.checkState($0, health: random.element(of: ["CLEAR", "DEVIATING", "CRITICAL"]))
            }
            let snapshot = Payload.snapshot(
                urn, repeatInterval: random.element(of: [30, 60]), start: random.chance(0.8),
                stop: random.chance(0.8), states: states)
            return .envelope(Payload.envelope(at: time, [snapshot]), time: time)
        }
    }

    /// Replays one random sequence into two processors: one applies each batch with `apply(batch:)`, the other stages
    /// it and completes the previous staged batch only then, as the intake does; the operations in between run while
    /// a staged batch may still commit.
    ///
    /// Each staged batch's commit is held until the next batch has read (or until the next operation), so that every
    /// batch of a run but the first is staged while the previous one commits. With `batchesInFlight` above 1, a batch
    /// is completed only once that many were staged after it, as a replay does: a batch is then staged while several
    /// commits run, and may depend on an older one only.
    static func compare(
        _ kind: StoreKind,
        in directory: URL,
        seed: UInt64,
        steps: Int,
        receiptPool: Int? = nil,
        batchesInFlight: Int = 1,
        nextAction: () -> SequenceGenerator.Action
    ) async throws -> (batches: Int, independent: Int, dependent: Int, skipped: Int) {
        let configuration = HealthProcessor.Configuration(sweepBatchSize: 2)
        let serial = HealthProcessor(store: try kind.makeStore(in: directory), configuration: configuration)
        let store = ControlledStore(try kind.makeStore(in: directory))
        let pipelined = HealthProcessor(store: store, configuration: configuration)
        var sizes = SeededRandom(seed: seed &* 17)
        var pending: [HealthProcessor.BatchEntry] = []
        var inFlight: [(staged: HealthProcessor.StagedBatch, expected: [IntakeResult], context: Comment)] = []
        var batches = 0
        var skipped = 0
        var receipts = SeededRandom(seed: seed &* 29)

        func completeInFlight() async throws {
            store.release()
            while !inFlight.isEmpty {
                let previous = inFlight.removeFirst()
                #expect(try await pipelined.complete(previous.staged) == previous.expected, previous.context)
            }
        }
        func flush(_ context: Comment) async throws {
            guard !pending.isEmpty else { return }
            let expected = try await serial.apply(batch: pending)
            skipped += expected.filter(\.alreadyApplied).count
            // The previous batch's commit is held until this one read, this one's until the next one reads (or the
            // `batchesInFlight`-th after it).
            store.holdBatchCommitsUntilTheNextRead(atMost: .milliseconds(20), reads: batchesInFlight)
            let staged = await pipelined.stage(batch: pending)
            if inFlight.count >= batchesInFlight {
                let previous = inFlight.removeFirst()
                #expect(try await pipelined.complete(previous.staged) == previous.expected, previous.context)
            }
            // Until this batch's commit is held (it starts in a task of its own), nothing else reads.
            for _ in 0..<10_000 where store.heldCount == 0 { await Task.yield() }
            inFlight.append((staged, expected, context))
            batches += 1
            pending = []
        }

        for step in 0..<steps {
            let action = nextAction()
            let context = Comment(rawValue: "seed \(seed), step \(step): \(action)")
            if case .envelope(let text, let time) = action {
                guard let envelope = try? EnvelopeDecoder().decode(Array(text.utf8)) else { continue }
                let receipt = receiptPool.map { "k\(receipts.below($0))" }
                pending.append(
                    HealthProcessor.BatchEntry(envelope, at: Date(timeIntervalSince1970: time), receipt: receipt))
                if pending.count >= 1 + sizes.below(3) { try await flush(context) }
                continue
            }
            try await flush(context)
            try await completeInFlight()
            switch action {
            case .envelope: break
            case .advance(let time):
                let at = Date(timeIntervalSince1970: time)
                #expect(try await pipelined.advance(to: at) == serial.advance(to: at), context)
            case .deleteStream(let urn, let time):
                let at = Date(timeIntervalSince1970: time)
                #expect(try await pipelined.deleteStream(urn, at: at) == serial.deleteStream(urn, at: at), context)
            case .clearErrors(let urn, let time):
                let at = Date(timeIntervalSince1970: time)
                #expect(
                    try await pipelined.clearErrors(of: urn, at: at) == serial.clearErrors(of: urn, at: at), context)
            }
        }
        try await flush(Comment(rawValue: "seed \(seed), last batch"))
        try await completeInFlight()

        // A batch staged beside a held commit either used what it read beside it ("beside", then the held "commit"),
        // or waited for the commit and read after it ("context"; "beside" first when only the due sub-streams
        // showed the overlap).
        let log = store.log
        var (independent, dependent) = (0, 0)
        for index in log.indices where log[index] == "beside" {
            if log[index...].dropFirst().first(where: { $0 != "commit" }) != "context" { independent += 1 }
        }
        dependent = log.filter { $0 == "context" }.count
        let context = Comment(rawValue: "seed \(seed)")
        let (expected, actual) = (try serial.queries, try pipelined.queries)
        #expect(try await actual.events(EventQuery()) == expected.events(EventQuery()), context)
        try await expectSameStateAndDeadlines(actual, expected, context)
        for stream in try await expected.streams() {
            #expect(try await actual.errors(of: stream.urn) == expected.errors(of: stream.urn), context)
            #expect(try await actual.subStreams(of: stream.urn) == expected.subStreams(of: stream.urn), context)
        }
        #expect(try await actual.streams().map(\.urn) == expected.streams().map(\.urn), context)
        return (batches, independent, dependent, skipped)
    }

    @Test func aSubStreamTheHeldCommitSavesIsNotDueForTheBatchStagedBesideIt() async throws {
        let store = ControlledStore(InMemoryHealthStore())
        let reference = HealthProcessor(store: InMemoryHealthStore())
        let processor = HealthProcessor(store: store)
        let batches = [
            // x is due at 130, …
            [try Self.entry(at: 100, Self.snapshot("urn:health:p:x", ["a"]))],
            // … then at 155, in the commit held below; …
            [try Self.entry(at: 125, Self.snapshot("urn:health:p:x", ["a"]))],
            // … a read beside that commit still sees 130, before this batch's time.
            [try Self.entry(at: 140, Self.snapshot("urn:health:p:y", ["b"]))],
        ]
        var expected: [[IntakeResult]] = []
        for batch in batches { expected.append(try await reference.apply(batch: batch)) }
        #expect(expected[2][0].timers?.timersFired == 0)

        #expect(try await processor.apply(batch: batches[0]) == expected[0])
        store.hold()
        let second = await processor.stage(batch: batches[1])
        let thirdStaged = Mutex(false)
        let third = Task {
            let staged = await processor.stage(batch: batches[2])
            thirdStaged.withLock { $0 = true }
            return staged
        }
        // Staged while the commit is held: x is saved by that commit with a deadline after 140, so it is not due.
        let deadline = ContinuousClock.now + .seconds(10)
        while !thirdStaged.withLock({ $0 }) && ContinuousClock.now < deadline { await Task.yield() }
        #expect(thirdStaged.withLock { $0 }, "the third batch waited for the held commit")
        store.release()
        #expect(try await processor.complete(second) == expected[1])
        #expect(try await processor.complete(third.value) == expected[2])
        #expect(store.log == ["context", "commit", "context", "beside", "commit", "commit"])
        try await expectSameStateAndDeadlines(store, reference.store, "after the batch staged beside")
    }

    /// A batch that names the stream of an older staged commit waits for that commit only: once it finished, the
    /// batch is read beside the newer commit (of another stream) that is still held, and staged meanwhile.
    @Test func aBatchOfOtherStreamsIsProcessedWhileThePreviousCommitsAndOneOfTheSameStreamWaitsForThatCommitOnly()
        async throws
    {
        let store = ControlledStore(InMemoryHealthStore())
        let processor = HealthProcessor(store: store)
        let first = try await processor.apply(batch: [Self.entry(at: 100, Self.snapshot("urn:health:p:x", ["a"]))])
        #expect(first[0].counts.created == 1)

        store.hold()
        let second = await processor.stage(batch: [
            try Self.entry(at: 101, Self.snapshot("urn:health:p:x", ["a", "b"], health: "CRITICAL"))
        ])
        // Another stream: read beside the held commit, and staged while it is held.
        let third = await processor.stage(batch: [try Self.entry(at: 102, Self.snapshot("urn:health:p:y", ["c"]))])
        while store.heldCount == 0 { await Task.yield() }
        #expect(store.log.suffix(2) == ["context", "beside"])
        // The same stream as the held commit: it must read after that commit, so staging it waits for the release.
        let fourthStaged = Mutex(false)
        let fourth = Task {
            let staged = await processor.stage(
                batch: [try Self.entry(at: 103, Self.snapshot("urn:health:p:x", ["b"]))])
            fourthStaged.withLock { $0 = true }
            return staged
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(!fourthStaged.withLock { $0 })
        // The second's commit goes through; the third's, queued behind it, is held in its turn. The fourth batch
        // depends on the second's commit only: it is staged while the third's is held.
        store.releaseOldest()
        let deadline = ContinuousClock.now + .seconds(10)
        while !fourthStaged.withLock({ $0 }) && ContinuousClock.now < deadline { await Task.yield() }
        #expect(fourthStaged.withLock { $0 }, "the fourth batch waited for the third's commit too")
        #expect(store.log == ["context", "commit", "context", "beside", "commit", "beside"])
        store.release()
        let fourthBatch = try await fourth.value

        let results = [
            try await processor.complete(second), try await processor.complete(third),
            try await processor.complete(fourthBatch),
        ]
        #expect(results.map { $0[0].counts.created } == [1, 1, 0])
        #expect(results.map { $0[0].counts.updated } == [1, 0, 1])
        #expect(results[2][0].counts.deleted == 1)
        // The fourth batch named the second's stream: it read once that commit finished, beside the third's.
        #expect(store.log == ["context", "commit", "context", "beside", "commit", "beside", "commit", "commit"])
        let stored = try await store.checkStates(urn: "urn:health:p:x", subStreamId: nil)
        #expect(stored.map(\.checkState.checkStateId) == ["b"])
        #expect(stored.first?.checkState.health == .clear)
        #expect(try await store.checkStates(urn: "urn:health:p:y", subStreamId: nil).count == 1)
    }

    @Test(arguments: [true, false])
    func aFailedCommitFailsTheBatchesStagedAfterItAndCompletingAppliesThemAgainInOrder(
        _ sameStream: Bool
    ) async throws {
        let store = ControlledStore(InMemoryHealthStore())
        let reference = HealthProcessor(store: InMemoryHealthStore())
        let processor = HealthProcessor(store: store)
        let other = sameStream ? "urn:health:p:x" : "urn:health:p:y"
        let batches = [
            [try Self.entry(at: 100, Self.snapshot("urn:health:p:x", ["a", "b"]))],
            [try Self.entry(at: 101, Self.snapshot(other, ["b"], health: "DEVIATING"))],
            [try Self.entry(at: 102, Self.snapshot("urn:health:p:x", ["c"]))],
        ]
        var expected: [[IntakeResult]] = []
        for batch in batches { expected.append(try await reference.apply(batch: batch)) }

        store.hold()
        store.failNextCommits(StorageError(code: .conflict, message: "another writer"))
        let first = await processor.stage(batch: batches[0])
        let secondTask = Task { await processor.stage(batch: batches[1]) }
        if !sameStream {
            // Another stream is staged while the first commit is held; its commit waits for the first one.
            _ = await secondTask.value
        }
        store.release()
        let second = await secondTask.value
        // The first commit failed: the third batch cannot be staged on top of it until it is completed.
        let third = await processor.stage(batch: batches[2])
        #expect(try await processor.complete(first) == expected[0])
        #expect(try await processor.complete(second) == expected[1])
        #expect(try await processor.complete(third) == expected[2])
        #expect(store.log.filter { $0 == "failed" }.count == 1)

        #expect(try await store.events(EventQuery()) == reference.queries.events(EventQuery()))
        try await expectSameStateAndDeadlines(store, reference.store, "after the failed commit")
    }

    @Test func aCommitThatFailsForGoodLeavesNothingOfItsBatchAndTheLaterBatchesAreApplied() async throws {
        let store = ControlledStore(InMemoryHealthStore())
        let reference = HealthProcessor(store: InMemoryHealthStore())
        let processor = HealthProcessor(store: store)
        let lost = [try Self.entry(at: 100, Self.snapshot("urn:health:p:x", ["a"]))]
        let kept = [try Self.entry(at: 101, Self.snapshot("urn:health:p:y", ["b"]))]
        let expected = try await reference.apply(batch: kept)

        store.hold()
        store.failNextCommits(StorageError(code: .unavailable, message: "disk full"))
        let first = await processor.stage(batch: lost)
        let second = await processor.stage(batch: kept)
        store.release()
        await #expect(throws: StorageError.self) { try await processor.complete(first) }
        #expect(try await processor.complete(second) == expected)
        #expect(try await store.stream("urn:health:p:x") == nil)
        try await expectSameStateAndDeadlines(store, reference.store, "after the lost batch")
    }

    /// A batch whose read failed is not committed, and neither is any batch staged after it before it is completed:
    /// a caller that stops at its error, as a replay does, leaves a prefix of what it staged.
    @Test func aBatchThatCannotBeReadBlocksTheBatchesAfterItUntilItIsCompleted() async throws {
        let store = ControlledStore(InMemoryHealthStore())
        let reference = HealthProcessor(store: InMemoryHealthStore())
        let processor = HealthProcessor(store: store)
        let lost = [try Self.entry(at: 100, Self.snapshot("urn:health:p:x", ["a"]))]
        let later = [try Self.entry(at: 101, Self.snapshot("urn:health:p:y", ["b"]))]
        let expected = try await reference.apply(batch: later)

        store.failNextReads(StorageError(code: .unavailable, message: "I/O error"))
        let first = await processor.stage(batch: lost)
        let second = await processor.stage(batch: later)
        // Nothing was committed: the second batch waits for the first one's completion.
        #expect(!store.log.contains("commit"))
        #expect(try await store.stream("urn:health:p:y") == nil)
        await #expect(throws: StorageError.self) { try await processor.complete(first) }
        #expect(try await store.stream("urn:health:p:y") == nil)
        // Completed in order, it is applied on its own, as the intake answers it.
        #expect(try await processor.complete(second) == expected)
        #expect(try await store.stream("urn:health:p:x") == nil)
        try await expectSameStateAndDeadlines(store, reference.store, "after the batch that could not be read")
    }

    /// A staged commit does not keep the processor (and so its store) alive: a command that returns right after its
    /// last commit releases the store before the process exits, and SQLite removes its write-ahead log
    /// (`ReadOnlyInspectionTests` reads the file on a read-only file system afterwards; with the processor kept by
    /// the commit's task, 5 replays in 200 left the log behind).
    @Test func aStagedCommitDoesNotKeepTheProcessorAlive() async throws {
        let store = ControlledStore(InMemoryHealthStore())
        store.hold()
        weak var released: HealthProcessor?
        var staged: HealthProcessor.StagedBatch?
        do {
            let processor = HealthProcessor(store: store)
            released = processor
            staged = await processor.stage(batch: [try Self.entry(at: 100, Self.snapshot("urn:health:p:x", ["a"]))])
        }
        // The commit is held, so its task still runs: only it could keep the processor.
        while store.heldCount == 0 { await Task.yield() }
        #expect(released == nil)
        store.release()
        while !store.log.contains("commit") { await Task.yield() }
        #expect(staged != nil)
        #expect(try await store.checkStates(urn: "urn:health:p:x", subStreamId: nil).count == 1)
    }

    @Test func otherMutationsWaitForTheStagedCommits() async throws {
        let store = ControlledStore(InMemoryHealthStore())
        let processor = HealthProcessor(store: store)
        store.hold()
        let staged = await processor.stage(batch: [
            try Self.entry(at: 100, Payload.snapshot("urn:health:p:x", repeatInterval: 10, stop: false, states: []))
        ])
        let sweep = Task { try await processor.advance(to: Date(timeIntervalSince1970: 200)) }
        while store.heldCount == 0 { await Task.yield() }
        #expect(!store.log.contains("due"))
        store.release()
        let result = try await sweep.value
        _ = try await processor.complete(staged)
        // The sweep read after the staged commit, so it found the snapshot's deadlines and fired them.
        let log = store.log
        #expect((log.firstIndex(of: "commit") ?? .max) < (log.firstIndex(of: "due") ?? -1))
        #expect(result.timersFired > 0)
    }

    /// A replay stages up to `batchesInFlight` batches while their commits wait, and one more that waits to
    /// complete the oldest, as long as those before the newest carry at most `checkStatesInFlight` check states;
    /// once the commits go through, every envelope is applied.
    @Test(arguments: [(1, 120_000, 2), (3, 120_000, 4), (3, 3, 3)])
    func aReplayStagesAsManyBatchesAsItKeepsInFlightWhileTheirCommitsWait(
        _ batchesInFlight: Int, _ checkStatesInFlight: Int, _ stagedWhileHeld: Int
    ) async throws {
        let store = ControlledStore(InMemoryHealthStore())
        var replayer = Replayer(processor: HealthProcessor(store: store))
        replayer.envelopesPerCommit = 2
        replayer.batchesInFlight = batchesInFlight
        replayer.checkStatesInFlight = checkStatesInFlight
        // Twenty envelopes of twenty streams, of one check state each: no batch depends on another's commit.
        let lines = (0..<20).map {
            Payload.envelope(at: 1_000 + Double($0), [Self.snapshot("urn:health:p:s\($0)", ["a"])])
        }
        let source = Replayer.Source(name: "capture.jsonl", bytes: Array(lines.joined(separator: "\n").utf8))
        store.hold()
        let replay = Task { try await replayer.replay([source]) }
        func reads() -> Int { store.log.count { $0 == "context" || $0 == "beside" } }
        // A minute: the whole suite at once can keep the pool's threads busy for many seconds.
        let deadline = ContinuousClock.now + .seconds(60)
        while reads() < stagedWhileHeld && ContinuousClock.now < deadline { await Task.yield() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(reads() == stagedWhileHeld)
        #expect(!store.log.contains("commit"))
        store.release()
        let outcome = try await replay.value
        #expect(outcome.envelopesApplied == 20)
        #expect(outcome.counts.created == 20)
        #expect(try await store.streams().count == 20)
    }
}
