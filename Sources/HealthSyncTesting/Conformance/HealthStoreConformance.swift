import Foundation
import HealthSync
import Testing

/// The contract every ``HealthSync/HealthStore`` must meet, as a reusable Swift Testing suite.
///
/// Each check creates its own empty store with `makeStore`, writes through ``HealthSync/HealthStore/commit(_:)``
/// and reads back through the protocol, recording failures with `#expect` and `#require`. Run them all:
///
/// ```swift
/// @Test func conformsToTheHealthStoreContract() async throws {
///     try await HealthStoreConformance { try MyHealthStore.inMemory() }.run()
/// }
/// ```
///
/// or one test case per check and store, which reports each failure by name:
///
/// ```swift
/// @Test(arguments: HealthStoreConformance.checks)
/// func conforms(to check: HealthStoreConformance.Check) async throws {
///     try await check.run(on: HealthStoreConformance { try MyHealthStore.inMemory() })
/// }
/// ```
///
/// Times are whole or binary-fraction offsets from an epoch-seconds origin, as the processor's times are
/// (collection timestamps plus whole-second intervals), so they survive any store that keeps epoch seconds.
public struct HealthStoreConformance: Sendable {
    /// One check of the suite, to parameterise tests over.
    public struct Check: Sendable, CustomStringConvertible, CustomTestStringConvertible {
        /// The name of the check: the name of its method.
        public let name: String
        private let body: @Sendable (HealthStoreConformance) async throws -> Void

        init(_ name: String, _ body: @escaping @Sendable (HealthStoreConformance) async throws -> Void) {
            self.name = name
            self.body = body
        }

        /// Runs the check on the stores of `suite`.
        /// - Throws: What the store throws, or what a failed `#require` throws.
        public func run(on suite: HealthStoreConformance) async throws {
            try await body(suite)
        }

        /// The name of the check.
        public var description: String { name }

        /// The name of the check, as test reports show it.
        public var testDescription: String { name }
    }

    /// Every check, in the order ``run()`` runs them.
    public static let checks: [Check] = [
        Check("insertsAndReadsBackEveryRecordKind") { try await $0.insertsAndReadsBackEveryRecordKind() },
        Check("roundTripsOptionalFields") { try await $0.roundTripsOptionalFields() },
        Check("roundTripsEveryModelValue") { try await $0.roundTripsEveryModelValue() },
        Check("rejectsStaleVersionsWithoutWritingAnything") {
            try await $0.rejectsStaleVersionsWithoutWritingAnything()
        },
        Check("insertOfExistingRecordConflicts") { try await $0.insertOfExistingRecordConflicts() },
        Check("appliesChangesInTheDocumentedOrder") { try await $0.appliesChangesInTheDocumentedOrder() },
        Check("refreshesEveryCheckStateOfASubStreamBetweenDeletionsAndSaves") {
            try await $0.refreshesEveryCheckStateOfASubStreamBetweenDeletionsAndSaves()
        },
        Check("cascadesStreamDeletion") { try await $0.cascadesStreamDeletion() },
        Check("cascadesSubStreamDeletionIncludingItsErrorsButNotStreamLevelOnes") {
            try await $0.cascadesSubStreamDeletionIncludingItsErrorsButNotStreamLevelOnes()
        },
        Check("rejectsDuplicateReceiptAtomically") { try await $0.rejectsDuplicateReceiptAtomically() },
        Check("prunesReceiptsByPrefixAndClock") { try await $0.prunesReceiptsByPrefixAndClock() },
        Check("keepsTheMaximumClock") { try await $0.keepsTheMaximumClock() },
        Check("ordersQueries") { try await $0.ordersQueries() },
        Check("ordersIdsAsTheirUTF8Bytes") { try await $0.ordersIdsAsTheirUTF8Bytes() },
        Check("filtersEvents") { try await $0.filtersEvents() },
        Check("findsDueSubStreamsStrictlyBeforeTimeEarliestFirstWithLimit") {
            try await $0.findsDueSubStreamsStrictlyBeforeTimeEarliestFirstWithLimit()
        },
        Check("readsCheckStatesByIds") { try await $0.readsCheckStatesByIds() },
        Check("readsTheStreamContextAsTheSeparateReads") { try await $0.readsTheStreamContextAsTheSeparateReads() },
        Check("countsInSummaries") { try await $0.countsInSummaries() },
        Check("prunesEventsButTheLatestStateOfLiveCheckStates") {
            try await $0.prunesEventsButTheLatestStateOfLiveCheckStates()
        },
        Check("writesQueuedCommitsInOrderAndNoneAfterAFailure") {
            try await $0.writesQueuedCommitsInOrderAndNoneAfterAFailure()
        },
    ]

    private let makeStore: @Sendable () async throws -> any HealthStoreQueries

    /// Creates the suite.
    ///
    /// The checks read back through ``HealthSync/HealthStoreQueries``, so the store adopts it. The checks of
    /// retention run when the store adopts ``HealthSync/HealthStoreRetention``; the checks of pipelining run on the
    /// store when it adopts ``HealthSync/PipelinedHealthStore``, otherwise on ``HealthSync/UnpipelinedHealthStore``
    /// over it, which is what the processor uses then.
    /// - Parameter makeStore: Returns a new, empty store each time it is called; every check calls it once.
    public init(makeStore: @escaping @Sendable () async throws -> any HealthStoreQueries) {
        self.makeStore = makeStore
    }

    /// Runs every check in ``checks``.
    /// - Throws: What a store throws, or what a failed `#require` throws; `#expect` failures are recorded
    ///   without throwing.
    public func run() async throws {
        for check in Self.checks {
            try await check.run(on: self)
        }
    }

    // MARK: - Records

