import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// Liveness (issue 17): a live check state not reported within its interval plus grace turns `CRITICAL` at that
/// deadline, the next report restores the reported health, expiry still removes it; over every store.
@Suite struct LivenessTests {
    static let urn = "urn:health:reporter:web"
    static let node = StreamKey(urn: urn, subStreamId: "node-1")

    /// A REPEAT_STATES message for `node` with the given check states, live with `interval` and `grace`.
    static func report(
        _ healths: [String: Health],
        interval: Int = 60,
        grace: Int = 20,
        expiry: Int = 86_400,
        covering: Set<String>? = nil,
        live: Bool = true
    ) -> Envelope {
        let states = healths.keys.sorted().map { id in
            CheckStateInput.upsert(
                CheckState(
                    checkStateId: id, name: "Replica \(id)", health: healths[id] ?? .clear,
                    topologyElementIdentifier: "urn:reporter:web/node-1/\(id)"))
        }
        return Envelope(messages: [
            HealthMessage(
                stream: node, consistencyModel: .repeatStates,
                expiry: Intervals(repeatInterval: interval, expiryInterval: expiry), checkStates: states,
                liveness: live ? Liveness(interval: interval, grace: grace, checkStateIds: covering) : nil)
        ])
    }

    static func time(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

    static func states(_ store: any HealthStoreQueries) async throws -> [String: StoredCheckState] {
        var result: [String: StoredCheckState] = [:]
        for state in try await store.checkStates(of: node) { result[state.checkStateId] = state }
        return result
    }

    @Test(arguments: StoreKind.allCases)
    func silentCheckStateTurnsCriticalAtItsDeadlineAndBackOnTheNextReport(kind: StoreKind) async throws {
        try await withTemporaryDirectory { directory in
            let store = try kind.makeStore(in: directory)
            let processor = HealthProcessor(store: store)
            try await processor.apply(Self.report(["a": .clear]), at: Self.time(1_000))
            #expect(try await Self.silenceDeadline(store) == Self.time(1_080))

            try await processor.advance(to: Self.time(1_080))
            #expect(try await Self.states(store)["a"]?.checkState.health == .clear, "the deadline has not passed")

            try await processor.advance(to: Self.time(1_081))
            let silenced = try #require(try await Self.states(store)["a"])
            #expect(silenced.checkState.health == .critical)
            #expect(silenced.checkState.message == "no report for 80 s: interval 60 s + 20 s grace")
            #expect(silenced.checkState.name == "Replica a", "name and element stay")
            #expect(silenced.liveness == CheckStateLiveness(interval: 60, grace: 20, silencedAt: Self.time(1_080)))
            #expect(silenced.lastSeenAt == Self.time(1_000), "silence is not a report")
            let turned = try #require(try await Self.events(store, .checkStateUpdated).last)
            #expect(turned.kind == .checkStateUpdated && turned.at == Self.time(1_080))
            #expect(turned.previousHealth == .clear && turned.checkState?.health == .critical)
            #expect(turned.detail == "no report within 80 s (interval 60 s + 20 s grace)")
            #expect(turned.isSilence, "a timer's effect for time travel and the audit")

            // Sweeping again changes nothing: silence fires once.
            try await processor.advance(to: Self.time(5_000))
            #expect(try await Self.events(store, .checkStateUpdated).count == 1)
            #expect(try await Self.silenceDeadline(store) == nil)

            try await processor.apply(Self.report(["a": .clear]), at: Self.time(6_000))
            let restored = try #require(try await Self.states(store)["a"])
            #expect(restored.checkState.health == .clear && restored.checkState.message == nil)
            #expect(restored.liveness == CheckStateLiveness(interval: 60, grace: 20))
            let back = try #require(try await Self.events(store, .checkStateUpdated).last)
            #expect(back.kind == .checkStateUpdated && back.at == Self.time(6_000))
            #expect(back.previousHealth == .critical && back.checkState?.health == .clear)
            #expect(back.detail == "reported again after silence")
            #expect(!back.isSilence)
            #expect(try await Self.silenceDeadline(store) == Self.time(6_080))
        }
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func reportsWithinTheIntervalKeepTheReportedHealth(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let processor = HealthProcessor(store: store)
        for t in stride(from: 1_000.0, through: 1_600, by: 60) {
            try await processor.apply(Self.report(["a": .deviating]), at: Self.time(t))
            try await processor.advance(to: Self.time(t + 59))
        }
        #expect(try await Self.states(store)["a"]?.checkState.health == .deviating)
        #expect(try await Self.events(store, .checkStateUpdated).isEmpty)
        // The bound fired on its stale value and moved to the real deadline.
        #expect(try await Self.silenceDeadline(store) == Self.time(1_680))
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func eachCheckStateTurnsAtItsOwnDeadlineWithItsOwnInterval(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let processor = HealthProcessor(store: store)
        try await processor.apply(Self.report(["slow": .clear], interval: 300, grace: 0), at: Self.time(1_000))
        try await processor.apply(Self.report(["fast": .clear], interval: 10, grace: 5), at: Self.time(1_010))
        try await processor.advance(to: Self.time(2_000))
        let turned = try await Self.events(store, .checkStateUpdated)
        #expect(turned.map(\.checkStateId) == ["fast", "slow"])
        #expect(turned.map(\.at) == [Self.time(1_025), Self.time(1_300)])
        #expect(turned.first?.checkState?.message == "no report for 15 s: interval 10 s + 5 s grace")
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func onlyTheCoveredCheckStatesAreLive(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let processor = HealthProcessor(store: store)
        try await processor.apply(
            Self.report(["service": .clear, "cpu": .clear], covering: ["service"]), at: Self.time(1_000))
        try await processor.advance(to: Self.time(2_000))
        let states = try await Self.states(store)
        #expect(states["service"]?.checkState.health == .critical)
        #expect(states["cpu"]?.checkState.health == .clear && states["cpu"]?.liveness == nil)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func aReportWithoutLivenessEndsIt(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let processor = HealthProcessor(store: store)
        try await processor.apply(Self.report(["a": .clear]), at: Self.time(1_000))
        try await processor.apply(Self.report(["a": .clear], live: false), at: Self.time(1_030))
        #expect(try await Self.states(store)["a"]?.liveness == nil)
        try await processor.advance(to: Self.time(2_000))
        #expect(try await Self.states(store)["a"]?.checkState.health == .clear)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func expiryStillRemovesASilencedCheckState(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let processor = HealthProcessor(store: store)
        try await processor.apply(Self.report(["a": .clear], expiry: 600), at: Self.time(1_000))
        try await processor.advance(to: Self.time(1_500))
        #expect(try await Self.states(store)["a"]?.checkState.health == .critical)
        try await processor.advance(to: Self.time(1_601))
        #expect(try await Self.states(store).isEmpty)
        let deleted = try #require(
            try await Self.events(store, .checkStateDeleted).first)
        #expect(deleted.checkState?.health == .critical && deleted.at == Self.time(1_600))
    }

    @Test func livenessOnAnotherModelIsIgnored() async throws {
        let store = InMemoryHealthStore()
        let processor = HealthProcessor(store: store)
        let key = StreamKey(urn: "urn:health:test:snapshots", subStreamId: nil)
        let message = HealthMessage(
            stream: key, consistencyModel: .repeatSnapshots,
            startSnapshot: Intervals(repeatInterval: 60), stopSnapshot: true,
            checkStates: [
                .upsert(CheckState(checkStateId: "a", name: "a", health: .clear, topologyElementIdentifier: "x"))
            ],
            liveness: Liveness(interval: 10, grace: 0))
        try await processor.apply(Envelope(messages: [message]), at: Self.time(1_000))
        #expect(try await store.checkStates(of: key).first?.liveness == nil)
        #expect(try await store.subStream(key)?.deadlines.silence == nil)
    }

    /// A restart loses no deadline: the file store reopened fires the silence of the run before.
    @Test(arguments: StoreKind.allCases.filter(\.isFile))
    func aRestartKeepsTheDeadline(kind: StoreKind) async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            do {
                let processor = HealthProcessor(store: try kind.makeStore(at: path))
                try await processor.apply(Self.report(["a": .clear]), at: Self.time(1_000))
            }
            let store = try kind.makeStore(at: path)
            #expect(try await Self.silenceDeadline(store) == Self.time(1_080))
            try await HealthProcessor(store: store).advance(to: Self.time(1_100))
            #expect(try await Self.states(store)["a"]?.checkState.health == .critical)
        }
    }

    /// Differential: a seeded sequence of live reports (several check states, partial coverage, changing
    /// intervals, reports without liveness) and sweeps leaves every store, applied one envelope at a time or in
    /// batches, with refresh compaction or without, in the state and events of the in-memory store.
    @Test(arguments: PipelineTests.kinds)
    func randomLiveReportsLeaveEveryStoreAsTheReference(kind: StoreKind) async throws {
        try await withTemporaryDirectory { directory in
            var random = SeededRandom(seed: 17)
            var steps: [(t: Double, envelope: Envelope?)] = []
            var t = 1_000.0
            for _ in 0..<120 {
                t += Double(1 + random.below(40))
                if random.chance(0.2) {
                    steps.append((t, nil))
                    continue
                }
                var healths: [String: Health] = [:]
                for id in ["a", "b", "c", "d"] where random.chance(0.5) {
                    healths[id] = random.element(of: [.clear, .deviating, .critical])
                }
                let covering: Set<String>? = random.chance(0.3) ? ["a", "c"] : nil
                steps.append(
                    (
                        t,
                        Self.report(
                            healths, interval: random.element(of: [10, 30, 60]), grace: random.below(10),
                            expiry: random.element(of: [120, 600]), covering: covering, live: random.chance(0.85)
                        )
                    ))
            }
            let reference = InMemoryHealthStore()
            let expected = HealthProcessor(store: reference)
            for step in steps {
                if let envelope = step.envelope {
                    try await expected.apply(envelope, at: Self.time(step.t))
                } else {
                    try await expected.advance(to: Self.time(step.t))
                }
            }
            try await expected.advance(to: Self.time(t + 1))
            let referenceEvents = await reference.events(EventQuery()).map(Self.comparable)
            #expect(referenceEvents.contains { $0.contains("no report within") })
            #expect(referenceEvents.contains { $0.contains("reported again after silence") })

            for batched in [false, true] {
                let store = ControlledStore(
                    try kind.makeStore(in: directory), prefersCheckStateRefreshes: batched ? true : nil)
                let processor = HealthProcessor(store: store)
                var pending: [HealthProcessor.BatchEntry] = []
                for step in steps {
                    if let envelope = step.envelope {
                        if batched {
                            pending.append(HealthProcessor.BatchEntry(envelope, at: Self.time(step.t)))
                            if pending.count == 3 {
                                _ = try await processor.apply(batch: pending)
                                pending = []
                            }
                        } else {
                            try await processor.apply(envelope, at: Self.time(step.t))
                        }
                    } else if !batched {
                        try await processor.advance(to: Self.time(step.t))
                    }
                }
                if !pending.isEmpty { _ = try await processor.apply(batch: pending) }
                try await processor.advance(to: Self.time(t + 1))
                try await expectSameStateAndDeadlines(store, reference, "\(kind), batched: \(batched)")
                let events = try await store.events(EventQuery()).map(Self.comparable)
                #expect(events == referenceEvents, "\(kind), batched: \(batched)")
            }
        }
    }

    static func silenceDeadline(_ store: any HealthStoreQueries) async throws -> Date? {
        try await store.subStream(node)?.deadlines.silence
    }

    static func events(_ store: any HealthStoreQueries, _ kind: HealthEvent.Kind) async throws -> [HealthEvent] {
        try await store.events(EventQuery(urn: urn)).filter { $0.kind == kind }
    }

    /// An event as text without its sequence.
    static func comparable(_ event: HealthEvent) -> String {
        var event = event
        event.sequence = nil
        return "\(event)"
    }
}
