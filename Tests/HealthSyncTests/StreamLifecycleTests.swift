import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Synchronization
import Testing

/// SPEC §6: model lock, error aggregation and closing, clear errors, delete stream, events; SPEC §7: atomicity,
/// the clock, restarts.
@Suite struct StreamLifecycleTests {
    let urn = "urn:health:test:lifecycle"

    @Test(arguments: StoreKind.inMemoryKinds)
    func messageOfAnotherModelIsIgnoredWithModelMismatch(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.repeatStates(urn, states: [Payload.checkState("a")]))
        let result = try await h.send(at: 110, Payload.snapshot(urn, states: []))
        #expect(result.messagesRejected == 0, "being ignored by the model lock is not a rejection")
        #expect(try await h.healths(urn) == ["a": .clear], "the empty snapshot was not applied")
        #expect(try await h.errorCodes(urn) == ["stream:StreamConsistencyModelMismatch"])
        try await h.send(at: 120, Payload.repeatStates(urn, setup: false, states: [Payload.checkState("a")]))
        #expect(
            try await h.errorCodes(urn) == ["stream:StreamConsistencyModelMismatch"],
            "only clear-errors closes a model mismatch"
        )
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func messageWithoutModelIsRepeatSnapshotsWhateverItsStream(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.increment(urn, checkpoint: Checkpoint(offset: 1)))
        try await h.send(at: 110, Payload.snapshot(urn, states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn).isEmpty)
        #expect(try await h.errorCodes(urn) == ["stream:StreamConsistencyModelMismatch"])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func repeatsOfOneCodeAggregateIntoOneRecord(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 600, states: []))
        for t in [110.0, 120, 130] {
            try await h.send(at: t, Payload.snapshot(urn, start: false, stop: true))
        }
        let error = try #require(try await h.error(urn, .subStreamStopWithoutStart))
        #expect(error.count == 3 && error.firstSeenAt.epoch == 110 && error.lastSeenAt.epoch == 130)
        #expect(error.level == .error)
        #expect(try await h.events(urn, .errorOpened).count == 1)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func cleanSnapshotClosesSnapshotErrorsButAnUncleanOneDoesNot(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.snapshot(urn, repeatInterval: 600, states: [Payload.checkState("a", health: "GREEN")]))
        #expect(try await h.errorCodes(urn) == ["main:SubStreamTransformerError"])
        try await h.send(
            at: 110,
            Payload.snapshot(
                urn, repeatInterval: 600,
                states: [
                    Payload.checkState("a"), Payload.checkState("b", health: "BLUE"),
                ]))
        #expect(try await h.errorCodes(urn) == ["main:SubStreamTransformerError"], "an error inside: not clean")
        try await h.send(at: 120, Payload.snapshot(urn, repeatInterval: 600, states: [Payload.checkState("a")]))
        #expect(try await h.errorCodes(urn).isEmpty)
        #expect(try await h.events(urn, .errorClosed).first?.detail == "clean snapshot completed")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func cleanSnapshotClosesTheStreamLevelStopWithoutStartOfItsSubStream(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, subStream: "s", start: false, stop: true))
        try await h.send(at: 110, Payload.snapshot(urn, subStream: "s", expiryInterval: 600, states: []))
        #expect(try await h.errorCodes(urn).isEmpty)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func badUpdateNeverTurnsIntoADeletion(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.snapshot(urn, repeatInterval: 600, states: [Payload.checkState("a", health: "CRITICAL")]))
        try await h.send(
            at: 110, Payload.snapshot(urn, repeatInterval: 600, states: [Payload.checkState("a", health: "PURPLE")]))
        #expect(try await h.healths(urn) == ["a": .critical], "the previous good version stays")
        #expect(try await h.errorCodes(urn) == ["main:SubStreamTransformerError"])
        let error = try #require(try await h.error(urn, .subStreamTransformerError))
        #expect(error.message.contains("health[0].check_states[0].health"))
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func duplicateCheckStateIdInOneMessageLastWins(kind: StoreKind) async throws {
        let h = try Harness(kind)
        let result = try await h.send(
            at: 100,
            Payload.snapshot(
                urn,
                states: [
                    Payload.checkState("a", health: "CRITICAL"), Payload.checkState("b"),
                    Payload.checkState("a", health: "deviating"),
                ]))
        #expect(try await h.healths(urn) == ["a": .deviating, "b": .clear])
        #expect(result.counts.created == 2 && result.counts.updated == 0)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func clearErrorsClosesEveryErrorOfTheStream(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.snapshot(urn, subStream: "x", start: false, stop: false, states: [Payload.checkState("a")])
        )
        try await h.send(at: 100, Payload.snapshot(urn, start: false, stop: true))
        #expect(try await h.errorCodes(urn).count == 2)
        #expect(try await h.processor.clearErrors(of: urn, at: Date(timeIntervalSince1970: 110)) == 2)
        #expect(try await h.errorCodes(urn).isEmpty)
        #expect(try await h.events(urn, .errorClosed).allSatisfy { $0.detail == "cleared" })
        #expect(
            try await h.processor.clearErrors(of: "urn:health:no:such", at: Date(timeIntervalSince1970: 110)) == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func deleteStreamRemovesEverythingAndAFreshMessageRelocksTheModel(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.snapshot(urn, states: [Payload.checkState("a")]),
            Payload.snapshot(urn, subStream: "s", expiryInterval: 600, states: [Payload.checkState("b")])
        )
        try await h.send(at: 105, Payload.repeatStates(urn, states: []))
        #expect(try await h.processor.deleteStream(urn, at: Date(timeIntervalSince1970: 110)))
        #expect(try await h.store.stream(urn) == nil)
        #expect(try await h.store.subStreams(of: urn).isEmpty)
        #expect(try await h.store.allCheckStates().isEmpty)
        #expect(try await h.store.errors(of: urn).isEmpty)
        #expect(try await h.store.nextDeadline() == nil)
        let deleted = try await h.events(urn, .checkStateDeleted)
        #expect(Set(deleted.compactMap(\.checkStateId)) == ["a", "b"])
        #expect(deleted.allSatisfy { $0.deletionReason == .streamDeleted })
        try await h.send(at: 120, Payload.repeatStates(urn, states: [Payload.checkState("c")]))
        #expect(try await h.store.stream(urn)?.consistencyModel == .repeatStates)
        #expect(try await h.errorCodes(urn).isEmpty)
        #expect(try await h.processor.deleteStream("urn:health:no:such", at: Date(timeIntervalSince1970: 130)) == false)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func everyChangeIsAnEventWithTimeAndCause(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.snapshot(urn, repeatInterval: 600, states: ["a", "b"].map { Payload.checkState($0) }))
        try await h.send(
            at: 200, Payload.snapshot(urn, repeatInterval: 600, states: [Payload.checkState("a", health: "CRITICAL")]))
        let kinds = try await h.events(urn).map(\.kind)
        #expect(
            kinds == [
                .streamCreated, .subStreamCreated, .snapshotStarted, .checkStateCreated, .checkStateCreated,
                .snapshotCompleted, .snapshotStarted, .checkStateUpdated, .checkStateDeleted, .snapshotCompleted,
            ])
        let events = try await h.events(urn)
        #expect(events.map(\.at.epoch) == [100, 100, 100, 100, 100, 100, 200, 200, 200, 200])
        #expect(events.compactMap(\.sequence) == events.compactMap(\.sequence).sorted())
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func envelopeWithAnyTimeIsAppliedAtAClockThatNeverRunsBackwards(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 500, Payload.snapshot(urn, states: [Payload.checkState("a")]))
        let result = try await h.send(at: 100, Payload.snapshot(urn, states: [Payload.checkState("a")]))
        #expect(result.appliedAt?.epoch == 500)
        #expect(try await h.store.clock()?.epoch == 500)
        #expect(try await h.store.subStream(.main(urn))?.lastCompletedAt?.epoch == 500)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func metricsCountMessagesCreatesUpdatesDeletes(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.snapshot(urn, repeatInterval: 600, states: ["a", "b"].map { Payload.checkState($0) }))
        try await h.send(
            at: 110, Payload.snapshot(urn, repeatInterval: 600, states: [Payload.checkState("a", health: "CRITICAL")]))
        try await h.send(
            at: 120, Payload.snapshot(urn, repeatInterval: 600, states: [Payload.checkState("a", health: "CRITICAL")]))
        let metrics = try #require(try await h.store.subStream(.main(urn))?.metrics)
        #expect(metrics.messages == 3 && metrics.creates == 2 && metrics.updates == 1 && metrics.deletes == 1)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func latencyIsProcessingTimeMinusReceiveTime(kind: StoreKind) async throws {
        let h = try Harness(kind)
        let envelope = try h.decoder.decode(Array(Payload.envelope([Payload.snapshot(urn)]).utf8))
        try await h.processor.apply(
            envelope, at: Date(timeIntervalSince1970: 102.5), receivedAt: Date(timeIntervalSince1970: 100)
        )
        let metrics = try #require(try await h.store.subStream(.main(urn))?.metrics)
        #expect(metrics.lastLatency == 2.5 && metrics.totalLatency == 2.5)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func openSnapshotAndPendingExpirySurviveARestart(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let before = Harness(store: store)
        try await before.send(
            at: 100,
            Payload.snapshot(
                urn, subStream: "s", repeatInterval: 60, expiryInterval: 500,
                states: ["a", "b"].map { Payload.checkState($0) }))
        try await before.send(
            at: 200,
            Payload.snapshot(
                urn, subStream: "s", repeatInterval: 60, expiryInterval: 500,
                stop: false, states: [Payload.checkState("a")]))
        let after = Harness(store: store)
        try await after.send(at: 210, Payload.snapshot(urn, subStream: "s", start: false, stop: true))
        #expect(try await after.healths(urn, subStream: "s") == ["a": .clear], "the seen set survived")
        try await after.advance(to: 10_000)
        #expect(try await after.store.subStream(StreamKey(urn: urn, subStreamId: "s")) == nil)
        #expect(
            try await after.error(urn, .subStreamExpired, subStream: "s", streamLevel: true)?.firstSeenAt.epoch == 710,
            "a timer that fell due while down fires at its own deadline")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func aFailingCommitLeavesNoTrace(kind: StoreKind) async throws {
        let inner = try kind.makeStore()
        let h = Harness(store: inner)
        try await h.send(at: 100, Payload.snapshot(urn, states: [Payload.checkState("a")]))
        let failing = FailingStore(inner)
        let broken = Harness(store: failing)
        failing.failCommits = true
        await #expect(throws: StorageError.self) {
            try await broken.send(
                at: 110, Payload.snapshot(urn, states: [Payload.checkState("b")]),
                Payload.snapshot(urn, subStream: "s", expiryInterval: 60, states: []))
        }
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.store.subStreams(of: urn).count == 1)
        #expect(try await h.store.clock()?.epoch == 100)
    }
}

