import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// A save or deletion whose version no longer matches fails with ``HealthSync/StorageError/Code/conflict``,
    /// and nothing of its change is written, even the parts that came before the stale record.
    func rejectsStaleVersionsWithoutWritingAnything() async throws {
        let store = try await makeStore()
        let main = StreamKey.main(Self.urnA)
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        try await Self.seed(store, subStreams: [main, other])
        // Move the stream and the main sub-stream to version 2.
        try await store.commit(
            Self.change {
                $0.savedStreams = [Self.stored(Self.stream(Self.urnA), version: 1)]
                $0.savedSubStreams = [Self.stored(Self.subStream(main), version: 1)]
            })
        #expect(try await store.stream(Self.urnA)?.version == 2)
        #expect(try await store.subStream(main)?.version == 2)
        #expect(try await store.subStream(other)?.version == 1)

        let missing = StreamKey(urn: Self.urnB, subStreamId: "missing")
        let staleChanges: [(String, (inout StoreChange) -> Void)] = [
            ("stale stream update", { $0.savedStreams += [Self.stored(Self.stream(Self.urnA), version: 1)] }),
            (
                "stream update ahead of the store",
                {
                    $0.savedStreams += [Self.stored(Self.stream(Self.urnA), version: 3)]
                }
            ),
            ("stale sub-stream update", { $0.savedSubStreams += [Self.stored(Self.subStream(main), version: 1)] }),
            (
                "update of a stream never stored",
                {
                    $0.savedStreams += [Self.stored(Self.stream("urn:health:test:never"), version: 1)]
                }
            ),
            (
                "update of a sub-stream never stored",
                {
                    $0.savedSubStreams += [Self.stored(Self.subStream(missing), version: 1)]
                }
            ),
            (
                "stale stream deletion",
                {
                    $0.deletedStreams += [StoreChange.StreamDeletion(urn: Self.urnA, version: 1)]
                }
            ),
            (
                "stale sub-stream deletion",
                {
                    $0.deletedSubStreams += [StoreChange.SubStreamDeletion(key: main, version: 1)]
                }
            ),
            (
                "deletion of a stream never stored",
                {
                    $0.deletedStreams += [StoreChange.StreamDeletion(urn: "urn:health:test:never", version: 1)]
                }
            ),
            (
                "deletion of a sub-stream never stored",
                {
                    $0.deletedSubStreams += [StoreChange.SubStreamDeletion(key: missing, version: 1)]
                }
            ),
            (
                "current stream update, then a stale sub-stream update",
                {
                    $0.savedStreams += [Self.stored(Self.stream(Self.urnA), version: 2)]
                    $0.savedSubStreams += [
                        Self.stored(Self.subStream(other), version: 1),
                        Self.stored(Self.subStream(main), version: 1),
                    ]
                }
            ),
            (
                "current sub-stream deletion, then a stale stream deletion",
                {
                    $0.deletedSubStreams += [StoreChange.SubStreamDeletion(key: other, version: 1)]
                    $0.deletedStreams += [StoreChange.StreamDeletion(urn: Self.urnA, version: 1)]
                }
            ),
        ]
        for (name, stale) in staleChanges {
            var change = Self.payload(touching: other)
            stale(&change)
            try await Self.expectNothingWritten(
                by: change, to: store, failingWith: .conflict, Comment(rawValue: name)
            )
        }
        #expect(try await store.stream(Self.urnA)?.version == 2)
    }

    /// Saving a record with version `0` (an insert) when it is already stored fails with
    /// ``HealthSync/StorageError/Code/conflict`` and writes nothing.
    func insertOfExistingRecordConflicts() async throws {
        let store = try await makeStore()
        let main = StreamKey.main(Self.urnA)
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        try await Self.seed(store, subStreams: [main, other])

        var change = Self.payload(touching: other)
        change.savedStreams.append(
            StreamRecord(urn: Self.urnA, consistencyModel: .repeatStates, createdAt: Self.time(50))
        )
        try await Self.expectNothingWritten(by: change, to: store, failingWith: .conflict, "stream insert")

        change = Self.payload(touching: other)
        change.savedSubStreams.append(Self.subStream(main, lateData: 5))
        try await Self.expectNothingWritten(by: change, to: store, failingWith: .conflict, "sub-stream insert")

        #expect(try await store.stream(Self.urnA) == Self.stored(Self.stream(Self.urnA), version: 1))
        #expect(try await store.subStream(main) == Self.stored(Self.subStream(main), version: 1))
    }

    /// One change applies deletions before saves: a record deleted and saved in the same change is stored as
    /// saved, a re-inserted stream or sub-stream starts empty at version 1, and check states and errors can be
    /// saved for a stream created in the same change.
    func appliesChangesInTheDocumentedOrder() async throws {
        let store = try await makeStore()
        let main = StreamKey.main(Self.urnA)
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        let mainB = StreamKey.main(Self.urnB)
        let oldState = Self.state(main, "c", health: .critical)
        let oldError = Self.error(main, .subStreamLateData, at: 1)
        try await Self.seed(
            store,
            subStreams: [main, other, mainB],
            checkStates: [oldState, Self.state(other, "old"), Self.state(mainB, "old")],
            errors: [oldError, Self.error(other, .subStreamTransformerError, at: 1)]
        )

        var newState = oldState
        newState.checkState.health = .clear
        var newError = oldError
        newError.count = 5
        let recreated = Self.subStream(other, lateData: 77)
        let recreatedState = Self.state(other, "new")
        let recreatedB = StreamRecord(
            urn: Self.urnB, consistencyModel: .transactionalIncrements, createdAt: Self.time(9))
        try await store.commit(
            Self.change {
                $0.deletedStreams = [StoreChange.StreamDeletion(urn: Self.urnB, version: 1)]
                $0.deletedSubStreams = [StoreChange.SubStreamDeletion(key: other, version: 1)]
                $0.savedStreams = [recreatedB]
                $0.savedSubStreams = [recreated]
                $0.deletedCheckStates = [(main, "c")]
                $0.savedCheckStates = [newState, recreatedState]
                $0.deletedErrors = [oldError.key]
                $0.savedErrors = [newError]
            })

        #expect(try await store.checkStates(of: main) == [newState])
        #expect(try await store.subStream(other) == Self.stored(recreated, version: 1))
        #expect(try await store.checkStates(of: other) == [recreatedState])
        #expect(try await store.errors(of: Self.urnA) == [newError])
        #expect(try await store.stream(Self.urnB) == Self.stored(recreatedB, version: 1))
        #expect(try await store.subStreams(of: Self.urnB).isEmpty)
        #expect(try await store.checkStates(urn: Self.urnB, subStreamId: nil).isEmpty)

        // A new stream with its sub-stream, check states and errors in one change.
        let mainC = StreamKey.main(Self.urnC)
        let stateC = Self.state(mainC, "c")
        let errorC = Self.error(mainC, .subStreamWithoutExpiry, at: 2)
        try await store.commit(
            Self.change {
                $0.savedStreams = [Self.stream(Self.urnC)]
                $0.savedSubStreams = [Self.subStream(mainC)]
                $0.savedCheckStates = [stateC]
                $0.savedErrors = [errorC]
            })
        #expect(try await store.checkStates(of: mainC) == [stateC])
        #expect(try await store.errors(of: Self.urnC) == [errorC])
    }

    /// A check-state refresh (``HealthSync/StoreChange/refreshedCheckStates``) sets the time and sequence of every
    /// check state stored for its sub-stream once the change's check-state deletions are applied, and before its
    /// check-state saves, which keep what they say; other sub-streams keep theirs. Every store applies refreshes,
    /// whether it prefers them or not.
    func refreshesEveryCheckStateOfASubStreamBetweenDeletionsAndSaves() async throws {
        let store = try await makeStore()
        let main = StreamKey.main(Self.urnA)
        let pods = StreamKey(urn: Self.urnA, subStreamId: "pods")
        let states = ["a", "b", "c", "d"].map { Self.state(main, $0) }
        let podState = Self.state(pods, "a")
        try await Self.seed(store, subStreams: [main, pods], checkStates: states + [podState])

        // A save after the refresh keeps its own time: a store that refreshed after the saves would overwrite it.
        var changed = Self.state(main, "b", health: .critical, message: "changed")
        changed.lastSeenAt = Self.time(6.5)
        changed.snapshotSequence = 4
        var created = Self.state(main, "e")
        created.lastSeenAt = Self.time(7)
        created.snapshotSequence = 4
        try await store.commit(
            Self.change {
                var subStream = Self.subStream(main)
                subStream.version = 1
                $0.savedSubStreams = [subStream]
                $0.deletedCheckStates = [(main, "c")]
                $0.refreshedCheckStates = [
                    StoreChange.CheckStateRefresh(key: main, lastSeenAt: Self.time(7), snapshotSequence: 4)
                ]
                $0.savedCheckStates = [changed, created]
            })

        var expected: [StoredCheckState] = []
        for state in states where state.checkStateId != "c" {
            if state.checkStateId == "b" {
                expected.append(changed)
                continue
            }
            var refreshed = state
            refreshed.lastSeenAt = Self.time(7)
            refreshed.snapshotSequence = 4
            expected.append(refreshed)
        }
        expected.append(created)
        #expect(Self.byId(try await store.checkStates(of: main)) == expected)
        #expect(try await store.checkStates(of: pods) == [podState])

        // A refresh of a sub-stream without check states, or of one not stored, writes nothing.
        let empty = StreamKey(urn: Self.urnA, subStreamId: "empty")
        try await store.commit(
            Self.change {
                $0.refreshedCheckStates = [
                    StoreChange.CheckStateRefresh(key: empty, lastSeenAt: Self.time(8), snapshotSequence: 5),
                    StoreChange.CheckStateRefresh(
                        key: StreamKey.main(Self.urnB), lastSeenAt: Self.time(8), snapshotSequence: 5),
                ]
            })
        #expect(try await store.checkStates(of: empty).isEmpty)
        #expect(try await store.allCheckStates() == expected + [podState])
    }

    /// A refresh whose change saves check states of its sub-stream at the refresh's own time and sequence (what the
    /// processor sends): the saved ones keep their new content, the others take the time and sequence, one already
    /// at them stays as it is; a sub-stream refreshed twice in one change takes both refreshes in order before its
    /// saves.
    func refreshesWithSavesAtTheRefreshTime() async throws {
        let store = try await makeStore()
        let main = StreamKey.main(Self.urnA)
        let pods = StreamKey(urn: Self.urnA, subStreamId: "pods")
        var states = ["a", "b", "c"].map { Self.state(main, $0) }
        // "c" is at the refresh's time and sequence already.
        states[2].lastSeenAt = Self.time(7)
        states[2].snapshotSequence = 4
        let podStates = ["a", "b"].map { Self.state(pods, $0) }
        try await Self.seed(store, subStreams: [main, pods], checkStates: states + podStates)

        func refreshed(_ state: StoredCheckState, at seconds: Double, sequence: Int64) -> StoredCheckState {
            var state = state
            state.lastSeenAt = Self.time(seconds)
            state.snapshotSequence = sequence
            return state
        }
        let changed = refreshed(
            Self.state(main, "b", health: .deviating, message: "changed"), at: 7, sequence: 4)
        let created = refreshed(Self.state(main, "d"), at: 7, sequence: 4)
        // Saved at the first of two refreshes of its sub-stream: the second refresh does not reach it.
        let podChanged = refreshed(Self.state(pods, "a", health: .critical), at: 8, sequence: 5)
        try await store.commit(
            Self.change {
                $0.refreshedCheckStates = [
                    StoreChange.CheckStateRefresh(key: main, lastSeenAt: Self.time(7), snapshotSequence: 4)
                ]
                $0.savedCheckStates = [created, changed]
            })
        #expect(
            Self.byId(try await store.checkStates(of: main)) == [
                refreshed(states[0], at: 7, sequence: 4), changed, states[2], created,
            ])
        #expect(Self.byId(try await store.checkStates(of: pods)) == podStates)

        try await store.commit(
            Self.change {
                $0.refreshedCheckStates = [
                    StoreChange.CheckStateRefresh(key: pods, lastSeenAt: Self.time(8), snapshotSequence: 5),
                    StoreChange.CheckStateRefresh(key: pods, lastSeenAt: Self.time(9), snapshotSequence: 6),
                ]
                $0.savedCheckStates = [podChanged]
            })
        #expect(
            Self.byId(try await store.checkStates(of: pods)) == [
                podChanged, refreshed(podStates[1], at: 9, sequence: 6),
            ])

        // A save in a later commit keeps its own time and sequence; the rows beside it keep the last refresh's.
        let later = refreshed(Self.state(pods, "b", health: .deviating), at: 10, sequence: 7)
        try await store.commit(Self.change { $0.savedCheckStates = [later] })
        #expect(Self.byId(try await store.checkStates(of: pods)) == [podChanged, later])
        for key in [main, pods] {
            try await Self.expectEveryReadAgrees(store, on: key)
        }
    }

    /// Expects every read of the check states of `key` to give what ``HealthSync/HealthStore/checkStates(of:)``
    /// gives: by ids, by URN and sub-stream, a page, and the stream context.
    static func expectEveryReadAgrees(_ store: any HealthStoreQueries, on key: StreamKey) async throws {
        let states = byId(try await store.checkStates(of: key))
        #expect(!states.isEmpty, "no check states in \(key)")
        let ids = states.map(\.checkState.checkStateId)
        #expect(byId(try await store.checkStates(of: key, ids: ids)) == states, "by ids")
        #expect(byId(try await store.checkStates(urn: key.urn, subStreamId: key.subStreamId)) == states)
        let page = try await store.checkStates(
            urn: key.urn, subStreamId: key.subStreamId, healths: nil, after: nil, limit: states.count + 1)
        #expect(byId(page) == states, "a page")
        let context = try await store.streamContext(of: key, includingCheckStates: true)
        #expect(byId(context.checkStates ?? []) == states, "the stream context")
    }
}
