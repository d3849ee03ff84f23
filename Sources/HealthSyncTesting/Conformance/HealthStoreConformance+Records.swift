import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// Every record kind is stored as given and read back equal, with versions starting at 1 and incremented by
    /// each update, which replaces the whole record.
    func insertsAndReadsBackEveryRecordKind() async throws {
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
    func roundTripsOptionalFields() async throws {
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
    func roundTripsEveryModelValue() async throws {
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
}
