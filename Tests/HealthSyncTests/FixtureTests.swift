import Foundation
import HealthSync
import HealthSyncTestSupport
import Testing

extension Fixture {
    /// The repository's `Fixtures` directory: `../../Fixtures` relative to this file.
    static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
        .path
}

/// Replays every fixture under `Fixtures/` over every store and compares the result with its `expected.json`.
@Suite struct FixtureTests {
    /// The replay time of an envelope without `collection_timestamp` before the clock is set. Every fixture envelope
    /// carries one, so this never shows up in a result unless a fixture is wrong.
    struct EpochClock: HealthClock {
        var now: Date { Date(timeIntervalSince1970: 0) }
    }

    /// Scenario `NN` stamps its envelopes in [base + NN × window, base + (NN + 1) × window).
    static let windowBase: Double = 1_700_000_000
    static let window: Double = 100_000

    // MARK: Discovery

    @Test func fixturesAreDiscoveredWithOnePayloadAndAnExpectation() throws {
        #expect(Fixture.all(.scenarios).count >= 12, "found \(Fixture.all.map(\.testDescription)) in \(Fixture.root)")
        #expect(Fixture.all(.invalid).count >= 4)
        for fixture in Fixture.all {
            #expect(fixture.payloadFiles.count == 1, "\(fixture.testDescription): \(fixture.payloadFiles)")
            let expectation = try fixture.expectation()
            #expect(!expectation.description.isEmpty)
            let name = fixture.testDescription
            #expect(expectation.checkStates == expectation.checkStates.sortedForFixtures(), "\(name)")
            #expect(expectation.errors == expectation.errors.sortedForFixtures(), "\(name)")
            #expect(expectation.errorCodesOpened == Array(Set(expectation.errorCodesOpened)).sorted())
            switch fixture.kind {
            case .scenarios: #expect(expectation.rejections.isEmpty, "\(fixture.testDescription) must replay cleanly")
            case .invalid: #expect(!expectation.rejections.isEmpty, "\(fixture.testDescription) must reject something")
            }
        }
    }