    /// Every record kind is stored as given and read back equal, with versions starting at 1 and incremented by
    /// each update, which replaces the whole record.
    public func insertsAndReadsBackEveryRecordKind() async throws {
        let store = try await makeStore()
        let main = StreamKey.main(Self.urnA)
        let pods = StreamKey(urn: Self.urnA, subStreamId: "pods")

        #expect(try await store.stream(Self.urnA) == nil)
        #expect(try await store.subStream(main) == nil)
        #expect(try await store.subStreams(of: Self.urnA).isEmpty)
        #expect(try await store.checkStates(of: main).isEmpty)
        #expect(try await store.checkStates(of: main, ids: ["a"]).isEmpty)
        #expect(try await store.allCheckStates().isEmpty)
        #expect(try await store.errors(of: Self.urnA).isEmpty)
        #expect(try await store.streams().isEmpty)
        #expect(try await store.dueSubStreams(before: Self.time(1_000_000), limit: 10).isEmpty)
        #expect(try await store.nextDeadline() == nil)
        #expect(try await store.clock() == nil)
        #expect(try await store.hasReceipt("r1") == false)
        #expect(try await store.events(EventQuery()).isEmpty)

        let stream = StreamRecord(urn: Self.urnA, consistencyModel: .repeatStates, createdAt: Self.time(1.5))
        let mainRecord = Self.fullSubStream(main)
        let podsRecord = Self.subStream(pods, lateData: 90)
        let states = [
            Self.state(main, "b", health: .critical, message: "disk **full**"),
            Self.state(main, "a", health: .clear),
            Self.state(pods, "a", health: .deviating, message: "slow"),
        ]
        let errors = [
            Self.error(main, .subStreamLateData, at: 3),
            Self.error(pods, .streamMissingSubStream, streamLevel: true, at: 4),
            Self.error(pods, .subStreamTransformerError, at: 5),
        ]
        let events = [
            HealthEvent(
                at: Self.time(2), kind: .streamCreated, urn: Self.urnA, subStreamId: "", detail: "REPEAT_STATES"),
            HealthEvent(
                at: Self.time(2),
                kind: .checkStateCreated,
                urn: Self.urnA,
                subStreamId: "",
                checkState: states[0].checkState
            ),
        ]
        try await store.commit(
            Self.change {
                $0.savedStreams = [stream]
                $0.savedSubStreams = [mainRecord, podsRecord]
                $0.savedCheckStates = states
                $0.savedErrors = errors
                $0.events = events
                $0.clock = Self.time(10)
                $0.receipt = "r1"
            })

        #expect(try await store.stream(Self.urnA) == Self.stored(stream, version: 1))
        #expect(try await store.subStream(main) == Self.stored(mainRecord, version: 1))
        #expect(try await store.subStream(pods) == Self.stored(podsRecord, version: 1))
        #expect(
            try await store.subStreams(of: Self.urnA) == [mainRecord, podsRecord].map { Self.stored($0, version: 1) })
        #expect(Self.byId(try await store.checkStates(of: main)) == Self.byId(Array(states[0...1])))
        #expect(try await store.checkStates(of: pods) == [states[2]])
        #expect(try await store.errors(of: Self.urnA) == errors.sorted { $0.key < $1.key })
        let stored = try await store.events(EventQuery())
        #expect(stored.allSatisfy { $0.sequence != nil })
        #expect(Self.withoutSequences(stored) == events)
        #expect(try await store.clock() == Self.time(10))
        #expect(try await store.hasReceipt("r1"))
        #expect(try await store.hasReceipt("r2") == false)
        #expect(try await store.nextDeadline() == Self.time(90))

