import Foundation
import HealthSync
import HealthSyncExport
import HealthSyncTestSupport
import Testing

/// `HealthHistoryExport` over the event record of each in-memory store kind.
@Suite struct HealthHistoryExportTests {
    static let urn = "urn:health:src:a"

    static func time(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_700_000_000 + seconds) }

    static func event(
        _ kind: HealthEvent.Kind, _ id: String, _ health: Health, at seconds: Double, element: String = "host",
        urn: String = urn, subStreamId: String = ""
    ) -> HealthEvent {
        HealthEvent(
            at: time(seconds), kind: kind, urn: urn, subStreamId: subStreamId,
            checkState: CheckState(
                checkStateId: id, name: "check \(id)", health: health, topologyElementIdentifier: element))
    }

    /// A store holding `events`, committed one change each, with the clock at the last one (or `clock`).
    static func store(
        _ kind: StoreKind, _ events: [HealthEvent], clock: Date? = nil
    ) async throws
        -> any HealthStoreQueries
    {
        let store = try kind.makeStore()
        for event in events {
            var change = StoreChange()
            change.events = [event]
            change.clock = event.at
            try await store.commit(change)
        }
        if let clock {
            var change = StoreChange()
            change.clock = clock
            try await store.commit(change)
        }
        return store
    }

    static func export(
        _ store: any HealthStoreQueries, _ format: HealthExportFormat, since: Double? = nil, until: Double? = nil,
        step: TimeInterval? = nil, pageSize: Int = 5000
    ) async throws -> String {
        var text = ""
        try await HealthHistoryExport(
            format: format, since: since.map(time), until: until.map(time), step: step, pageSize: pageSize,
            chunkBytes: 64
        ).run(from: store, to: { text += $0 })
        return text
    }

    /// The sample lines of an OpenMetrics export, without the family's comments.
    static func samples(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    static func line(_ id: String, _ value: Int, _ seconds: Int, element: String = "host") -> String {
        "healthsync_check_state_health{urn=\"\(urn)\",sub_stream=\"\",check_state=\"\(id)\",element=\"\(element)\"} "
            + "\(value) \(1_700_000_000 + seconds).000"
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func emptyStoresExportAnEmptyDocument(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let openMetrics = try await Self.export(store, .openMetrics)
        #expect(openMetrics.hasPrefix("# HELP healthsync_check_state_health "))
        #expect(openMetrics.hasSuffix("# TYPE healthsync_check_state_health gauge\n# EOF\n"))
        #expect(try await Self.export(store, .influx) == "")
        #expect(try await Self.export(store, .openTSDB) == "[]\n")
        #expect(try await Self.export(store, .openMetrics, step: 60).hasSuffix("gauge\n# EOF\n"))
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func writesEveryChangeAndMinusOneForADeletion(kind: StoreKind) async throws {
        let store = try await Self.store(
            kind,
            [
                Self.event(.checkStateCreated, "a", .clear, at: 0),
                Self.event(.checkStateCreated, "b", .critical, at: 0),
                Self.event(.checkStateUpdated, "a", .clear, at: 10),  // message only: nothing to write
                Self.event(.checkStateUpdated, "a", .deviating, at: 20),
                Self.event(.checkStateDeleted, "b", .critical, at: 30),
                Self.event(.checkStateCreated, "b", .clear, at: 40),
                HealthEvent(at: Self.time(50), kind: .snapshotStarted, urn: Self.urn, subStreamId: ""),
            ])
        let text = try await Self.export(store, .openMetrics)
        #expect(
            Self.samples(text) == [
                Self.line("a", 0, 0), Self.line("b", 2, 0), Self.line("a", 1, 20), Self.line("b", -1, 30),
                Self.line("b", 0, 40),
            ])
        #expect(text.hasSuffix("# EOF\n"))
        let influx = try await Self.export(store, .influx).split(separator: "\n")
        #expect(influx.count == 5)
        #expect(
            influx[3] == "health,urn=\(Self.urn),check_state=b,element=host value=-1i,health=\"DELETED\" "
                + "1700000030000000000")
        let tsdb = try await Self.export(store, .openTSDB)
        let points = try #require(try JSONSerialization.jsonObject(with: Data(tsdb.utf8)) as? [[String: Any]])
        #expect(points.count == 5)
        #expect(points[3]["metric"] as? String == "healthsync.check_state.health")
        #expect(points[3]["timestamp"] as? Int == 1_700_000_030)
        #expect(points[3]["value"] as? Int == -1)
        let tags = try #require(points[3]["tags"] as? [String: String])
        #expect(tags == ["urn": "urn_3Ahealth_3Asrc_3Aa", "check_state": "b", "element": "host"])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func aChangedElementEndsTheOldSeries(kind: StoreKind) async throws {
        let store = try await Self.store(
            kind,
            [
                Self.event(.checkStateCreated, "a", .clear, at: 0),
                Self.event(.checkStateUpdated, "a", .clear, at: 5, element: "other"),
            ])
        #expect(
            Self.samples(try await Self.export(store, .openMetrics)) == [
                Self.line("a", 0, 0), Self.line("a", -1, 5), Self.line("a", 0, 5, element: "other"),
            ])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func sinceStartsWithTheStateThenAndBothEndsAreInclusive(kind: StoreKind) async throws {
        let store = try await Self.store(
            kind,
            [
                Self.event(.checkStateCreated, "a", .critical, at: 0),
                Self.event(.checkStateCreated, "b", .clear, at: 5),
                Self.event(.checkStateDeleted, "b", .clear, at: 8),
                Self.event(.checkStateUpdated, "a", .deviating, at: 10),
                Self.event(.checkStateUpdated, "a", .clear, at: 20),
                Self.event(.checkStateUpdated, "a", .critical, at: 30),
            ])
        // At --since exactly: the event at 10 replaces the state then (one sample per series and time).
        #expect(
            Self.samples(try await Self.export(store, .openMetrics, since: 10, until: 20)) == [
                Self.line("a", 1, 10), Self.line("a", 0, 20),
            ])
        // Between events: the state at 9 is a CRITICAL (b was deleted before).
        #expect(
            Self.samples(try await Self.export(store, .openMetrics, since: 9, until: 19.999)) == [
                Self.line("a", 2, 9), Self.line("a", 1, 10),
            ])
        // An empty window writes the state at its start only.
        #expect(
            Self.samples(try await Self.export(store, .openMetrics, since: 40, until: 40)) == [Self.line("a", 2, 40)])
        // Before the first event: nothing.
        #expect(Self.samples(try await Self.export(store, .openMetrics, until: -1)) == [])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func stepRepeatsLiveSeriesOnTheGridUpToTheEnd(kind: StoreKind) async throws {
        let store = try await Self.store(
            kind,
            [
                Self.event(.checkStateCreated, "a", .critical, at: 5),
                Self.event(.checkStateCreated, "b", .clear, at: 20),
                Self.event(.checkStateDeleted, "b", .clear, at: 30),
                Self.event(.checkStateUpdated, "a", .clear, at: 40),
            ], clock: Self.time(60))
        // 1_700_000_000 is a multiple of 20 s.
        #expect(
            Self.samples(try await Self.export(store, .openMetrics, step: 20)) == [
                Self.line("a", 2, 5), Self.line("b", 0, 20), Self.line("a", 2, 20), Self.line("b", -1, 30),
                Self.line("a", 0, 40), Self.line("a", 0, 60),
            ])
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func pagesThroughManyEventsOfOneInstant(kind: StoreKind) async throws {
        let ids = (0..<25).map { "c\($0)" }
        let store = try await Self.store(
            kind,
            ids.map { Self.event(.checkStateCreated, $0, .clear, at: 0) }
                + ids.map { Self.event(.checkStateDeleted, $0, .clear, at: 1) })
        let paged = try await Self.export(store, .influx, pageSize: 3)
        #expect(paged == (try await Self.export(store, .influx)))
        #expect(paged.split(separator: "\n").count == 50)
        var position: EventPosition?
        var sequences: [Int64] = []
        while true {
            let page = try await store.events(EventQuery(), after: position, limit: 4)
            sequences += page.compactMap(\.sequence)
            guard let last = page.last else { break }
            position = EventPosition(last)
        }
        #expect(sequences.count == 50)
        #expect(sequences == sequences.sorted())
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func escapesLabelsOfEveryFormat(kind: StoreKind) async throws {
        let store = try await Self.store(
            kind,
            [
                Self.event(
                    .checkStateCreated, "q\"b\\n\nl", .critical, at: 0, element: "é l,=", urn: "urn:health:ü:x",
                    subStreamId: "sub 1")
            ])
        #expect(
            Self.samples(try await Self.export(store, .openMetrics)) == [
                "healthsync_check_state_health{urn=\"urn:health:ü:x\",sub_stream=\"sub 1\",check_state=\"q\\\"b\\\\n\\nl\","
                    + "element=\"é l,=\"} 2 1700000000.000"
            ])
        #expect(
            try await Self.export(store, .influx)
                == "health,urn=urn:health:ü:x,sub_stream=sub\\ 1,check_state=q\"b\\n\\nl,element=é\\ l\\,\\= "
                + "value=2i,health=\"CRITICAL\" 1700000000000000000\n")
        let tsdb = try await Self.export(store, .openTSDB)
        let points = try #require(try JSONSerialization.jsonObject(with: Data(tsdb.utf8)) as? [[String: Any]])
        let tags = try #require(points.first?["tags"] as? [String: String])
        #expect(
            tags.mapValues(OpenTSDBNames.decode) == [
                "urn": "urn:health:ü:x", "sub_stream": "sub 1", "check_state": "q\"b\\n\nl", "element": "é l,=",
            ])
    }
}