    @Test func scenariosKeepToTheirTimeWindowAndURNs() throws {
        var owners: [String: String] = [:]
        for fixture in Fixture.all(.scenarios) {
            let number = try #require(fixture.number, "\(fixture.testDescription) has no number")
            // Every scenario, the documentation example's too, in its own window, so that replaying them all never
            // jumps the clock by years.
            let start = Self.windowBase + Double(number) * Self.window
            let window = start...start + Self.window - 1
            let source = try fixture.source()
            for entry in PayloadFile.entries(in: source.bytes) {
                // A push report line (issue 17) is checked as the envelope it replays as.
                let envelope =
                    ReportLine.isReportLine(entry.bytes)
                    ? ReportTranslation().envelope(for: try ReportLine.decode(entry.bytes))
                    : try EnvelopeDecoder().decode(entry.bytes)
                let timestamp = try #require(
                    envelope.collectionTimestamp, "\(source.name):\(entry.line) has no collection_timestamp"
                )
                #expect(window.contains(timestamp.timeIntervalSince1970), "\(source.name):\(entry.line)")
                for urn in Set(envelope.messages.map(\.stream.urn)) {
                    let owner = owners[urn, default: fixture.name]
                    #expect(owner == fixture.name, "\(urn) is used by \(owner) and \(fixture.name)")
                    owners[urn] = owner
                }
            }
            let expectation = try fixture.expectation()
            for time in [expectation.replay.start, expectation.replay.until].compactMap({ $0 }) {
                #expect(window.contains(time), "\(fixture.testDescription): replay bound \(time)")
            }
        }
    }

    @Test func fixturesTogetherOpenEveryErrorCode() throws {
        var opened: Set<String> = []
        for fixture in Fixture.all { opened.formUnion(try fixture.expectation().errorCodesOpened) }
        let missing = Set(StreamErrorCode.allCases.map(\.rawValue)).subtracting(opened)
        #expect(missing.isEmpty, "no fixture opens \(missing.sorted())")
    }

    // MARK: Replay

    @Test(arguments: Fixture.all, StoreKind.inMemoryKinds)
    func replayMatchesExpectation(fixture: Fixture, kind: StoreKind) async throws {
        let expectation = try fixture.expectation()
        if let issue = expectation.knownIssue {
            await withKnownIssue(Comment(rawValue: issue)) {
                try await Self.verify(fixture, in: kind, against: expectation)
            }
        } else {
            try await Self.verify(fixture, in: kind, against: expectation)
        }
    }

    @Test(arguments: Fixture.all, StoreKind.inMemoryKinds)
    func replayingTheSameFixtureTwiceChangesNothing(fixture: Fixture, kind: StoreKind) async throws {
        let expectation = try fixture.expectation()
        let store = try kind.makeStore()
        let first = try await Self.replay(fixture, into: store, expectation: expectation)
        let before = try await Self.contents(of: store)

        let second = try await Self.replay(fixture, into: store, expectation: expectation)
        #expect(second.envelopesAlreadyApplied == first.envelopesApplied)
        #expect(second.envelopesApplied == 0)
        #expect(second.envelopesRejected == first.envelopesRejected, "nothing of a rejected envelope was committed")
        #expect(second.counts == ChangeCounts())
        #expect(second.timersFired == 0)
        #expect(second.clock == first.clock)
        #expect(try await Self.contents(of: store) == before)
    }

    @Test(arguments: StoreKind.inMemoryKinds)
    func allScenariosReplayIntoOneStoreInOrder(kind: StoreKind) async throws {
        let store = try kind.makeStore()
        let replayer = Replayer(processor: HealthProcessor(store: store), fallbackClock: EpochClock())
        let sources = try Fixture.all(.scenarios).map { try $0.source() }
        let outcome = try await replayer.replay(sources)
        #expect(outcome.isClean, "\(outcome.rejections.map(\.description))")
        #expect(outcome.envelopesRejected == 0)
        #expect(outcome.envelopesApplied == sources.reduce(0) { $0 + PayloadFile.entries(in: $1.bytes).count })
    }

    // MARK: The documentation example

    @Test(arguments: StoreKind.inMemoryKinds)
    func brokenDocumentationExampleIsRejectedWithLineColumnAndTheDefect(kind: StoreKind) async throws {
        let fixture = try Fixture.named("01-documentation-4.4-broken", in: .invalid)
        let store = try kind.makeStore()
        let outcome = try await Replayer(processor: HealthProcessor(store: store), fallbackClock: EpochClock())
            .replay([try fixture.source()])

        #expect(outcome.envelopesRejected == 1)
        #expect(outcome.envelopesApplied == 0)
        let rejection = try #require(outcome.rejections.first)
        #expect(outcome.rejections.count == 1)
        #expect(rejection.error.code == .malformedJSON)
        // Line 24 ends the first check state without its `},`; the parser meets the second one's `{` on line 25.
        #expect(rejection.line == 25)
        #expect(rejection.error.column == 9)
        #expect(rejection.description.contains(":25: $: column 9: "), "\(rejection)")
        #expect(rejection.error.reason.contains("documentation"), "\(rejection)")
        #expect(try await store.streams().isEmpty)
    }

    // MARK: Helpers

    /// Replays `fixture` into a fresh store of `kind` and compares everything `expected.json` states.
    private static func verify(
        _ fixture: Fixture, in kind: StoreKind, against expectation: FixtureExpectation
    )
        async throws
    {
        let store = try kind.makeStore()
        let outcome = try await replay(fixture, into: store, expectation: expectation)

        #expect(FixtureExpectation.Outcome(outcome) == expectation.outcome)
        compare(outcome.rejections, with: expectation.rejections, what: "rejection")
        if let warnings = expectation.warnings {
            compare(outcome.warnings, with: warnings, what: "warning")
        }

        let opened = try await store.events(EventQuery()).filter { $0.kind == .errorOpened }
        #expect(Set(opened.compactMap(\.errorCode?.rawValue)).sorted() == expectation.errorCodesOpened)

        let checkStates = try await store.allCheckStates().map(FixtureExpectation.CheckStateEntry.init)
        #expect(checkStates.sortedForFixtures() == expectation.checkStates)

        var errors: [FixtureExpectation.ErrorEntry] = []
        for stream in try await store.streams() {
            errors += try await store.errors(of: stream.urn).map(FixtureExpectation.ErrorEntry.init)
        }
        #expect(errors.sortedForFixtures() == expectation.errors)
    }

    private static func replay(
        _ fixture: Fixture,
        into store: any HealthStoreQueries,
        expectation: FixtureExpectation
    ) async throws -> Replayer.Outcome {
        let replayer = Replayer(processor: HealthProcessor(store: store), fallbackClock: EpochClock())
        return try await replayer.replay(
            [try fixture.source()], start: expectation.replay.startDate, until: expectation.replay.untilDate
        )
    }

    /// Compares findings with their expectations one by one, in order.
    private static func compare(
        _ findings: [Replayer.Finding],
        with expected: [FixtureExpectation.Finding],
        what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let listing = findings.map(\.description).joined(separator: "\n")
        #expect(findings.count == expected.count, "\(what)s:\n\(listing)", sourceLocation: sourceLocation)
        for (finding, expectation) in zip(findings, expected) {
            let column = expectation.column.map(String.init) ?? "any"
            #expect(
                expectation.matches(finding),
                """
                \(what) \(finding) does not match line \(expectation.line), column \(column), \
                path \(expectation.path), reason containing "\(expectation.reasonContains)"
                """,
                sourceLocation: sourceLocation
            )
        }
    }

    /// Everything a replay can change in a store, for before/after comparisons.
    struct Contents: Equatable {
        var streams: [StreamSummary]
        var subStreams: [SubStreamRecord]
        var checkStates: [StoredCheckState]
        var errors: [ErrorRecord]
        var events: [HealthEvent]
        var clock: Date?
    }

    private static func contents(of store: any HealthStoreQueries) async throws -> Contents {
        let streams = try await store.streams()
        var subStreams: [SubStreamRecord] = []
        var errors: [ErrorRecord] = []
        for stream in streams {
            subStreams += try await store.subStreams(of: stream.urn)
            errors += try await store.errors(of: stream.urn)
        }
        return Contents(
            streams: streams, subStreams: subStreams, checkStates: try await store.allCheckStates(), errors: errors,
            events: try await store.events(EventQuery()), clock: try await store.clock()
        )
    }
}