        // Updates: the version read goes in, the record is replaced, the stored version is one more.
        var updatedStream = try #require(try await store.stream(Self.urnA))
        updatedStream.consistencyModel = .transactionalIncrements
        updatedStream.createdAt = Self.time(7)
        var updatedMain = try #require(try await store.subStream(main))
        updatedMain.openSnapshot = nil
        updatedMain.checkpoint = Checkpoint(offset: 99)
        updatedMain.deadlines = SubStreamDeadlines(expiry: Self.time(500))
        updatedMain.metrics.messages += 1
        var replacedState = states[0]
        replacedState.checkState.health = .clear
        replacedState.checkState.message = nil
        replacedState.lastSeenAt = Self.time(11)
        replacedState.snapshotSequence = 8
        var replacedError = errors[0]
        replacedError.count = 2
        replacedError.message = "late again"
        replacedError.lastSeenAt = Self.time(12)
        try await store.commit(
            Self.change {
                $0.savedStreams = [updatedStream]
                $0.savedSubStreams = [updatedMain]
                $0.savedCheckStates = [replacedState]
                $0.savedErrors = [replacedError]
            })
        #expect(try await store.stream(Self.urnA) == Self.stored(updatedStream, version: 2))
        #expect(try await store.subStream(main) == Self.stored(updatedMain, version: 2))
        #expect(try await store.subStream(pods) == Self.stored(podsRecord, version: 1))
        #expect(try await store.checkStates(of: main, ids: ["b"]) == [replacedState])
        #expect(try await store.errors(of: Self.urnA).first { $0.key == replacedError.key } == replacedError)
        #expect(try await store.nextDeadline() == Self.time(90))
    }

    /// Optional fields read back as given, `nil` included: messages, intervals, snapshots, checkpoints with and
    /// without a batch index, each deadline on its own, and events with every field set or none.
    public func roundTripsOptionalFields() async throws {
        let store = try await makeStore()
        let keys = (0..<8).map { StreamKey(urn: Self.urnA, subStreamId: $0 == 0 ? "" : "s\($0)") }
        let records = [
            // Every optional field nil.
            SubStreamRecord(key: keys[0], createdAt: Self.time(0), lastMessageAt: Self.time(0)),
            Self.fullSubStream(keys[1]),
            SubStreamRecord(
                key: keys[2],
                createdAt: Self.time(-1.25),
                intervals: Intervals(repeatInterval: 30),
                openSnapshot: OpenSnapshot(startedAt: Self.time(0.5), clean: true),
                lastMessageAt: Self.time(0.5),
                checkpoint: Checkpoint(offset: 0, batchIndex: 0)
            ),
            SubStreamRecord(
                key: keys[3],
                createdAt: Self.time(0),
                lastMessageAt: Self.time(0),
                checkpoint: Checkpoint(offset: Int64.max),
                deadlines: SubStreamDeadlines(lateData: Self.time(40))
            ),
            SubStreamRecord(
                key: keys[4], createdAt: Self.time(0), lastMessageAt: Self.time(0),
                deadlines: SubStreamDeadlines(missingStop: Self.time(30))
            ),
            SubStreamRecord(
                key: keys[5], createdAt: Self.time(0), lastMessageAt: Self.time(0),
                deadlines: SubStreamDeadlines(expiry: Self.time(20))
            ),
            SubStreamRecord(
                key: keys[6], createdAt: Self.time(0), lastMessageAt: Self.time(0),
                deadlines: SubStreamDeadlines(checkStateExpiry: Self.time(10.5))
            ),
            SubStreamRecord(
                key: keys[7], createdAt: Self.time(0), lastMessageAt: Self.time(0),
                metrics: SubStreamMetrics(
                    messages: Int64.max, creates: 0, updates: 1, deletes: 2, totalLatency: 0.5, lastLatency: 0
                )
            ),
        ]
        let states = [
            Self.state(keys[0], "nil-message", message: nil),
            Self.state(keys[0], "empty-message", message: ""),
            Self.state(keys[0], "text-message", message: "Ünïcödé, 'quotes', \"double\", %_ and a\nnewline 🚑"),
        ]
        let fullCheckState = CheckState(
            checkStateId: "c1", name: "CPU", health: .critical, topologyElementIdentifier: "urn:host:/a",
            message: "hot"
        )
        let events = [
            HealthEvent(
                at: Self.time(1),
                kind: .checkStateUpdated,
                urn: Self.urnA,
                subStreamId: "s1",
                checkState: fullCheckState,
                previousHealth: .deviating,
                deletionReason: .expiry,
                errorCode: .subStreamLateData,
                detail: "everything set"
            ),
            HealthEvent(
                at: Self.time(2),
                kind: .checkStateDeleted,
                urn: Self.urnA,
                subStreamId: "",
                checkState: CheckState(
                    checkStateId: "c2", name: "Memory", health: .clear, topologyElementIdentifier: "urn:host:/b"
                ),
                deletionReason: .snapshotDiff
            ),
            HealthEvent(at: Self.time(3), kind: .snapshotStarted, urn: Self.urnA, subStreamId: ""),
        ]
        try await store.commit(
            Self.change {
                $0.savedStreams = [Self.stream(Self.urnA)]
                $0.savedSubStreams = records
                $0.savedCheckStates = states
                $0.events = events
            })

        for record in records {
            #expect(try await store.subStream(record.key) == Self.stored(record, version: 1))
        }
        #expect(Self.byId(try await store.checkStates(of: keys[0])) == Self.byId(states))
        #expect(Self.withoutSequences(try await store.events(EventQuery())) == events)
        #expect(try await store.nextDeadline() == Self.time(10.5))
        let due = try await store.dueSubStreams(before: Self.time(1000), limit: 10)
        #expect(due == [keys[6], keys[5], keys[4], keys[3], keys[1]])
    }

    /// Every value of the model's enums is stored and read back: consistency models, healths, error codes and
    /// levels, event kinds and deletion reasons.
    public func roundTripsEveryModelValue() async throws {
        let store = try await makeStore()
        let streams = ConsistencyModel.allCases.enumerated().map { index, model in
            StreamRecord(urn: "urn:health:test:model\(index)", consistencyModel: model, createdAt: Self.time(0))
        }
        let main = StreamKey.main(Self.urnA)
        let states = Health.allCases.map { Self.state(main, $0.rawValue, health: $0) }
        let errors = StreamErrorCode.allCases.enumerated().map { index, code in
            ErrorRecord(
                key: ErrorKey(urn: Self.urnA, streamLevel: index.isMultiple(of: 2), subStreamId: "", code: code),
                level: code.level,
                message: code.rawValue,
                count: Int64(index + 1),
                firstSeenAt: Self.time(Double(index)),
                lastSeenAt: Self.time(Double(index) + 0.75)
            )
        }
        var events = HealthEvent.Kind.allCases.map {
            HealthEvent(at: Self.time(1), kind: $0, urn: Self.urnA, subStreamId: "")
        }
        events += DeletionReason.allCases.map {
            HealthEvent(at: Self.time(2), kind: .checkStateDeleted, urn: Self.urnA, subStreamId: "", deletionReason: $0)
        }
        events += Health.allCases.map {
            HealthEvent(at: Self.time(3), kind: .checkStateUpdated, urn: Self.urnA, subStreamId: "", previousHealth: $0)
        }
        events += StreamErrorCode.allCases.map {
            HealthEvent(at: Self.time(4), kind: .errorOpened, urn: Self.urnA, subStreamId: "", errorCode: $0)
        }
        try await store.commit(
            Self.change {
                $0.savedStreams = streams + [Self.stream(Self.urnA)]
                $0.savedSubStreams = [Self.subStream(main)]
                $0.savedCheckStates = states
                $0.savedErrors = errors
                $0.events = events
            })

        for stream in streams {
            #expect(try await store.stream(stream.urn) == Self.stored(stream, version: 1))
        }
        #expect(Self.byId(try await store.checkStates(of: main)) == Self.byId(states))
        #expect(try await store.errors(of: Self.urnA) == errors.sorted { $0.key < $1.key })
        #expect(Self.withoutSequences(try await store.events(EventQuery())) == events)
    }

    // MARK: - Versions and atomicity

    /// A save or deletion whose version no longer matches fails with ``HealthSync/StorageError/Code/conflict``,
    /// and nothing of its change is written, even the parts that came before the stale record.
    public func rejectsStaleVersionsWithoutWritingAnything() async throws {
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
    public func insertOfExistingRecordConflicts() async throws {
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
    public func appliesChangesInTheDocumentedOrder() async throws {
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
    public func refreshesEveryCheckStateOfASubStreamBetweenDeletionsAndSaves() async throws {
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

    // MARK: - Deletions

    /// Deleting a stream deletes its sub-streams, check states and errors (stream-level and of every sub-stream)
    /// and no other stream's; events are history and stay; the URN can then be inserted anew.
    public func cascadesStreamDeletion() async throws {
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
    public func cascadesSubStreamDeletionIncludingItsErrorsButNotStreamLevelOnes() async throws {
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

    // MARK: - Receipts and clock

    /// A change whose receipt was committed before fails with ``HealthSync/StorageError/Code/duplicateReceipt``
    /// and writes nothing; other receipts still commit, even in a change that writes nothing else.
    public func rejectsDuplicateReceiptAtomically() async throws {
        let store = try await makeStore()
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        try await Self.seed(store, subStreams: [other])
        try await store.commit(
            Self.change {
                $0.events = [HealthEvent(at: Self.time(1), kind: .snapshotStarted, urn: Self.urnA, subStreamId: "x")]
                $0.clock = Self.time(1)
                $0.receipt = "envelope-1"
            })
        #expect(try await store.hasReceipt("envelope-1"))

        var change = Self.payload(touching: other)
        change.receipt = "envelope-1"
        try await Self.expectNothingWritten(
            by: change, to: store, failingWith: .duplicateReceipt, "a repeated receipt", receiptIsNew: false
        )

        try await store.commit(Self.change { $0.receipt = "envelope-2" })
        #expect(try await store.hasReceipt("envelope-2"))
        try await Self.expectNothingWritten(
            by: Self.change { $0.receipt = "envelope-2" }, to: store, failingWith: .duplicateReceipt,
            "a repeated receipt alone", receiptIsNew: false
        )
        #expect(try await store.hasReceipt("envelope-1"))
        #expect(try await store.hasReceipt("envelope-3") == false)
    }

    /// The stored clock is the maximum of the clocks ever committed; a change without a clock leaves it alone.
    public func keepsTheMaximumClock() async throws {
        let store = try await makeStore()
        #expect(try await store.clock() == nil)
        try await store.commit(Self.change { $0.clock = Self.time(5.5) })
        #expect(try await store.clock() == Self.time(5.5))
        try await store.commit(Self.change { $0.clock = Self.time(3) })
        #expect(try await store.clock() == Self.time(5.5))
        try await store.commit(Self.change { $0.receipt = "no clock" })
        #expect(try await store.clock() == Self.time(5.5))
        try await store.commit(Self.change { $0.clock = Self.time(7.25) })
        #expect(try await store.clock() == Self.time(7.25))
        try await store.commit(Self.change { $0.clock = Self.time(7.25) })
        #expect(try await store.clock() == Self.time(7.25))
    }

    // MARK: - Queries

    /// Ids sort as their UTF-8 bytes (C collation) in every sorted listing, whatever the locale: URNs in
    /// ``HealthSync/HealthStoreQueries/streams()``, sub-stream ids in ``HealthSync/HealthStore/subStreams(of:)``,
    /// and URNs, sub-stream ids and check-state ids in ``HealthSync/HealthStoreQueries/checkStates(urn:subStreamId:)``
    /// and its pages. The ids mix upper and lower case, accented letters and an emoji (all in NFC).
    public func ordersIdsAsTheirUTF8Bytes() async throws {
        let store = try await makeStore()
        let suffixes = ["z", "é", "Z", "ä", "a", "😀", "e", "É"]
        func bytewise(_ lhs: String, _ rhs: String) -> Bool { Array(lhs.utf8).lexicographicallyPrecedes(rhs.utf8) }
        let urns = suffixes.map { "urn:health:test:\($0)" }
        let keys = urns.map { StreamKey.main($0) } + suffixes.map { StreamKey(urn: Self.urnA, subStreamId: $0) }
        let states = keys.flatMap { key in suffixes.map { Self.state(key, $0) } }
        try await Self.seed(store, subStreams: keys, checkStates: states.reversed())

        #expect(try await store.streams().map(\.urn) == urns.sorted(by: bytewise), "urn:health:test:a is urnA")
        #expect(
            try await store.subStreams(of: Self.urnA).map(\.key.subStreamId) == [""] + suffixes.sorted(by: bytewise))
        let expected = states.sorted {
            if $0.key.urn != $1.key.urn { return bytewise($0.key.urn, $1.key.urn) }
            if $0.key.subStreamId != $1.key.subStreamId { return bytewise($0.key.subStreamId, $1.key.subStreamId) }
            return bytewise($0.checkStateId, $1.checkStateId)
        }
        #expect(try await store.checkStates(urn: nil, subStreamId: nil) == expected)
        var paged: [StoredCheckState] = []
        var position: CheckStatePosition?
        for _ in 0...expected.count {
            let page = try await store.checkStates(
                urn: nil, subStreamId: nil, healths: nil, after: position, limit: 7)
            guard let last = page.last else { break }
            paged += page
            position = CheckStatePosition(last)
        }
        #expect(paged == expected)
    }

    /// Queries return their documented order whatever the order of insertion: streams by URN, sub-streams main
    /// first, check states by URN, sub-stream and id, errors by ``HealthSync/ErrorKey``, events by time and then
    /// sequence (which follows commit order).
    public func ordersQueries() async throws {
        let store = try await makeStore()
        let keys = [
            StreamKey(urn: Self.urnC, subStreamId: "b"),
            StreamKey(urn: Self.urnA, subStreamId: "z"),
            StreamKey.main(Self.urnB),
            StreamKey(urn: Self.urnA, subStreamId: "m"),
            StreamKey.main(Self.urnA),
            StreamKey(urn: Self.urnB, subStreamId: "a"),
        ]
        let ids = ["k", "b", "z", "a"]
        let states = keys.flatMap { key in ids.map { Self.state(key, $0) } }
        let errors = keys.flatMap { key in
            [
                Self.error(key, .subStreamTransformerError, at: 1),
                Self.error(key, .subStreamExpired, streamLevel: true, at: 1),
                Self.error(key, .subStreamLateData, at: 1),
                Self.error(key, .streamMissingSubStream, streamLevel: true, at: 1),
            ]
        }
        try await Self.seed(store, streams: [Self.urnC, Self.urnA, Self.urnB], subStreams: keys)
        try await store.commit(
            Self.change {
                $0.savedCheckStates = states.reversed()
                $0.savedErrors = errors.reversed()
            })

        #expect(try await store.streams().map(\.urn) == [Self.urnA, Self.urnB, Self.urnC])
        #expect(try await store.subStreams(of: Self.urnA).map(\.key.subStreamId) == ["", "m", "z"])
        #expect(try await store.subStreams(of: Self.urnB).map(\.key.subStreamId) == ["", "a"])
        let sortedStates = states.sorted { ($0.key, $0.checkStateId) < ($1.key, $1.checkStateId) }
        #expect(try await store.allCheckStates() == sortedStates)
        #expect(
            try await store.checkStates(urn: Self.urnA, subStreamId: nil)
                == sortedStates.filter {
                    $0.key.urn == Self.urnA
                })
        #expect(
            try await store.checkStates(urn: Self.urnA, subStreamId: "m")
                == sortedStates.filter {
                    $0.key == StreamKey(urn: Self.urnA, subStreamId: "m")
                })
        #expect(try await store.checkStates(urn: nil, subStreamId: "") == sortedStates.filter { $0.key.isMain })
        #expect(try await store.checkStates(urn: Self.urnD, subStreamId: nil).isEmpty)
        for urn in [Self.urnA, Self.urnB, Self.urnC] {
            #expect(try await store.errors(of: urn) == errors.filter { $0.key.urn == urn }.sorted { $0.key < $1.key })
        }

        // Sequences follow commit order; reads sort by time, then sequence.
        func event(_ label: String, at seconds: Double) -> HealthEvent {
            HealthEvent(at: Self.time(seconds), kind: .snapshotStarted, urn: Self.urnA, subStreamId: "", detail: label)
        }
        try await store.commit(Self.change { $0.events = [event("first", at: 3), event("second", at: 1)] })
        try await store.commit(Self.change { $0.events = [event("third", at: 1), event("fourth", at: 2)] })
        let stored = try await store.events(EventQuery())
        #expect(stored.map(\.detail) == ["second", "third", "fourth", "first"])
        var sequenceByLabel: [String: Int64] = [:]
        for event in stored {
            let label = try #require(event.detail)
            let sequence = try #require(event.sequence)
            sequenceByLabel[label] = sequence
        }
        let inCommitOrder = ["first", "second", "third", "fourth"].compactMap { sequenceByLabel[$0] }
        #expect(inCommitOrder.count == 4)
        #expect(zip(inCommitOrder, inCommitOrder.dropFirst()).allSatisfy { $0 < $1 }, "\(sequenceByLabel)")
    }

    /// Every ``HealthSync/EventQuery`` criterion filters, bounds are inclusive, and `limit` keeps the oldest.
    public func filtersEvents() async throws {
        let store = try await makeStore()
        func event(
            _ label: String, at seconds: Double, _ urn: String, _ subStreamId: String, checkStateId: String? = nil
        ) -> HealthEvent {
            HealthEvent(
                at: Self.time(seconds),
                kind: checkStateId == nil ? .snapshotStarted : .checkStateCreated,
                urn: urn,
                subStreamId: subStreamId,
                checkState: checkStateId.map {
                    CheckState(checkStateId: $0, name: $0, health: .clear, topologyElementIdentifier: "urn:host:/\($0)")
                },
                detail: label
            )
        }
        try await store.commit(
            Self.change {
                $0.events = [
                    event("e1", at: 1, Self.urnA, "", checkStateId: "c1"),
                    event("e2", at: 2, Self.urnA, "x", checkStateId: "c1"),
                    event("e3", at: 2, Self.urnB, ""),
                    event("e4", at: 3, Self.urnA, "", checkStateId: "c2"),
                    event("e5", at: 4, Self.urnA, ""),
                    event("e6", at: 4, Self.urnB, "x", checkStateId: "c1"),
                ]
            })
        func labels(_ query: EventQuery) async throws -> [String] {
            try await store.events(query).compactMap(\.detail)
        }

        #expect(try await labels(EventQuery()) == ["e1", "e2", "e3", "e4", "e5", "e6"])
        #expect(try await labels(EventQuery(urn: Self.urnA)) == ["e1", "e2", "e4", "e5"])
        #expect(try await labels(EventQuery(urn: Self.urnA, subStreamId: "")) == ["e1", "e4", "e5"])
        #expect(try await labels(EventQuery(urn: Self.urnA, subStreamId: "x")) == ["e2"])
        #expect(try await labels(EventQuery(urn: Self.urnC)) == [])
        #expect(try await labels(EventQuery(checkStateId: "c1")) == ["e1", "e2", "e6"])
        #expect(try await labels(EventQuery(urn: Self.urnA, subStreamId: "", checkStateId: "c1")) == ["e1"])
        #expect(try await labels(EventQuery(since: Self.time(2))) == ["e2", "e3", "e4", "e5", "e6"])
        #expect(try await labels(EventQuery(until: Self.time(2))) == ["e1", "e2", "e3"])
        #expect(try await labels(EventQuery(since: Self.time(2), until: Self.time(3))) == ["e2", "e3", "e4"])
        #expect(try await labels(EventQuery(since: Self.time(2.5), until: Self.time(2.75))) == [])
        #expect(try await labels(EventQuery(limit: 2)) == ["e1", "e2"])
        #expect(try await labels(EventQuery(limit: 0)) == [])
        #expect(try await labels(EventQuery(limit: 100)).count == 6)
        #expect(try await labels(EventQuery(urn: Self.urnA, limit: 3)) == ["e1", "e2", "e4"])
        #expect(try await labels(EventQuery(since: Self.time(2), limit: 1)) == ["e2"])
        #expect(
            try await labels(
                EventQuery(urn: Self.urnA, checkStateId: "c1", since: Self.time(1.5), until: Self.time(4), limit: 5)
            ) == ["e2"]
        )
    }

    /// ``HealthSync/HealthStore/dueSubStreams(before:limit:)`` finds the sub-streams whose earliest deadline is
    /// strictly before the time, earliest first, at most `limit`; ``HealthSync/HealthStore/nextDeadline()`` is the
    /// earliest deadline. Both follow updates and deletions.
    public func findsDueSubStreamsStrictlyBeforeTimeEarliestFirstWithLimit() async throws {
        let store = try await makeStore()
        let mainA = StreamKey.main(Self.urnA)
        let xA = StreamKey(urn: Self.urnA, subStreamId: "x")
        let mainB = StreamKey.main(Self.urnB)
        let yB = StreamKey(urn: Self.urnB, subStreamId: "y")
        let mainC = StreamKey.main(Self.urnC)
        try await Self.seed(store, subStreams: [mainA, xA, mainB, yB, mainC])
        try await store.commit(
            Self.change {
                $0.savedSubStreams = [
                    Self.stored(
                        Self.subStream(mainA, deadlines: SubStreamDeadlines(lateData: Self.time(30))), version: 1),
                    Self.stored(
                        Self.subStream(
                            xA, deadlines: SubStreamDeadlines(lateData: Self.time(60), missingStop: Self.time(10))),
                        version: 1
                    ),
                    Self.stored(
                        Self.subStream(mainB, deadlines: SubStreamDeadlines(expiry: Self.time(20))), version: 1),
                    Self.stored(
                        Self.subStream(
                            yB, deadlines: SubStreamDeadlines(lateData: Self.time(50), checkStateExpiry: Self.time(20))
                        ),
                        version: 1
                    ),
                ]
            })

        #expect(try await store.nextDeadline() == Self.time(10))
        #expect(try await store.dueSubStreams(before: Self.time(10), limit: 10) == [])
        #expect(try await store.dueSubStreams(before: Self.time(10.5), limit: 10) == [xA])
        #expect(try await store.dueSubStreams(before: Self.time(20), limit: 10) == [xA])
        let tied = try await store.dueSubStreams(before: Self.time(21), limit: 10)
        #expect(tied.first == xA)
        #expect(Set(tied.dropFirst()) == [mainB, yB] && tied.count == 3)
        let all = try await store.dueSubStreams(before: Self.time(1000), limit: 10)
        #expect(all.count == 4)
        #expect(all.first == xA && all.last == mainA)
        #expect(!all.contains(mainC))
        #expect(try await store.dueSubStreams(before: Self.time(1000), limit: 1) == [xA])
        #expect(try await store.dueSubStreams(before: Self.time(1000), limit: 4) == all)
        #expect(try await store.dueSubStreams(before: Self.time(1000), limit: 0) == [])

        // Clearing a sub-stream's deadlines and deleting another take them out of both queries.
        try await store.commit(
            Self.change {
                $0.savedSubStreams = [Self.stored(Self.subStream(xA), version: 2)]
                $0.deletedSubStreams = [StoreChange.SubStreamDeletion(key: mainB, version: 2)]
            })
        #expect(try await store.nextDeadline() == Self.time(20))
        #expect(try await store.dueSubStreams(before: Self.time(1000), limit: 10) == [yB, mainA])
    }

    /// ``HealthSync/HealthStore/checkStates(of:ids:)`` returns the check states of that sub-stream with those
    /// ids, leaving out unknown and repeated ids and other sub-streams' check states; `nil` means all.
    public func readsCheckStatesByIds() async throws {
        let store = try await makeStore()
        let main = StreamKey.main(Self.urnA)
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        let mainStates = ["a", "b", "c", "d"].map { Self.state(main, $0) }
        try await Self.seed(
            store,
            subStreams: [main, other, StreamKey.main(Self.urnB)],
            checkStates: mainStates + [
                Self.state(other, "a"), Self.state(other, "e"), Self.state(.main(Self.urnB), "a"),
            ]
        )

        #expect(Self.byId(try await store.checkStates(of: main, ids: ["c", "a"])) == [mainStates[0], mainStates[2]])
        #expect(try await store.checkStates(of: main, ids: ["b", "b"]) == [mainStates[1]])
        #expect(try await store.checkStates(of: main, ids: ["e", "unknown"]) == [])
        #expect(try await store.checkStates(of: main, ids: []) == [])
        #expect(Self.byId(try await store.checkStates(of: main, ids: nil)) == mainStates)
        #expect(Self.byId(try await store.checkStates(of: main, ids: ["d", "zz", "a", "b", "c"])) == mainStates)
        #expect(try await store.checkStates(of: other, ids: ["a"]) == [Self.state(other, "a")])
        #expect(try await store.checkStates(of: StreamKey(urn: Self.urnA, subStreamId: "none"), ids: ["a"]) == [])
        #expect(try await store.checkStates(of: .main(Self.urnD), ids: nil) == [])
        let many = (0..<2_000).map { "id\($0)" } + ["b"]
        #expect(try await store.checkStates(of: main, ids: many) == [mainStates[1]])
    }

    /// ``HealthSync/HealthStoreRetention/pruneReceipts(withPrefix:before:)`` deletes exactly the receipts that start
    /// with the prefix and were committed with a clock before the cutoff; a pruned receipt can be committed again.
    /// A store without ``HealthSync/HealthStoreRetention`` has nothing to check here.
    public func prunesReceiptsByPrefixAndClock() async throws {
        guard let store = try await makeStore() as? any HealthStoreRetention else { return }
        let receipts: [(String, Double?)] = [
            ("http:old", 10), ("http:", 10), ("http:new", 30), ("http:at-cutoff", 20), ("http:no-clock", nil),
            ("replay:abc:1", 10), ("httpx", 10), ("http", 10),
        ]
        for (receipt, clock) in receipts {
            try await store.commit(
                Self.change {
                    $0.receipt = receipt
                    $0.clock = clock.map(Self.time)
                })
        }

        #expect(try await store.pruneReceipts(withPrefix: "http:", before: Self.time(20)) == 2)
        for (receipt, _) in receipts {
            let pruned = receipt == "http:old" || receipt == "http:"
            #expect(try await store.hasReceipt(receipt) == !pruned, "\(receipt)")
        }
        #expect(try await store.pruneReceipts(withPrefix: "http:", before: Self.time(20)) == 0)
        try await store.commit(Self.change { $0.receipt = "http:old" })
        #expect(try await store.hasReceipt("http:old"))
    }

    /// ``HealthSync/HealthStore/batchContext(of:due:)`` of one request returns what the separate reads of the
    /// stream, its errors, the sub-stream and, when asked for and the sub-stream is stored, its check states (sorted
    /// by id, as ``HealthSync/HealthStore/checkStates(of:ids:)`` has them) return: for a stored sub-stream, a
    /// sub-stream that is not stored, and a stream that is not stored; for several requests, the same in order,
    /// with the due timers asked for (none for `nil`, every one for ``HealthSync/DueTimers/all(before:)``), and so
    /// does ``HealthSync/PipelinedHealthStore/batchContextBesideWrites(of:due:)``.
    public func readsTheStreamContextAsTheSeparateReads() async throws {
        let store = try await makeStore()
        let pipeline = Self.pipeline(of: store)
        let main = StreamKey.main(Self.urnA)
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        let mainStates = ["d", "a", "c", "b"].map { Self.state(main, $0) }
        let errors = [
            Self.error(main, .streamMissingSubStream, streamLevel: true, at: 1),
            Self.error(other, .subStreamLateData, at: 2),
        ]
        try await Self.seed(
            store,
            subStreams: [main, other, StreamKey.main(Self.urnB)],
            checkStates: mainStates + [Self.state(other, "e"), Self.state(.main(Self.urnB), "a")],
            errors: errors
        )
        // A sub-stream with every optional field set, and one with a clean open snapshot and no checkpoint batch.
        let full = StreamKey(urn: Self.urnA, subStreamId: "full")
        let clean = StreamKey(urn: Self.urnA, subStreamId: "clean")
        var cleanRecord = Self.fullSubStream(clean)
        cleanRecord.openSnapshot?.clean = true
        cleanRecord.checkpoint?.batchIndex = nil
        try await store.commit(Self.change { $0.savedSubStreams = [Self.fullSubStream(full), cleanRecord] })

        let keys = [main, other, full, clean, StreamKey(urn: Self.urnA, subStreamId: "none"), .main(Self.urnD)]
        for key in keys {
            let separate = StreamContext(
                stream: try await store.stream(key.urn),
                errors: try await store.errors(of: key.urn),
                subStream: try await store.subStream(key)
            )
            let without = try await store.streamContext(of: key, includingCheckStates: false)
            #expect(without == separate, "\(key)")
            var withStates = separate
            if separate.subStream != nil {
                withStates.checkStates = Self.byId(try await store.checkStates(of: key, ids: nil))
            }
            #expect(try await store.streamContext(of: key, includingCheckStates: true) == withStates, "\(key)")
        }
        // Several in one call: one context per request, in order, each as read alone.
        let requests = keys.enumerated().map {
            ContextRequest(key: $0.element, includingCheckStates: $0.offset % 2 == 0)
        }
        var alone: [StreamContext] = []
        for request in requests {
            alone.append(
                try await store.streamContext(of: request.key, includingCheckStates: request.includingCheckStates))
        }
        for (time, limit) in [(0.0, 10), (1e9, 10), (1e9, 1), (1e9, 0)] {
            let batch = try await store.batchContext(
                of: requests, due: DueTimers(before: Self.time(time), limit: limit))
            #expect(batch.contexts == alone)
            #expect(batch.due == (try await store.dueSubStreams(before: Self.time(time), limit: limit)))
            // Beside the writes (none run here), the same.
            let beside = try await pipeline.batchContextBesideWrites(
                of: requests, due: DueTimers(before: Self.time(time), limit: limit))
            #expect(beside.contexts == alone)
            #expect(beside.due == batch.due)
        }
        let every = try await store.batchContext(of: requests, due: .all(before: Self.time(1e9)))
        #expect(every.contexts == alone)
        #expect(every.due == (try await store.dueSubStreams(before: Self.time(1e9), limit: 1_000)))
        let none = try await store.batchContext(of: requests, due: nil)
        #expect(none.contexts == alone)
        #expect(none.due == [])
        #expect(try await store.batchContext(of: [], due: DueTimers(before: Self.time(0), limit: 10)).contexts.isEmpty)

        let context = try await store.streamContext(of: main, includingCheckStates: true)
        #expect(context.checkStates == Self.byId(mainStates))
        #expect(
            try await store.streamContext(of: full, includingCheckStates: false).subStream
                == Self.stored(Self.fullSubStream(full), version: 1))
        #expect(
            try await store.streamContext(of: clean, includingCheckStates: false).subStream
                == Self.stored(cleanRecord, version: 1))
        #expect(context.errors.map(\.key) == errors.map(\.key).sorted())
        #expect(try await store.streamContext(of: .main(Self.urnD), includingCheckStates: true).checkStates == nil)
    }

    /// ``HealthSync/HealthStoreQueries/streams()`` counts each stream's sub-streams (main included) and its check states
    /// over all sub-streams, and follows deletions.
    public func countsInSummaries() async throws {
        let store = try await makeStore()
        let mainA = StreamKey.main(Self.urnA)
        let xA = StreamKey(urn: Self.urnA, subStreamId: "x")
        let mainB = StreamKey.main(Self.urnB)
        try await Self.seed(
            store,
            streams: [Self.urnA, Self.urnB, Self.urnC],
            subStreams: [mainA, xA, mainB],
            checkStates: [
                Self.state(mainA, "1"), Self.state(mainA, "2"), Self.state(xA, "1"), Self.state(xA, "2"),
                Self.state(xA, "3"), Self.state(mainB, "1"),
            ]
        )
        #expect(
            try await store.streams() == [
                StreamSummary(
                    urn: Self.urnA, consistencyModel: .repeatSnapshots, subStreamCount: 2, checkStateCount: 5),
                StreamSummary(
                    urn: Self.urnB, consistencyModel: .repeatSnapshots, subStreamCount: 1, checkStateCount: 1),
                StreamSummary(
                    urn: Self.urnC, consistencyModel: .repeatSnapshots, subStreamCount: 0, checkStateCount: 0),
            ]
        )

        try await store.commit(
            Self.change {
                $0.deletedSubStreams = [StoreChange.SubStreamDeletion(key: xA, version: 1)]
                $0.deletedCheckStates = [(mainA, "1"), (mainB, "1"), (mainB, "unknown")]
            })
        #expect(
            try await store.streams() == [
                StreamSummary(
                    urn: Self.urnA, consistencyModel: .repeatSnapshots, subStreamCount: 1, checkStateCount: 1),
                StreamSummary(
                    urn: Self.urnB, consistencyModel: .repeatSnapshots, subStreamCount: 1, checkStateCount: 0),
                StreamSummary(
                    urn: Self.urnC, consistencyModel: .repeatSnapshots, subStreamCount: 0, checkStateCount: 0),
            ]
        )
    }
}

