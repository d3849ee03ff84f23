import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// Deleting a stream deletes its sub-streams, check states and errors (stream-level and of every sub-stream)
    /// and no other stream's; events are history and stay; the URN can then be inserted anew.
    func cascadesStreamDeletion() async throws {
        let store = try await makeStore()
        let mainA = StreamKey.main(Self.urnA)
        let podsA = StreamKey(urn: Self.urnA, subStreamId: "pods")
        let mainB = StreamKey.main(Self.urnB)
        try await Self.seed(
            store,
            subStreams: [mainA, podsA, mainB],
            deadlines: [podsA: 10, mainB: 20],
            checkStates: [Self.state(mainA, "1"), Self.state(podsA, "1"), Self.state(mainB, "1")],
            errors: [
                Self.error(mainA, .streamConsistencyModelMismatch, streamLevel: true, at: 1),
                Self.error(podsA, .subStreamExpired, streamLevel: true, at: 1),
                Self.error(podsA, .subStreamLateData, at: 1),
                Self.error(mainA, .subStreamMissingStop, at: 1),
                Self.error(mainB, .subStreamLateData, at: 1),
            ],
            events: [
                HealthEvent(at: Self.time(1), kind: .streamCreated, urn: Self.urnA, subStreamId: ""),
                HealthEvent(at: Self.time(1), kind: .streamCreated, urn: Self.urnB, subStreamId: ""),
            ]
        )
        let streamB = try await Self.contents(of: store, urns: [Self.urnB])
        let eventsBefore = try await store.events(EventQuery())

        try await store.commit(
            Self.change {
                $0.deletedStreams = [StoreChange.StreamDeletion(urn: Self.urnA, version: 1)]
            })

        #expect(try await store.stream(Self.urnA) == nil)
        #expect(try await store.subStream(mainA) == nil)
        #expect(try await store.subStream(podsA) == nil)
        #expect(try await store.subStreams(of: Self.urnA).isEmpty)
        #expect(try await store.checkStates(of: mainA).isEmpty)
        #expect(try await store.checkStates(of: podsA, ids: ["1"]).isEmpty)
        #expect(try await store.checkStates(urn: Self.urnA, subStreamId: nil).isEmpty)
        #expect(try await store.errors(of: Self.urnA).isEmpty)
        #expect(try await store.streams().map(\.urn) == [Self.urnB])
        #expect(try await store.nextDeadline() == Self.time(20))
        #expect(try await store.dueSubStreams(before: Self.time(100), limit: 10) == [mainB])
        #expect(try await store.events(EventQuery()) == eventsBefore)
        #expect(try await Self.contents(of: store, urns: [Self.urnB]).ofStreamsOnly == streamB.ofStreamsOnly)

        let recreated = StreamRecord(urn: Self.urnA, consistencyModel: .repeatStates, createdAt: Self.time(30))
        try await store.commit(Self.change { $0.savedStreams = [recreated] })
        #expect(try await store.stream(Self.urnA) == Self.stored(recreated, version: 1))
        #expect(try await store.subStreams(of: Self.urnA).isEmpty)
        #expect(try await store.errors(of: Self.urnA).isEmpty)
    }

    /// Deleting a sub-stream deletes its check states and its sub-stream-level errors, but not the stream-level
    /// errors that name it, nor anything of its sibling sub-streams or its stream.
    func cascadesSubStreamDeletionIncludingItsErrorsButNotStreamLevelOnes() async throws {
        let store = try await makeStore()
        let main = StreamKey.main(Self.urnA)
        let doomed = StreamKey(urn: Self.urnA, subStreamId: "x")
        let sibling = StreamKey(urn: Self.urnA, subStreamId: "y")
        let siblingState = Self.state(sibling, "1")
        let kept = [
            Self.error(doomed, .subStreamExpired, streamLevel: true, at: 1),
            Self.error(doomed, .streamMissingSubStream, streamLevel: true, at: 1),
            Self.error(main, .subStreamLateData, at: 1),
            Self.error(main, .streamConsistencyModelMismatch, streamLevel: true, at: 1),
            Self.error(sibling, .subStreamTransformerError, at: 1),
        ]
        try await Self.seed(
            store,
            subStreams: [main, doomed, sibling],
            deadlines: [doomed: 5],
            checkStates: [Self.state(main, "1"), Self.state(doomed, "1"), Self.state(doomed, "2"), siblingState],
            errors: kept + [
                Self.error(doomed, .subStreamLateData, at: 1),
                Self.error(doomed, .subStreamTransformerError, at: 1),
            ]
        )

        try await store.commit(
            Self.change {
                $0.deletedSubStreams = [StoreChange.SubStreamDeletion(key: doomed, version: 1)]
            })

        #expect(try await store.subStream(doomed) == nil)
        #expect(try await store.subStreams(of: Self.urnA).map(\.key) == [main, sibling])
        #expect(try await store.checkStates(of: doomed).isEmpty)
        #expect(try await store.checkStates(urn: Self.urnA, subStreamId: nil).map(\.key) == [main, sibling])
        #expect(try await store.checkStates(of: sibling) == [siblingState])
        #expect(try await store.errors(of: Self.urnA) == kept.sorted { $0.key < $1.key })
        #expect(try await store.stream(Self.urnA) == Self.stored(Self.stream(Self.urnA), version: 1))
        #expect(try await store.nextDeadline() == nil)
        #expect(
            try await store.streams()
                == [
                    StreamSummary(
                        urn: Self.urnA, consistencyModel: .repeatSnapshots, subStreamCount: 2, checkStateCount: 2)
                ]
        )
    }
}
