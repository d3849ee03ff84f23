import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// SPEC §3, row by row, over every store.
@Suite struct RepeatSnapshotsTests {
    let urn = "urn:health:test:snapshots"

    @Test(arguments: StoreKind.inMemoryKinds)
    func startOpensSnapshotAndStoresIntervals(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 30, expiryInterval: 90, stop: false))
        let sub = try #require(try await h.store.subStream(.main(urn)))
        #expect(sub.intervals == Intervals(repeatInterval: 30, expiryInterval: 90))
        #expect(sub.openSnapshot?.startedAt.epoch == 100)
        #expect(sub.deadlines.missingStop?.epoch == 160)
        #expect(sub.deadlines.lateData?.epoch == 130)
        #expect(sub.deadlines.expiry?.epoch == 190)
        #expect(try await h.events(urn, .subStreamCreated).count == 1)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func latestStartReplacesIntervals(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 30))
        try await h.send(at: 120, Payload.snapshot(urn, repeatInterval: 45, expiryInterval: 200))
        let sub = try #require(try await h.store.subStream(.main(urn)))
        #expect(sub.intervals == Intervals(repeatInterval: 45, expiryInterval: 200))
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func repeatIntervalAbove1800RaisesAndOpensNoSnapshot(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 1801, stop: false))
        #expect(try await h.store.subStream(.main(urn)) == nil)
        #expect(try await h.errorCodes(urn) == ["stream:SubStreamRepeatIntervalTooHigh"])

        try await h.send(at: 110, Payload.snapshot(urn, repeatInterval: 60, stop: false))
        try await h.send(at: 120, Payload.snapshot(urn, repeatInterval: 1801, start: true, stop: false))
        let sub = try #require(try await h.store.subStream(.main(urn)))
        #expect(sub.openSnapshot?.startedAt.epoch == 110, "the rejected start opens nothing new")
        #expect(sub.intervals?.repeatInterval == 60)
        #expect(try await h.errorCodes(urn).contains("main:SubStreamRepeatIntervalTooHigh"))
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func repeatIntervalBelowOneIsRejectedAtLevelTwo(kind: StoreKind) async throws {
        let h = try Harness(kind)
        let result = try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 0))
        #expect(result.messagesRejected == 1)
        #expect(result.rejections.first?.path == "health[0].start_snapshot.repeat_interval_s")
        #expect(try await h.store.stream(urn) == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func startWhileOpenAbandonsWithoutDeletionsAndOpensAFreshSnapshot(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.snapshot(
                urn, repeatInterval: 300,
                states: [Payload.checkState("a"), Payload.checkState("b")]))
        try await h.send(
            at: 160,
            Payload.snapshot(
                urn, repeatInterval: 300, stop: false,
                states: [Payload.checkState("a")]))
        try await h.send(
            at: 170,
            Payload.snapshot(
                urn, repeatInterval: 300, stop: false,
                states: [Payload.checkState("c")]))
        #expect(try await h.healths(urn).keys.sorted() == ["a", "b", "c"], "abandoning deletes nothing")
        #expect(try await h.errorCodes(urn) == ["main:SubStreamStartWithoutStop"])
        #expect(try await h.events(urn, .snapshotAbandoned).count == 1)
        try await h.send(at: 180, Payload.snapshot(urn, start: false, states: []))
        #expect(try await h.healths(urn).keys.sorted() == ["c"], "the fresh snapshot's diff runs against all")
        #expect(
            try await h.errorCodes(urn) == ["main:SubStreamStartWithoutStop"],
            "a snapshot whose own start raised an error is not clean"
        )
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func checkStateForUnknownSubStreamIsDroppedWithStreamLevelError(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.snapshot(
                urn, subStream: "s1", start: false, stop: false,
                states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn, subStream: "s1").isEmpty)
        let error = try #require(try await h.error(urn, .streamMissingSubStream, subStream: "s1", streamLevel: true))
        #expect(error.level == .error)
        #expect(try await h.store.subStream(StreamKey(urn: urn, subStreamId: "s1")) == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func checkStateOutsideSnapshotIsDropped(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, states: [Payload.checkState("a")]))
        try await h.send(
            at: 110,
            Payload.snapshot(
                urn, start: false, stop: false,
                states: [Payload.checkState("b", health: "CRITICAL")]))
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.errorCodes(urn) == ["main:SubStreamCheckStateOutsideSnapshot"])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func checkStateInOpenSnapshotIsUpsertedAtOnce(kind: StoreKind) async throws {
        let h = try Harness(kind)
        let first = try await h.send(at: 100, Payload.snapshot(urn, stop: false, states: [Payload.checkState("a")]))
        #expect(first.counts.created == 1)
        #expect(try await h.healths(urn) == ["a": .clear], "visible before the stop")
        let second = try await h.send(
            at: 101,
            Payload.snapshot(
                urn, start: false, stop: false, states: [Payload.checkState("a", health: "critical")]
            ))
        #expect(second.counts.updated == 1)
        let repeatResult = try await h.send(
            at: 102,
            Payload.snapshot(
                urn, start: false, stop: false, states: [Payload.checkState("a", health: "CRITICAL")]
            ))
        #expect(repeatResult.counts == ChangeCounts(), "an identical repeat is not an update")
        let updates = try await h.events(urn, .checkStateUpdated)
        #expect(updates.map(\.previousHealth) == [.clear])
        #expect(updates.map { $0.checkState?.health } == [.critical])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func stopDeletesCheckStatesMissingFromTheSnapshot(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, states: ["a", "b", "c"].map { Payload.checkState($0) }))
        let result = try await h.send(at: 160, Payload.snapshot(urn, states: [Payload.checkState("b")]))
        #expect(result.counts.deleted == 2)
        #expect(try await h.healths(urn) == ["b": .clear])
        let deletions = try await h.events(urn, .checkStateDeleted)
        #expect(deletions.map(\.checkStateId) == ["a", "c"])
        #expect(deletions.allSatisfy { $0.deletionReason == .snapshotDiff && $0.at.epoch == 160 })
        let sub = try #require(try await h.store.subStream(.main(urn)))
        #expect(sub.openSnapshot == nil)
        #expect(sub.lastCompletedAt?.epoch == 160)
        #expect(try await h.events(urn, .snapshotCompleted).map(\.detail) == ["clean", "clean"])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func emptySnapshotDeletesEveryCheckState(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, states: ["a", "b"].map { Payload.checkState($0) }))
        try await h.send(at: 160, Payload.snapshot(urn, states: []))
        #expect(try await h.healths(urn).isEmpty)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func snapshotSpansEnvelopes(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, states: ["a", "b", "c"].map { Payload.checkState($0) }))
        try await h.send(at: 160, Payload.snapshot(urn, stop: false, states: [Payload.checkState("a")]))
        try await h.send(at: 161, Payload.snapshot(urn, start: false, stop: false, states: [Payload.checkState("c")]))
        #expect(try await h.healths(urn).count == 3)
        try await h.send(at: 162, Payload.snapshot(urn, start: false, states: []))
        #expect(try await h.healths(urn).keys.sorted() == ["a", "c"])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func stopWithoutOpenSnapshotRaisesAndDeletesNothing(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, states: [Payload.checkState("a")]))
        try await h.send(at: 110, Payload.snapshot(urn, start: false, stop: true, states: []))
        #expect(try await h.healths(urn) == ["a": .clear])
        #expect(try await h.errorCodes(urn) == ["main:SubStreamStopWithoutStart"])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func stopForUnknownSubStreamRaisesAtStreamLevelAndCreatesNothing(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, subStream: "ghost", start: false, stop: true))
        #expect(try await h.store.subStreams(of: urn).isEmpty)
        let error = try #require(
            try await h.error(urn, .subStreamStopWithoutStart, subStream: "ghost", streamLevel: true)
        )
        #expect(error.message.contains("\"ghost\""))
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func openSnapshotIsStoppedAutomaticallyAtTwiceTheRepeatInterval(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100, Payload.snapshot(urn, repeatInterval: 30, states: ["a", "b"].map { Payload.checkState($0) }))
        try await h.send(
            at: 130, Payload.snapshot(urn, repeatInterval: 30, stop: false, states: [Payload.checkState("a")]))
        try await h.advance(to: 190)
        #expect(try await h.healths(urn).count == 2, "the deadline 190 itself has not passed")
        let sweep = try await h.advance(to: 191)
        #expect(sweep.counts.deleted == 1)
        #expect(try await h.healths(urn) == ["a": .clear], "the diff runs on what arrived")
        let deletion = try #require(try await h.events(urn, .checkStateDeleted).first)
        #expect(deletion.deletionReason == .automaticStop)
        #expect(deletion.at.epoch == 190, "a timer's event carries its deadline")
        let error = try #require(try await h.error(urn, .subStreamMissingStop))
        #expect(error.firstSeenAt.epoch == 190)
        let sub = try #require(try await h.store.subStream(.main(urn)))
        #expect(sub.openSnapshot == nil)
        #expect(sub.lastCompletedAt?.epoch == 100, "an automatic stop is not a completed snapshot")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func lateDataIsRaisedOncePerMissedDeadlineAndDataIsKept(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 60, states: [Payload.checkState("a")]))
        try await h.advance(to: 160)
        #expect(try await h.error(urn, .subStreamLateData) == nil, "exactly at the deadline is not late")
        try await h.advance(to: 161)
        var late = try #require(try await h.error(urn, .subStreamLateData))
        #expect(late.count == 1 && late.firstSeenAt.epoch == 160 && late.level == .warn)
        try await h.advance(to: 400)
        late = try #require(try await h.error(urn, .subStreamLateData))
        #expect(late.count == 4, "missed deadlines 160, 220, 280, 340")
        #expect(late.lastSeenAt.epoch == 340)
        #expect(try await h.healths(urn) == ["a": .clear])
        try await h.send(at: 401, Payload.snapshot(urn, repeatInterval: 60, states: [Payload.checkState("a")]))
        #expect(try await h.error(urn, .subStreamLateData) == nil, "a completed snapshot closes it")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func lateDataOpenedBySeveralMissedDeadlinesRecordsTheFirstInItsEvent(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 60, states: [Payload.checkState("a")]))
        try await h.advance(to: 400)
        let late = try #require(try await h.error(urn, .subStreamLateData))
        #expect(late.count == 4)
        #expect(late.message.hasSuffix("it was due by 1970-01-01T00:05:40Z"), "the record tells the last (340)")
        let opened = try #require(try await h.events(urn, .errorOpened).first)
        #expect(opened.at.epoch == 160)
        let first = "no snapshot completed within repeat_interval_s (60 s): it was due by 1970-01-01T00:02:40Z"
        #expect(opened.detail == first, "the event tells the opening occurrence (160), in the tables' time format")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func lateDataBeforeTheFirstCompletionCountsFromCreationWithGrace(kind: StoreKind) async throws {
        let h = try Harness(kind, lateGrace: 15)
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 60, stop: false))
        try await h.advance(to: 175)
        #expect(try await h.error(urn, .subStreamLateData) == nil)
        try await h.advance(to: 176)
        let late = try #require(try await h.error(urn, .subStreamLateData))
        #expect(late.firstSeenAt.epoch == 175)
        #expect(late.message.contains("within repeat_interval_s (60 s) + late grace (15 s): it was due by"))
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func envelopeExactlyAtTheDeadlineIsAppliedFirst(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 60, states: [Payload.checkState("a")]))
        try await h.send(at: 160, Payload.snapshot(urn, repeatInterval: 60, states: [Payload.checkState("a")]))
        try await h.advance(to: 200)
        #expect(try await h.error(urn, .subStreamLateData) == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func subStreamExpiresWithoutMessagesAndIsRemoved(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.snapshot(
                urn, subStream: "s1", repeatInterval: 30, expiryInterval: 120,
                states: [Payload.checkState("a")]))
        try await h.send(at: 100, Payload.snapshot(urn, repeatInterval: 30, states: [Payload.checkState("m")]))
        try await h.advance(to: 220)
        #expect(try await h.healths(urn, subStream: "s1") == ["a": .clear])
        try await h.advance(to: 221)
        #expect(try await h.store.subStream(StreamKey(urn: urn, subStreamId: "s1")) == nil)
        #expect(try await h.healths(urn, subStream: "s1").isEmpty)
        #expect(try await h.healths(urn) == ["m": .clear], "the main sub-stream without expiry never expires")
        let expired = try #require(try await h.error(urn, .subStreamExpired, subStream: "s1", streamLevel: true))
        #expect(expired.firstSeenAt.epoch == 220)
        #expect(try await h.events(urn, .checkStateDeleted).map(\.deletionReason) == [.subStreamExpired])
        #expect(
            !(try await h.errorCodes(urn)).contains("s1:SubStreamLateData"),
            "sub-stream errors go with the sub-stream"
        )
        try await h.send(at: 300, Payload.snapshot(urn, subStream: "s1", expiryInterval: 120, stop: false))
        #expect(
            try await h.error(urn, .subStreamExpired, subStream: "s1", streamLevel: true) == nil,
            "recreating the sub-stream closes SubStreamExpired")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func anyMessageRefreshesExpiry(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.snapshot(
                urn, subStream: "s1", repeatInterval: 30, expiryInterval: 120,
                stop: false))
        try await h.send(
            at: 200,
            Payload.snapshot(
                urn, subStream: "s1", start: false, stop: false,
                states: [Payload.checkState("a")]))
        try await h.advance(to: 300)
        #expect(try await h.store.subStream(StreamKey(urn: urn, subStreamId: "s1")) != nil)
        try await h.advance(to: 321)
        #expect(try await h.store.subStream(StreamKey(urn: urn, subStreamId: "s1")) == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func nonMainSubStreamWithoutExpiryIsAcceptedWithAWarning(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(at: 100, Payload.snapshot(urn, subStream: "s1", states: [Payload.checkState("a")]))
        #expect(try await h.healths(urn, subStream: "s1") == ["a": .clear])
        let warning = try #require(try await h.error(urn, .subStreamWithoutExpiry, subStream: "s1"))
        #expect(warning.level == .warn)
        try await h.send(
            at: 110,
            Payload.snapshot(
                urn, subStream: "s1", expiryInterval: 300,
                states: [Payload.checkState("a")]))
        #expect(try await h.error(urn, .subStreamWithoutExpiry, subStream: "s1") == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func strictModeRejectsNonMainSubStreamWithoutExpiry(kind: StoreKind) async throws {
        let h = try Harness(kind, strict: true)
        let result = try await h.send(at: 100, Payload.snapshot(urn, subStream: "s1"))
        #expect(result.messagesRejected == 1)
        #expect(result.rejections.first?.path == "health[0].start_snapshot.expiry_interval_s")
        #expect(try await h.store.stream(urn) == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func subStreamsAreIndependent(kind: StoreKind) async throws {
        let h = try Harness(kind)
        try await h.send(
            at: 100,
            Payload.snapshot(urn, subStream: "s1", expiryInterval: 300, states: [Payload.checkState("a")]),
            Payload.snapshot(urn, subStream: "s2", expiryInterval: 300, states: [Payload.checkState("a")])
        )
        try await h.send(at: 150, Payload.snapshot(urn, subStream: "s1", expiryInterval: 300, states: []))
        #expect(try await h.healths(urn, subStream: "s1").isEmpty)
        #expect(try await h.healths(urn, subStream: "s2") == ["a": .clear], "the same id in another sub-stream")
        #expect(try await h.store.streams().first?.subStreamCount == 2)
    }
}