// MARK: - Event retention

extension HealthStoreConformance {
    /// ``HealthSync/HealthStoreRetention/pruneEvents(before:)`` deletes the events strictly before the cutoff
    /// except, per check state (URN, sub-stream and id), the latest one before the cutoff (by time, then sequence)
    /// when it created or updated the check state; it returns how many it deleted, and later commits get larger
    /// sequences. A store without ``HealthSync/HealthStoreRetention`` has nothing to check here.
    public func prunesEventsButTheLatestStateOfLiveCheckStates() async throws {
        let made = try await makeStore()
        guard let store = made as? any HealthStoreRetention & HealthStoreQueries else { return }
        let main = StreamKey.main(Self.urnA)
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        func event(
            _ label: String,
            at seconds: Double,
            _ kind: HealthEvent.Kind,
            _ key: StreamKey = main,
            _ id: String? = nil,
            reason: DeletionReason? = nil
        ) -> HealthEvent {
            HealthEvent(
                at: Self.time(seconds),
                kind: kind,
                urn: key.urn,
                subStreamId: key.subStreamId,
                checkState: id.map {
                    CheckState(checkStateId: $0, name: $0, health: .clear, topologyElementIdentifier: "urn:host:/\($0)")
                },
                deletionReason: reason,
                detail: label
            )
        }
        #expect(try await store.pruneEvents(before: Self.time(100)) == 0, "an empty store has nothing to prune")

        try await store.commit(
            Self.change {
                $0.events = [
                    event("stream", at: 1, .streamCreated),
                    event("c1 created", at: 1, .checkStateCreated, main, "c1"),
                    event("c2 created", at: 1, .checkStateCreated, main, "c2"),
                    event("c1 in x created", at: 1, .checkStateCreated, other, "c1"),
                    event("completed 1", at: 1, .snapshotCompleted),
                    event("c1 updated", at: 2, .checkStateUpdated, main, "c1"),
                    event("c2 deleted", at: 3, .checkStateDeleted, main, "c2", reason: .snapshotDiff),
                    event("error", at: 3, .errorOpened),
                    event("c3 created", at: 3.5, .checkStateCreated, main, "c3"),
                ]
            })
        // Same time as c3's creation, later sequence: this update is c3's latest event before the cutoff.
        try await store.commit(
            Self.change { $0.events = [event("c3 updated", at: 3.5, .checkStateUpdated, main, "c3")] })
        try await store.commit(
            Self.change {
                $0.events = [
                    event("c4 created", at: 3.75, .checkStateCreated, main, "c4"),
                    event("c4 deleted", at: 3.75, .checkStateDeleted, main, "c4", reason: .snapshotDiff),
                    event("at the cutoff", at: 4, .snapshotCompleted),
                    event("c1 updated later", at: 5, .checkStateUpdated, main, "c1"),
                ]
            })

        #expect(try await store.pruneEvents(before: Self.time(4)) == 9)
        let kept = try await store.events(EventQuery())
        #expect(
            kept.map(\.detail) == ["c1 in x created", "c1 updated", "c3 updated", "at the cutoff", "c1 updated later"]
        )
        #expect(try await store.pruneEvents(before: Self.time(4)) == 0, "pruning again at the same cutoff")
        #expect(try await store.pruneEvents(before: Self.time(2)) == 0, "an earlier cutoff")

