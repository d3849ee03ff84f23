import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// Ids sort as their UTF-8 bytes (C collation) in every sorted listing, whatever the locale: URNs in
    /// ``HealthSync/HealthStoreQueries/streams()``, sub-stream ids in ``HealthSync/HealthStore/subStreams(of:)``,
    /// and URNs, sub-stream ids and check-state ids in ``HealthSync/HealthStoreQueries/checkStates(urn:subStreamId:)``
    /// and its pages. The ids mix upper and lower case, accented letters and an emoji (all in NFC).
    func ordersIdsAsTheirUTF8Bytes() async throws {
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
    func ordersQueries() async throws {
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
        #expect(try await store.openErrors() == errors.sorted { $0.key < $1.key }, "URN first, as ErrorKey sorts")

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
    func filtersEvents() async throws {
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

    /// ``HealthSync/HealthStoreQueries/events(_:after:limit:)`` walks the events of ``HealthSync/HealthStoreQueries/events(_:)``
    /// a page at a time, in the same order and with the same filters, through more events of one instant than a
    /// page holds, and ignores the query's own limit.
    func pagesEventsThroughOneInstant() async throws {
        let store = try await makeStore()
        func event(_ label: String, at seconds: Double, _ urn: String) -> HealthEvent {
            HealthEvent(at: Self.time(seconds), kind: .snapshotStarted, urn: urn, subStreamId: "", detail: label)
        }
        var events = [event("early", at: 1, Self.urnA)]
        for index in 0..<23 { events.append(event("same\(index)", at: 2, index % 3 == 0 ? Self.urnB : Self.urnA)) }
        events += [event("late", at: 3, Self.urnA), event("last", at: 4, Self.urnB)]
        // Two commits: sequences follow commit order, not the order of the events' times.
        try await store.commit(Self.change { $0.events = Array(events[12...]) })
        try await store.commit(Self.change { $0.events = Array(events[..<12]) })
        for query in [
            EventQuery(), EventQuery(urn: Self.urnA), EventQuery(since: Self.time(2), until: Self.time(2), limit: 1),
            EventQuery(urn: Self.urnB, since: Self.time(1.5)),
        ] {
            var whole = query
            whole.limit = nil
            let expected = try await store.events(whole)
            for limit in [1, 4, 50] {
                var paged: [HealthEvent] = []
                var position: EventPosition?
                for _ in 0...expected.count {
                    let page = try await store.events(query, after: position, limit: limit)
                    #expect(page.count <= limit)
                    guard let last = page.last else { break }
                    paged += page
                    position = EventPosition(last)
                }
                #expect(paged == expected, "\(query), pages of \(limit)")
            }
        }
    }

    /// ``HealthSync/HealthStore/dueSubStreams(before:limit:)`` finds the sub-streams whose earliest deadline is
    /// strictly before the time, earliest first, at most `limit`; ``HealthSync/HealthStore/nextDeadline()`` is the
    /// earliest deadline. Both follow updates and deletions.
    func findsDueSubStreamsStrictlyBeforeTimeEarliestFirstWithLimit() async throws {
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
    func readsCheckStatesByIds() async throws {
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

    /// ``HealthSync/HealthStore/batchContext(of:due:)`` of one request returns what the separate reads of the
    /// stream, its errors, the sub-stream and, when asked for and the sub-stream is stored, its check states (sorted
    /// by id, as ``HealthSync/HealthStore/checkStates(of:ids:)`` has them) return: for a stored sub-stream, a
    /// sub-stream that is not stored, and a stream that is not stored; for several requests, the same in order,
    /// with the due timers asked for (none for `nil`, every one for ``HealthSync/DueTimers/all(before:)``), and so
    /// does ``HealthSync/PipelinedHealthStore/batchContextBesideWrites(of:due:)``.
    func readsTheStreamContextAsTheSeparateReads() async throws {
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
    func countsInSummaries() async throws {
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
