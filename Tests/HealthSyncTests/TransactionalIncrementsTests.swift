import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// SPEC §5, row by row, over every store.
@Suite struct TransactionalIncrementsTests {
    let urn = "urn:health:test:increments"

    @Test(arguments: StoreKind.inMemoryKinds)
    func firstMessageIsAppliedAndItsCheckpointRemembered(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.increment(
                urn, checkpoint: Checkpoint(offset: 5, batchIndex: 2),
                previous: Checkpoint(offset: 4), states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.store.subStream(.main(urn))?.checkpoint == Checkpoint(offset: 5, batchIndex: 2))
        #expect(try await h.errorCodes(urn).isEmpty)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func duplicateCheckpointIsSkippedSilently(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.increment(urn, checkpoint: Checkpoint(offset: 1), states: [Payload.checkState("a")]))
        let retry = try await h.send(
            at: 101,
            Payload.increment(
                urn, checkpoint: Checkpoint(offset: 1), states: [Payload.checkState("a", health: "CRITICAL")]
            ))
        #expect(retry.counts == ChangeCounts())
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.errorCodes(urn).isEmpty)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func outdatedCheckpointIsSkippedWithAWarning(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.increment(urn, checkpoint: Checkpoint(offset: 5, batchIndex: 0)))
        try await h.send(
            at: 101,
            Payload.increment(
                urn, checkpoint: Checkpoint(offset: 5),
                states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn).isEmpty, "a missing batch index sorts before index 0")
        let error = try #require(try await h.error(urn, .subStreamOutdatedCheckpoint))
        #expect(error.level == .warn)
        try await h.send(
            at: 102,
            Payload.increment(
                urn, checkpoint: Checkpoint(offset: 6),
                previous: Checkpoint(offset: 5, batchIndex: 0)))
        #expect(try await h.errorCodes(urn).isEmpty, "a correctly chained message closes checkpoint errors")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func missingPreviousCheckpointIsAppliedWithAnError(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.increment(urn, checkpoint: Checkpoint(offset: 1)))
        try await h.send(
            at: 101, Payload.increment(urn, checkpoint: Checkpoint(offset: 2), states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.errorCodes(urn) == ["main:SubStreamMissingCheckpoint"])
        #expect(try await h.store.subStream(.main(urn))?.checkpoint == Checkpoint(offset: 2))
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func brokenChainIsAppliedWithAnErrorThenClosesOnACorrectChain(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.increment(urn, checkpoint: Checkpoint(offset: 1)))
        try await h.send(
            at: 101,
            Payload.increment(
                urn, checkpoint: Checkpoint(offset: 3), previous: Checkpoint(offset: 2),
                states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.errorCodes(urn) == ["main:SubStreamInvalidCheckpoint"])
        try await h.send(
            at: 102, Payload.increment(urn, checkpoint: Checkpoint(offset: 4), previous: Checkpoint(offset: 3)))
        #expect(try await h.errorCodes(urn).isEmpty)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func deleteRemovesAKnownCheckStateAndWinsOverOtherFields(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.increment(
                urn, checkpoint: Checkpoint(offset: 1),
                states: ["a", "b"].map { Payload.checkState($0) }))
        let deletion = """
            {"checkStateId":"a","delete":true,"name":"x","health":"CRITICAL","topologyElementIdentifier":"e"}
            """
        let result = try await h.send(
            at: 101,
            Payload.increment(
                urn, checkpoint: Checkpoint(offset: 2), previous: Checkpoint(offset: 1), states: [deletion]
            ))
        #expect(result.counts.deleted == 1)
        #expect(try await h.healths(urn) == ["b": .clear])
        #expect(try await h.events(urn, .checkStateDeleted).first?.deletionReason == .deleteRequest)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func deleteOfUnknownIdRaisesAnErrorOnlyClearErrorsCloses(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.increment(urn, checkpoint: Checkpoint(offset: 1), states: [Payload.deletion("zz")]))
        #expect(try await h.errorCodes(urn) == ["main:SubStreamUnknownCheckState"])
        try await h.send(
            at: 101, Payload.increment(urn, checkpoint: Checkpoint(offset: 2), previous: Checkpoint(offset: 1)))
        #expect(try await h.errorCodes(urn) == ["main:SubStreamUnknownCheckState"])
        #expect(try await h.processor.clearErrors(of: urn, at: Date(timeIntervalSince1970: 102)) == 1)
        #expect(try await h.errorCodes(urn).isEmpty)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func noTimersInThisModel(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.increment(urn, checkpoint: Checkpoint(offset: 1), states: [Payload.checkState("a")]))
        #expect(try await h.store.subStream(.main(urn))?.nextDeadline == nil)
        try await h.advance(to: 1_000_000)
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.errorCodes(urn).isEmpty)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func messageWithoutOffsetIsRejectedAtLevelTwo(kind: StoreKind) async throws {
        let h = try Harness(kind)
        let message = """
            {"stream":{"urn":"\(urn)"},"consistency_model":"TRANSACTIONAL_INCREMENTS",
             "increment":{"checkpoint":{"batch_index":1}},"check_states":[]}
            """
        let result = try await h.send(at: 100, message)
        #expect(result.rejections.map(\.path) == ["health[0].increment.checkpoint.offset"])
        #expect(try await h.store.stream(urn) == nil)
    }
}