        try await store.commit(Self.change { $0.events = [event("after pruning", at: 6, .snapshotStarted)] })
        let sequences = try await store.events(EventQuery()).map(\.sequence)
        #expect(Set(sequences).count == sequences.count, "sequences stay unique: \(sequences)")
        let newest = try #require(try await store.events(EventQuery(since: Self.time(6))).first?.sequence)
        #expect(sequences.compactMap { $0 }.allSatisfy { $0 <= newest }, "\(sequences)")

        // The check state deleted after the cutoff keeps its history until a later cutoff passes its deletion.
        try await store.commit(
            Self.change { $0.events = [event("c1 deleted", at: 7, .checkStateDeleted, main, "c1", reason: .expiry)] }
        )
        #expect(try await store.pruneEvents(before: Self.time(8)) == 5)
        #expect(try await store.events(EventQuery()).map(\.detail) == ["c1 in x created", "c3 updated"])
    }
}

extension HealthStoreConformance {
    /// ``HealthSync/PipelinedHealthStore/queueCommit(_:after:)`` writes commits in the order they were queued, each
    /// only after the one before it: a commit that is valid only after its predecessor succeeds. One queued after a
    /// failed commit fails with ``HealthSync/CommitTicket/earlierFailure`` and writes nothing, and so does the one
    /// after it; a commit queued after nothing is written again. Over a store without pipelining, this checks
    /// ``HealthSync/UnpipelinedHealthStore`` over it.
    public func writesQueuedCommitsInOrderAndNoneAfterAFailure() async throws {
        let store = Self.pipeline(of: try await makeStore())
        // An insert, then updates that each need the version the one before writes, queued before any ran.
        var first = store.queueCommit(Self.change { $0.savedStreams = [Self.stream(Self.urnA)] }, after: nil)
        for version in Int64(1)...3 {
            var record = Self.stream(Self.urnA)
            record.version = version
            record.createdAt = Self.time(Double(version))
            first = store.queueCommit(Self.change { $0.savedStreams = [record] }, after: first)
        }
        try await first.wait()
        #expect(first.succeeded == true)
        #expect(try await store.stream(Self.urnA)?.version == 4)
        #expect(try await store.stream(Self.urnA)?.createdAt == Self.time(3))

        // A stale update fails; the valid insert queued after it, and the one after that, are not written.
        var stale = Self.stream(Self.urnA)
        stale.version = 1
        let failing = store.queueCommit(Self.change { $0.savedStreams = [stale] }, after: first)
        let next = store.queueCommit(Self.change { $0.savedStreams = [Self.stream(Self.urnB)] }, after: failing)
        let last = store.queueCommit(Self.change { $0.savedStreams = [Self.stream(Self.urnC)] }, after: next)
        for ticket in [failing, next, last] {
            let error = await #expect(throws: StorageError.self) { try await ticket.wait() }
            #expect(error?.code == .conflict)
            #expect(ticket.succeeded == false)
        }
        #expect(try await store.stream(Self.urnB) == nil)
        #expect(try await store.stream(Self.urnC) == nil)
        #expect(try await store.stream(Self.urnA)?.version == 4)

        let again = store.queueCommit(Self.change { $0.savedStreams = [Self.stream(Self.urnB)] }, after: nil)
        try await again.wait()
        #expect(try await store.stream(Self.urnB)?.version == 1)
    }
}

