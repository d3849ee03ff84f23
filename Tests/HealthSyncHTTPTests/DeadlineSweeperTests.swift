import Foundation
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Logging
import ServiceLifecycle
import Testing

@Suite struct DeadlineSweeperTests {
    static let urn = "urn:health:sourceId:streamId"
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    /// A processor, processor time, and a sweeper sleeping on a test clock.
    struct Rig {
        let store: any HealthStoreQueries
        let clock = ManualClock(DeadlineSweeperTests.start)
        let sleepClock = TestSleepClock()
        let metrics = HealthSyncMetrics()
        let processor: HealthProcessor
        let sweeper: DeadlineSweeper<TestSleepClock>

        init(
            store: any HealthStoreQueries = InMemoryHealthStore(),
            eventRetention: TimeInterval? = nil,
            idempotencyKeyRetention: TimeInterval? = nil
        ) {
            self.store = store
            processor = HealthProcessor(store: store, logger: Harness.logger)
            sweeper = DeadlineSweeper(
                processor: processor, clock: clock, sleepClock: sleepClock,
                configuration: DeadlineSweeperConfiguration(
                    maximumSleep: .seconds(3600), wakeCoalescing: .zero, retryDelay: .seconds(1),
                    maximumRetryDelay: .seconds(4), eventRetention: eventRetention,
                    idempotencyKeyRetention: idempotencyKeyRetention, pruneInterval: .seconds(3600)
                ),
                metrics: metrics, logger: Harness.logger
            )
        }

        func apply(_ messages: [String]) async throws {
            let envelope = try EnvelopeDecoder().decode(Array(Payload.envelope(messages).utf8))
            try await processor.apply(envelope, at: clock.now)
        }

