import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// `HealthProcessor.apply(batch:)` (group commit) against `apply` one envelope at a time: the same results, envelope
/// by envelope, and the same stored state, events and timers included.
@Suite struct BatchTests {
    static let urn = "urn:health:batch:one"

    @Test(arguments: StoreKind.inMemoryKinds)
    func anEmptyBatchDoesNothing(_ kind: StoreKind) async throws {
        let harness = try Harness(kind)
        #expect(try await harness.processor.apply(batch: []).isEmpty)
        #expect(try await harness.store.clock() == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds + StoreKind.postgresKinds)
    func timersDueBetweenTheEnvelopesOfABatchFireAtTheirDeadlines(_ kind: StoreKind) async throws {
        let harness = try Harness(kind)
        let opening = Payload.snapshot(
            Self.urn, repeatInterval: 10, stop: false, states: [Payload.checkState("a")])
        let open = try EnvelopeDecoder().decode(Array(Payload.envelope([opening]).utf8))
        let other = Payload.snapshot("urn:health:batch:two", states: [Payload.checkState("b")])
        let late = try EnvelopeDecoder().decode(Array(Payload.envelope([other]).utf8))
        let results = try await harness.processor.apply(batch: [
            HealthProcessor.BatchEntry(open, at: Date(timeIntervalSince1970: 100)),
            HealthProcessor.BatchEntry(late, at: Date(timeIntervalSince1970: 125)),
        ])
        #expect(results.count == 2)
        #expect(results[0].counts.created == 1)
        #expect(results[0].timers?.timersFired == 0)
        #expect(results[1].appliedAt?.epoch == 125)
        #expect(results[1].counts.created == 1)
        // The snapshot opened at 100 was stopped automatically at 120 (2 × repeat) and reported late at 110 and 120.
        #expect((results[1].timers?.timersFired ?? 0) >= 2)
        #expect(results[1].timers?.counts.deleted == 0)
        let stopped = try await harness.events(Self.urn, .snapshotAutoStopped)
        #expect(stopped.map(\.at.epoch) == [120])
        #expect(try await harness.errorCodes(Self.urn).contains("main:SubStreamMissingStop"))
        #expect(try await harness.store.clock()?.epoch == 125)
    }

    @Test(arguments: StoreKind.inMemoryKinds + StoreKind.postgresKinds)
    func randomBatchesLeaveTheSameStateAsOneEnvelopeAtATime(_ kind: StoreKind) async throws {
        var totals = (batches: 0, envelopes: 0, timers: 0)
        for sequence in 0..<24 {
            let outcome = try await Self.compare(kind, seed: UInt64(5_000 + sequence), steps: 60)
            totals.batches += outcome.batches
            totals.envelopes += outcome.envelopes
            totals.timers += outcome.timers
        }
        // The sequences batch several envelopes and fire timers inside batches.
        #expect(totals.batches > 50 && totals.envelopes > 2 * totals.batches, "\(totals)")
        #expect(totals.timers > 50, "\(totals)")
    }

    /// Entries with receipts drawn from a small pool, so that some were committed by an earlier batch and some repeat
    /// inside one: a batch skips exactly the entries `apply` one at a time skips, and applies the others the same.
    @Test(arguments: StoreKind.inMemoryKinds + StoreKind.postgresKinds)
    func batchesWithReceiptsSkipWhatOneAtATimeSkips(_ kind: StoreKind) async throws {
        var skipped = 0
        for sequence in 0..<12 {
            let outcome = try await Self.compare(kind, seed: UInt64(7_000 + sequence), steps: 60, receiptPool: 60)
            skipped += outcome.skipped
        }
        #expect(skipped > 20, "receipts repeat across and inside batches")
    }

    /// Replays one random sequence into two processors over fresh stores of `kind`: one applies every envelope on
    /// its own (with a receipt, which keeps `apply` off the batch path), the other applies runs of consecutive
    /// envelopes as batches of random size. Both use small sweep batches, so that the backlog path of
    /// `apply(batch:)` runs too. With a `receiptPool`, the batch entries carry receipts drawn from that many, which
    /// both apply with.
    static func compare(
        _ kind: StoreKind,
        seed: UInt64,
        steps: Int,
        receiptPool: Int? = nil
    ) async throws -> (batches: Int, envelopes: Int, timers: Int, skipped: Int) {
        let configuration = HealthProcessor.Configuration(sweepBatchSize: 2)
        let single = HealthProcessor(store: try kind.makeStore(), configuration: configuration)
        let batched = HealthProcessor(store: try kind.makeStore(), configuration: configuration)
        var generator = SequenceGenerator(seed: seed)
        var sizes = SeededRandom(seed: seed &* 31)
        var pending: [HealthProcessor.BatchEntry] = []
        var outcome = (batches: 0, envelopes: 0, timers: 0, skipped: 0)
        var receipts = 0

        func flush(_ context: Comment) async throws {
            guard !pending.isEmpty else { return }
            var expected: [IntakeResult] = []
            for entry in pending {
                // With a receipt, `apply` takes its own path: timers committed by a sweep, then the envelope.
                receipts += 1
                let receipt = entry.receipt ?? "r\(receipts)"
                expected.append(try await single.apply(entry.envelope, at: entry.now, receipt: receipt))
            }
            let actual = try await batched.apply(batch: pending)
            #expect(actual == expected, context)
            outcome.batches += 1
            outcome.envelopes += pending.count
            outcome.timers += actual.reduce(0) { $0 + ($1.timers?.timersFired ?? 0) }
            outcome.skipped += actual.filter(\.alreadyApplied).count
            pending = []
        }

        for step in 0..<steps {
            let action = generator.nextAction()
            let context = Comment(rawValue: "seed \(seed), step \(step): \(action)")
            if case .envelope(let text, let time) = action {
                guard let envelope = try? EnvelopeDecoder().decode(Array(text.utf8)) else { continue }
                let receipt = receiptPool.map { "k\(sizes.below($0))" }
                pending.append(
                    HealthProcessor.BatchEntry(envelope, at: Date(timeIntervalSince1970: time), receipt: receipt))
                if pending.count >= 1 + sizes.below(6) { try await flush(context) }
                continue
            }
            try await flush(context)
            switch action {
            case .envelope: break
            case .advance(let time):
                let at = Date(timeIntervalSince1970: time)
                #expect(try await batched.advance(to: at) == single.advance(to: at), context)
            case .deleteStream(let urn, let time):
                let at = Date(timeIntervalSince1970: time)
                #expect(try await batched.deleteStream(urn, at: at) == single.deleteStream(urn, at: at), context)
            case .clearErrors(let urn, let time):
                let at = Date(timeIntervalSince1970: time)
                #expect(try await batched.clearErrors(of: urn, at: at) == single.clearErrors(of: urn, at: at), context)
            }
        }
        try await flush(Comment(rawValue: "seed \(seed), last batch"))

        let context = Comment(rawValue: "seed \(seed)")
        let (expected, actual) = (try single.queries, try batched.queries)
        #expect(try await actual.events(EventQuery()) == expected.events(EventQuery()), context)
        try await expectSameStateAndDeadlines(actual, expected, context)
        for urn in SequenceGenerator.urns {
            #expect(try await actual.errors(of: urn) == expected.errors(of: urn), context)
            // A batch commits a record once where envelopes one by one commit it once each: only versions differ.
            #expect(
                try await Self.withoutVersions(actual.status(of: urn))
                    == Self.withoutVersions(expected.status(of: urn)), context)
            #expect(
                try await Self.withoutVersions(actual.subStreams(of: urn))
                    == Self.withoutVersions(expected.subStreams(of: urn)), context)
        }
        return outcome
    }

    static func withoutVersions(_ status: StreamStatus?) -> StreamStatus? {
        guard var status else { return nil }
        for index in status.subStreams.indices { status.subStreams[index].record.version = 0 }
        return status
    }

    static func withoutVersions(_ records: [SubStreamRecord]) -> [SubStreamRecord] {
        records.map { record in
            var record = record
            record.version = 0
            return record
        }
    }
}