// MARK: - Fixtures

extension HealthStoreConformance {
    /// The store's pipelining as the processor uses it: the store when it adopts it, otherwise
    /// ``HealthSync/UnpipelinedHealthStore`` over it.
    static func pipeline(of store: any HealthStore) -> any PipelinedHealthStore {
        store as? any PipelinedHealthStore ?? UnpipelinedHealthStore(store)
    }

    static let urnA = "urn:health:test:a"
    static let urnB = "urn:health:test:b"
    static let urnC = "urn:health:test:c"
    static let urnD = "urn:health:test:d"

    /// `seconds` after the origin, 2023-11-14T22:13:20Z. Offsets are whole or binary fractions, so the dates are
    /// exact in epoch seconds.
    static func time(_ seconds: Double) -> Date {
        Date(timeIntervalSince1970: 1_700_000_000 + seconds)
    }

    static func change(_ build: (inout StoreChange) -> Void) -> StoreChange {
        var change = StoreChange()
        build(&change)
        return change
    }

    static func stream(_ urn: String) -> StreamRecord {
        StreamRecord(urn: urn, consistencyModel: .repeatSnapshots, createdAt: time(0))
    }

    static func subStream(_ key: StreamKey, deadlines: SubStreamDeadlines = SubStreamDeadlines()) -> SubStreamRecord {
        SubStreamRecord(
            key: key,
            createdAt: time(0),
            intervals: Intervals(repeatInterval: 60, expiryInterval: 600),
            lastMessageAt: time(0),
            deadlines: deadlines
        )
    }