/// A store whose commits can be made to fail, to check that nothing of a failed envelope is stored.
final class FailingStore: HealthStoreQueries, HealthStoreRetention {
    let inner: any HealthStoreQueries & HealthStoreRetention
    private let failing = Mutex(false)

    var failCommits: Bool {
        get { failing.withLock { $0 } }
        set { failing.withLock { $0 = newValue } }
    }

    init(_ inner: any HealthStoreQueries & HealthStoreRetention) { self.inner = inner }

    func batchContext(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
        try await inner.batchContext(of: requests, due: due)
    }
    func subStreams(of urn: String) async throws -> [SubStreamRecord] { try await inner.subStreams(of: urn) }
    func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState] {
        try await inner.checkStates(of: key, ids: ids)
    }
    func checkStates(urn: String?, subStreamId: String?) async throws -> [StoredCheckState] {
        try await inner.checkStates(urn: urn, subStreamId: subStreamId)
    }
    func streams() async throws -> [StreamSummary] { try await inner.streams() }
    func nextDeadline() async throws -> Date? { try await inner.nextDeadline() }
    func clock() async throws -> Date? { try await inner.clock() }
    func hasReceipt(_ receipt: String) async throws -> Bool { try await inner.hasReceipt(receipt) }
    func events(_ query: EventQuery) async throws -> [HealthEvent] { try await inner.events(query) }
    func commit(_ change: StoreChange) async throws {
        if failCommits { throw StorageError(code: .full, message: "disk full (simulated)") }
        try await inner.commit(change)
    }
    func pruneEvents(before cutoff: Date) async throws -> Int { try await inner.pruneEvents(before: cutoff) }
    func pruneReceipts(withPrefix prefix: String, before cutoff: Date) async throws -> Int {
        try await inner.pruneReceipts(withPrefix: prefix, before: cutoff)
    }
}
