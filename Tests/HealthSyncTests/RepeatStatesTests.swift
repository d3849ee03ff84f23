import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// SPEC §4, over every store.
@Suite struct RepeatStatesTests {
    let urn = "urn:health:test:states"

    @Test(arguments: StoreKind.inMemoryKinds)
    func firstMessageWithoutExpiryDropsCheckStates(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.repeatStates(urn, setup: false, states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn).isEmpty)
        #expect(try await h.errorCodes(urn) == ["stream:StreamMissingSubStream"])
        try await h.send(at: 110, Payload.repeatStates(urn, states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.errorCodes(urn).isEmpty, "setting the sub-stream up closes StreamMissingSubStream")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func leavingACheckStateOutDeletesNothing(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.repeatStates(urn, states: ["a", "b"].map { Payload.checkState($0) }))
        try await h.send(at: 150, Payload.repeatStates(urn, setup: false, states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn).keys.sorted() == ["a", "b"])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func checkStateExpiresWhenNotSeenForTheExpiryInterval(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.repeatStates(
                urn, repeatInterval: 60, expiryInterval: 300,
                states: ["a", "b"].map { Payload.checkState($0) }))
        try await h.send(at: 200, Payload.repeatStates(urn, setup: false, states: [Payload.checkState("a")]))
        try await h.advance(to: 400)
        #expect(try await h.healths(urn).keys.sorted() == ["a", "b"], "b's deadline 400 has not passed")
        try await h.advance(to: 401)
        #expect(try await h.healths(urn) == ["a": .clear])
        let deletion = try #require(try await h.events(urn, .checkStateDeleted).first)
        #expect(deletion.checkStateId == "b" && deletion.deletionReason == .expiry && deletion.at.epoch == 400)
        #expect(
            !(try await h.errorCodes(urn)).contains("stream:SubStreamExpired"),
            "a check-state expiry is a normal deletion, not an error"
        )
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func newExpiryAppliesToEveryDeadlineFromThenOn(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.repeatStates(
                urn, repeatInterval: 60, expiryInterval: 600,
                states: ["a", "b"].map { Payload.checkState($0) }))
        try await h.send(
            at: 150,
            Payload.repeatStates(
                urn, repeatInterval: 60, expiryInterval: 100,
                states: [Payload.checkState("a")]))
        try await h.advance(to: 201)
        #expect(try await h.healths(urn) == ["a": .clear], "b was last seen at 100: 100 + 100 has passed")
        #expect(try await h.events(urn, .checkStateDeleted).first?.at.epoch == 200)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func noMessageWithinRepeatRaisesLateDataAndAMessageClosesIt(kind: StoreKind) async throws {
        let h = try Harness(kind, lateGrace: 10)
        try await h.send(
            at: 100,
            Payload.repeatStates(
                urn, repeatInterval: 60, expiryInterval: 0,
                states: [Payload.checkState("a")]))
        try await h.advance(to: 170)
        #expect(try await h.error(urn, .subStreamLateData) == nil)
        try await h.advance(to: 171)
        #expect(try await h.error(urn, .subStreamLateData)?.firstSeenAt.epoch == 170)
        try await h.send(at: 200, Payload.repeatStates(urn, setup: false, states: [Payload.checkState("a")]))
        #expect(try await h.error(urn, .subStreamLateData) == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func noMessageForTheExpiryIntervalRemovesTheSubStream(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.repeatStates(
                urn, subStream: "s", repeatInterval: 60, expiryInterval: 300,
                states: [Payload.checkState("a")]))
        try await h.advance(to: 401)
        #expect(try await h.store.subStream(StreamKey(urn: urn, subStreamId: "s")) == nil)
        #expect(try await h.errorCodes(urn).contains("stream:SubStreamExpired"))
        let deletion = try #require(try await h.events(urn, .checkStateDeleted).first)
        #expect(deletion.deletionReason == .subStreamExpired, "a sub-stream expiry wins over the check-state timer")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func snapshotAndIncrementFieldsAreIgnored(kind: StoreKind) async throws {
        let h = try Harness(kind)
        let message = """
            {"stream":{"urn":"\(urn)"},"consistency_model":"REPEAT_STATES",
             "expiry":{"repeat_interval_s":60,"expiry_interval_s":300},
             "start_snapshot":{"repeat_interval_s":-5},"stop_snapshot":{},"increment":{"checkpoint":"x"},
             "check_states":[\(Payload.checkState("a"))]}
            """
        let result = try await h.send(at: 100, message)
        #expect(result.messagesRejected == 0)
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.store.subStream(.main(urn))?.openSnapshot == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func repeatAbove1800RejectsTheSetup(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.repeatStates(urn, repeatInterval: 60, states: [Payload.checkState("a")]))
        try await h.send(at: 110, Payload.repeatStates(urn, repeatInterval: 3600, states: [Payload.checkState("b")]))
        #expect(try await h.store.subStream(.main(urn))?.intervals?.repeatInterval == 60)
        #expect(try await h.errorCodes(urn) == ["main:SubStreamRepeatIntervalTooHigh"])
        #expect(try await h.healths(urn).keys.sorted() == ["a", "b"], "the check states still apply")
        try await h.send(at: 120, Payload.repeatStates(urn, setup: false, states: [Payload.checkState("b")]))
        #expect(try await h.errorCodes(urn).isEmpty, "the next message without errors closes it")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func transformerErrorClosesOnTheNextMessageWithoutErrors(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.repeatStates(urn, states: [Payload.checkState("a", health: "GREEN")]))
        #expect(try await h.errorCodes(urn) == ["main:SubStreamTransformerError"])
        try await h.send(
            at: 110, Payload.repeatStates(urn, setup: false, states: [Payload.checkState("a", health: "GREEN")]))
        #expect(try await h.error(urn, .subStreamTransformerError)?.count == 2)
        try await h.send(at: 120, Payload.repeatStates(urn, setup: false, states: [Payload.checkState("a")]))
        #expect(try await h.errorCodes(urn).isEmpty)
    }
}