    static func subStream(_ key: StreamKey, lateData seconds: Double) -> SubStreamRecord {
        subStream(key, deadlines: SubStreamDeadlines(lateData: time(seconds)))
    }

    /// A sub-stream with every field set.
    static func fullSubStream(_ key: StreamKey) -> SubStreamRecord {
        SubStreamRecord(
            key: key,
            createdAt: time(0.25),
            intervals: Intervals(repeatInterval: 30, expiryInterval: 300),
            openSnapshot: OpenSnapshot(startedAt: time(100.5), clean: false),
            snapshotSequence: 42,
            lastCompletedAt: time(70.125),
            lastMessageAt: time(101),
            checkpoint: Checkpoint(offset: 1_234_567_890_123, batchIndex: 7),
            deadlines: SubStreamDeadlines(
                lateData: time(160), missingStop: time(160.5), expiry: time(401), checkStateExpiry: time(130)
            ),
            metrics: SubStreamMetrics(
                messages: 12, creates: 3, updates: 4, deletes: 5, totalLatency: 1.5, lastLatency: 0.0625
            )
        )
    }

    static func stored(_ record: StreamRecord, version: Int64) -> StreamRecord {
        var record = record
        record.version = version
        return record
    }

    static func stored(_ record: SubStreamRecord, version: Int64) -> SubStreamRecord {
        var record = record
        record.version = version
        return record
    }

