import Foundation
import HealthSync
import Testing

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