        /// Runs the sweeper while `body` runs, then cancels it.
        func running(_ body: () async throws -> Void) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await sweeper.run() }
                try await body()
                group.cancelAll()
                try await group.waitForAll()
            }
        }
    }

    @Test func firesTimersThatFellDueWhileDownAtTheirOriginalDeadlines() async throws {
        let rig = Rig()
        // An open snapshot (repeat 60 s): late at +60 s, stopped automatically at +120 s.
        try await rig.apply([Payload.snapshot(Self.urn, repeatInterval: 60, stop: false, states: [])])
        rig.clock.advance(by: 1000)
        try await rig.running {
            // The first sleep starts only after the start-up sweep committed.
            _ = await rig.sleepClock.nextSleep()
        }
        let errors = try await rig.store.errors(of: Self.urn)
        let missingStop = try #require(errors.first { $0.code == .subStreamMissingStop })
        #expect(missingStop.firstSeenAt == Self.start.addingTimeInterval(120))
        let late = try #require(errors.first { $0.code == .subStreamLateData })
        #expect(late.firstSeenAt == Self.start.addingTimeInterval(60))
        let events = try await rig.store.events(EventQuery(urn: Self.urn))
        #expect(events.first { $0.kind == .snapshotAutoStopped }?.at == Self.start.addingTimeInterval(120))
    }

    @Test func sleepsUntilJustPastTheNextDeadlineThenFiresIt() async throws {
        let rig = Rig()
        try await rig.apply([Payload.snapshot(Self.urn, repeatInterval: 60, states: [Payload.checkState("a")])])
        try await rig.running {
            #expect(await rig.sleepClock.nextSleep() == .milliseconds(60_001))
            let errors = try await rig.store.errors(of: Self.urn)
            #expect(errors.isEmpty)
            rig.clock.advance(by: 61)
            rig.sleepClock.advance(by: .seconds(61))
            // Late again one repeat interval after the deadline that just fired (+120 s), seen from +61 s.
            #expect(await rig.sleepClock.nextSleep() == .milliseconds(59_001))
        }
        let late = try #require(try await rig.store.errors(of: Self.urn).first)
        #expect(late.code == .subStreamLateData)
        #expect(late.firstSeenAt == Self.start.addingTimeInterval(60))
    }

    @Test func wakesEarlyWhenAnEarlierDeadlineMayExist() async throws {
        let rig = Rig()
        try await rig.running {
            #expect(await rig.sleepClock.nextSleep() == .seconds(3600), "nothing stored: the longest sleep")
            try await rig.apply([Payload.snapshot(Self.urn, repeatInterval: 30, states: [])])
            rig.sweeper.wake()
            #expect(await rig.sleepClock.nextSleep() == .milliseconds(30_001))
        }
    }

    @Test func retriesWithBackoffAfterAStoreFailure() async throws {
        let store = FaultyStore()
        let rig = Rig(store: store)
        store.failDeadlineReads(3, with: StorageError(code: .unavailable, message: "database is locked"))
        try await rig.running {
            #expect(await rig.sleepClock.nextSleep() == .seconds(1))
            rig.sleepClock.advance(by: .seconds(1))
            #expect(await rig.sleepClock.nextSleep() == .seconds(2))
            rig.sleepClock.advance(by: .seconds(2))
            #expect(await rig.sleepClock.nextSleep() == .seconds(4))
            rig.sleepClock.advance(by: .seconds(4))
            #expect(await rig.sleepClock.nextSleep() == .seconds(3600), "healed")
        }
        let text = String(decoding: rig.metrics.render(), as: UTF8.self)
        #expect(text.contains(#"healthsync_sweeps_total{outcome="failed"} 3"#))
    }

    @Test func prunesEventsOlderThanTheRetentionAtMostOncePerInterval() async throws {
        let rig = Rig(eventRetention: 3600)
        try await rig.apply([
            Payload.snapshot(Self.urn, states: [Payload.checkState("a"), Payload.checkState("b")])
        ])
        rig.clock.advance(by: 7200)
        try await rig.apply([Payload.snapshot(Self.urn, states: [Payload.checkState("a", health: "CRITICAL")])])
        let before = try await rig.store.events(EventQuery(urn: Self.urn))
        let cutoff = Self.start.addingTimeInterval(3600)
        try await rig.running {
            _ = await rig.sleepClock.nextSleep()
            let after = try await rig.store.events(EventQuery(urn: Self.urn))
            // Before the cutoff only the creations of a and b are left: both were alive at the cutoff.
            let kept = after.filter { $0.at < cutoff }
            #expect(kept.map(\.kind) == [.checkStateCreated, .checkStateCreated])
            #expect(kept.compactMap(\.checkStateId).sorted() == ["a", "b"])
            #expect(after.filter { $0.at >= cutoff } == before.filter { $0.at >= cutoff })
            #expect(after.count < before.count)

            // Another hour of events; a sweep before the prune interval has passed prunes nothing.
            rig.clock.advance(by: 7200)
            try await rig.apply([Payload.snapshot(Self.urn, states: [Payload.checkState("a")])])
            let applied = try await rig.store.events(EventQuery(urn: Self.urn))
            #expect(applied.count > after.count)
            rig.sweeper.wake()
            _ = await rig.sleepClock.nextSleep()
            #expect(try await rig.store.events(EventQuery(urn: Self.urn)) == applied)
        }
    }

    @Test func prunesIdempotencyKeysOlderThanTheirRetentionButNotOtherReceipts() async throws {
        let rig = Rig(idempotencyKeyRetention: 3600)
        let envelope = try EnvelopeDecoder().decode(
            Array(Payload.envelope([Payload.snapshot(Self.urn, states: [Payload.checkState("a")])]).utf8))
        try await rig.processor.apply(envelope, at: rig.clock.now, receipt: "http:old")
        try await rig.processor.apply(envelope, at: rig.clock.now, receipt: "replay:file:1")
        rig.clock.advance(by: 7200)
        try await rig.processor.apply(envelope, at: rig.clock.now, receipt: "http:new")
        let events = try await rig.store.events(EventQuery(urn: Self.urn))
        try await rig.running {
            _ = await rig.sleepClock.nextSleep()
            let kept = [
                try await rig.store.hasReceipt("http:old"), try await rig.store.hasReceipt("http:new"),
                try await rig.store.hasReceipt("replay:file:1"),
            ]
            #expect(kept == [false, true, true])
            // Without an event retention, the events stay.
            #expect(try await rig.store.events(EventQuery(urn: Self.urn)) == events)
        }
        // A key re-sent after its retention is applied again.
        let again = try await rig.processor.apply(envelope, at: rig.clock.now, receipt: "http:old")
        #expect(!again.alreadyApplied)
    }

    @Test func stopsOnGracefulShutdown() async throws {
        let rig = Rig()
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [rig.sweeper], logger: Harness.logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            _ = await rig.sleepClock.nextSleep()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