    static func state(
        _ key: StreamKey,
        _ id: String,
        health: Health = .clear,
        message: String? = nil
    ) -> StoredCheckState {
        StoredCheckState(
            key: key,
            checkState: CheckState(
                checkStateId: id,
                name: "check \(id)",
                health: health,
                topologyElementIdentifier: "urn:host:/\(key.subStreamId)/\(id)",
                message: message
            ),
            lastSeenAt: time(2.5),
            snapshotSequence: 3
        )
    }

    static func error(
        _ key: StreamKey,
        _ code: StreamErrorCode,
        streamLevel: Bool = false,
        at seconds: Double
    ) -> ErrorRecord {
        ErrorRecord(
            key: ErrorKey(urn: key.urn, streamLevel: streamLevel, subStreamId: key.subStreamId, code: code),
            level: code.level,
            message: "\(code.rawValue) on \(key)",
            count: 1,
            firstSeenAt: time(seconds),
            lastSeenAt: time(seconds + 0.5)
        )
    }

    static func byId(_ states: [StoredCheckState]) -> [StoredCheckState] {
        states.sorted { $0.checkStateId < $1.checkStateId }
    }

    static func withoutSequences(_ events: [HealthEvent]) -> [HealthEvent] {
        events.map { event in
            var event = event
            event.sequence = nil
            return event
        }
    }

    /// Inserts streams (those named and those of `subStreams`), sub-streams, check states, errors and events in
    /// one commit; every record is then at version 1.
    static func seed(
        _ store: any HealthStoreQueries,
        streams: [String] = [],
        subStreams: [StreamKey],
        deadlines: [StreamKey: Double] = [:],
        checkStates: [StoredCheckState] = [],
        errors: [ErrorRecord] = [],
        events: [HealthEvent] = []
    ) async throws {
        var urns = streams
        for key in subStreams where !urns.contains(key.urn) { urns.append(key.urn) }
        try await store.commit(
            change {
                $0.savedStreams = urns.map { stream($0) }
                $0.savedSubStreams = subStreams.map { key in
                    deadlines[key].map { subStream(key, lateData: $0) } ?? subStream(key)
                }
                $0.savedCheckStates = checkStates
                $0.savedErrors = errors
                $0.events = events
            })
    }

    /// Writes of every kind that are valid on their own, to add to a change that must fail: a new stream with a
    /// sub-stream, check state and error; a check-state save and deletion and an error on `existing`; an event;
    /// a clock far ahead; a new receipt.
    static func payload(touching existing: StreamKey) -> StoreChange {
        let fresh = StreamKey.main(urnD)
        return change {
            $0.savedStreams = [stream(urnD)]
            $0.savedSubStreams = [subStream(fresh, lateData: 1)]
            $0.savedCheckStates = [state(fresh, "payload"), state(existing, "payload")]
            $0.deletedCheckStates = [(existing, "1")]
            $0.savedErrors = [error(existing, .subStreamUnknownCheckState, at: 99)]
            $0.events = [HealthEvent(at: time(99), kind: .snapshotStarted, urn: urnD, subStreamId: "")]
            $0.clock = time(1_000_000)
            $0.receipt = "payload"
        }
    }

    /// Commits `change`, expects it to fail with `code`, and expects the store to read exactly as before.
    static func expectNothingWritten(
        by change: StoreChange,
        to store: any HealthStoreQueries,
        failingWith code: StorageError.Code,
        _ comment: Comment,
        receiptIsNew: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let urns = Set(change.savedStreams.map(\.urn) + change.deletedStreams.map(\.urn) + [urnA, urnB, urnC, urnD])
        let before = try await contents(of: store, urns: urns.sorted())
        let error = await #expect(throws: StorageError.self, comment, sourceLocation: sourceLocation) {
            try await store.commit(change)
        }
        #expect(error?.code == code, comment, sourceLocation: sourceLocation)
        let after = try await contents(of: store, urns: urns.sorted())
        #expect(after == before, comment, sourceLocation: sourceLocation)
        if receiptIsNew, let receipt = change.receipt {
            #expect(try await store.hasReceipt(receipt) == false, comment, sourceLocation: sourceLocation)
        }
    }

    /// Everything a store shows through its reads about `urns`, plus the global reads.
    struct Contents: Equatable {
        var summaries: [StreamSummary]
        var streams: [StreamRecord?]
        var subStreams: [[SubStreamRecord]]
        var errors: [[ErrorRecord]]
        var checkStates: [StoredCheckState]
        var events: [HealthEvent]
        var clock: Date?
        var nextDeadline: Date?

        /// Without the reads that are not about the streams: events, clock and next deadline.
        var ofStreamsOnly: Contents {
            var contents = self
            contents.events = []
            contents.clock = nil
            contents.nextDeadline = nil
            return contents
        }
    }

    static func contents(of store: any HealthStoreQueries, urns: [String]) async throws -> Contents {
        var contents = Contents(
            summaries: try await store.streams().filter { urns.contains($0.urn) },
            streams: [],
            subStreams: [],
            errors: [],
            checkStates: try await store.allCheckStates().filter { urns.contains($0.key.urn) },
            events: try await store.events(EventQuery()).filter { urns.contains($0.urn) },
            clock: try await store.clock(),
            nextDeadline: try await store.nextDeadline()
        )
        for urn in urns {
            contents.streams.append(try await store.stream(urn))
            contents.subStreams.append(try await store.subStreams(of: urn))
            contents.errors.append(try await store.errors(of: urn))
        }
        return contents
    }
}
