import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// The `Fixtures/audit` scenarios: cadence statistics, late windows, flap scores, suspicious deletions and missing
/// stops against hand-computed `expected.json` files.
@Suite struct AuditFixtureTests {
    /// An `expected.json` of `Fixtures/audit` (see its README): every field optional, lists complete.
    struct Expectation: Decodable {
        struct Cadence: Decodable {
            var intervals: Int
            var minimum: Double
            var median: Double
            var p95: Double
            var maximum: Double
        }

        struct LateWindow: Decodable {
            var from: Double
            var to: Double
            var missedDeadlines: Int?
            var open: Bool
        }

        struct MissingStop: Decodable {
            var at: Double
            var snapshotStartedAt: Double?
            var deletedCheckStateIds: [String]
        }

        struct Expiry: Decodable {
            var at: Double
            var checkStateIds: [String]?
        }

        struct Suspicious: Decodable {
            var checkStateId: String
            var deletedAt: Double
            var reason: String
            var cameBackAt: Double
            var snapshotsLater: Int
        }

        struct ErrorSummary: Decodable {
            var code: String
            var count: Int
            var episodes: Int
            var open: Bool
        }

        struct SubStream: Decodable {
            var urn: String
            var subStreamId: String?
            var snapshotsStarted: Int?
            var snapshotsCompleted: Int?
            var cleanSnapshots: Int?
            var automaticallyStopped: Int?
            var cadence: Cadence?
            var lateWindows: [LateWindow]?
            var missingStops: [MissingStop]?
            var expiries: [Expiry]?
            var suspiciousDeletions: [Suspicious]?
            var errors: [ErrorSummary]?
        }

        struct Durations: Decodable {
            var clear: Double
            var deviating: Double
            var critical: Double
        }

        struct Flap: Decodable {
            var score: Double
            var maximum: Double
            var flapping: Bool
            var episodes: Int
        }

        struct Span: Decodable {
            var from: Double
            var to: Double?
        }

        struct CheckState: Decodable {
            var urn: String
            var subStreamId: String?
            var checkStateId: String
            var timeInHealth: Durations?
            var transitions: Int?
            var creations: Int?
            var deletions: Int?
            var suspiciousDeletions: Int?
            var healthAtEnd: String?
            var flap: Flap?
            var flappingPeriods: [Span]?
        }

        struct Period: Decodable {
            var from: Double
            var to: Double
        }

        var replay: ReplayBounds
        var period: Period
        var subStreams: [SubStream]
        var checkStates: [CheckState]
        var attention: [String]
    }

    static let fixtures = AuditFixture.all(.audit)

    @Test func auditFixturesAreDiscovered() {
        #expect(Self.fixtures.count >= 4, "found \(Self.fixtures.map(\.testDescription)) under \(AuditFixture.root)")
    }

    @Test(arguments: fixtures)
    func auditMatchesHandComputedExpectation(fixture: AuditFixture) async throws {
        let expectation = try JSONDecoder().decode(Expectation.self, from: fixture.expectedData())
        let report = try await fixture.audit()
        Self.verify(report, against: expectation, fixture: fixture.testDescription)
    }

    /// The audit of a database holding the same replay equals the audit of the payload file.
    @Test(arguments: fixtures, StoreKind.inMemoryKinds)
    func auditOfAStoreEqualsAuditOfThePayload(fixture: AuditFixture, kind: StoreKind) async throws {
        let bounds = try fixture.replayBounds()
        let store = try kind.makeStore()
        let replayer = Replayer(processor: HealthProcessor(store: store), fallbackClock: EpochClock())
        _ = try await replayer.replay([try fixture.source()], start: bounds.startDate, until: bounds.untilDate)
        var fromStore = AuditAnalyzer().analyze(try await AuditInput.load(from: store, source: "db"))
        let fromFile = try await fixture.audit()
        fromStore.source = fromFile.source
        #expect(fromStore == fromFile)
    }

    @Test func suspiciousWindowIsConfigurable() async throws {
        let fixture = try AuditFixture.named("03-truncated-snapshots", in: .audit)
        let wider = try await fixture.audit(configuration: AuditConfiguration(suspiciousWithinSnapshots: 4))
        let deletions = try #require(wider.streams.first?.subStreams.first?.suspiciousDeletions)
        #expect(deletions.map(\.checkStateId) == ["c", "d", "e"])
        #expect(deletions.last?.snapshotsLater == 4)
        let narrow = try await fixture.audit(configuration: AuditConfiguration(suspiciousWithinSnapshots: 1))
        #expect(narrow.streams.first?.subStreams.first?.suspiciousDeletions.map(\.checkStateId) == ["c", "d"])
    }

    @Test func reportRoundTripsThroughJSON() async throws {
        for fixture in Self.fixtures {
            let report = try await fixture.audit()
            let decoded = try AuditReport.decode(json: try report.jsonData())
            #expect(decoded == report, "\(fixture.testDescription)")
        }
    }

    @Test func jsonWritesEpochSecondsAndExplicitNulls() async throws {
        let report = try await AuditFixture.named("01-cadence-and-late-windows", in: .audit).audit()
        let json = String(decoding: try report.jsonData(), as: UTF8.self)
        #expect(json.contains("\"from\" : 1900100000"))
        #expect(json.contains("\"subStreamId\" : null"))
        #expect(json.contains("\"p95\" : 240"))
        #expect(json.contains("\"missedDeadlines\" : 2"))
    }

    // MARK: Comparison

    static func verify(_ report: AuditReport, against expected: Expectation, fixture: String) {
        #expect(report.period.from == epoch(expected.period.from), "\(fixture): period start")
        #expect(report.period.to == epoch(expected.period.to), "\(fixture): period end")
        for sub in expected.subStreams {
            let stream = report.streams.first { $0.urn == sub.urn }
            guard let audit = stream?.subStreams.first(where: { $0.subStreamId == sub.subStreamId }) else {
                Issue.record("\(fixture): no sub-stream \(sub.urn) [\(sub.subStreamId ?? "main")] in the report")
                continue
            }
            let name = "\(fixture) [\(sub.subStreamId ?? "main")]"
            if let started = sub.snapshotsStarted { #expect(audit.snapshots.started == started, "\(name)") }
            if let completed = sub.snapshotsCompleted { #expect(audit.snapshots.completed == completed, "\(name)") }
            if let clean = sub.cleanSnapshots { #expect(audit.snapshots.clean == clean, "\(name)") }
            if let stopped = sub.automaticallyStopped {
                #expect(audit.snapshots.automaticallyStopped == stopped, "\(name)")
            }
            if let cadence = sub.cadence {
                #expect(audit.cadence?.intervals == cadence.intervals, "\(name): cadence intervals")
                #expect(audit.cadence?.minimum == cadence.minimum, "\(name): cadence minimum")
                #expect(audit.cadence?.median == cadence.median, "\(name): cadence median")
                #expect(audit.cadence?.p95 == cadence.p95, "\(name): cadence p95")
                #expect(audit.cadence?.maximum == cadence.maximum, "\(name): cadence maximum")
            }
            if let windows = sub.lateWindows {
                #expect(
                    audit.lateWindows.map { [$0.from.timeIntervalSince1970, $0.to.timeIntervalSince1970] }
                        == windows.map { [$0.from, $0.to] }, "\(name): late windows \(audit.lateWindows)")
                #expect(audit.lateWindows.map(\.missedDeadlines) == windows.map(\.missedDeadlines), "\(name)")
                #expect(audit.lateWindows.map(\.open) == windows.map(\.open), "\(name)")
            }
            if let stops = sub.missingStops {
                #expect(audit.missingStops.map(\.at.timeIntervalSince1970) == stops.map(\.at), "\(name)")
                #expect(
                    audit.missingStops.map { $0.snapshotStartedAt?.timeIntervalSince1970 }
                        == stops.map(\.snapshotStartedAt), "\(name)")
                #expect(audit.missingStops.map(\.deletedCheckStateIds) == stops.map(\.deletedCheckStateIds), "\(name)")
            }
            if let expiries = sub.expiries {
                #expect(audit.expiries.map(\.at.timeIntervalSince1970) == expiries.map(\.at), "\(name)")
            }
            if let suspicious = sub.suspiciousDeletions {
                #expect(
                    audit.suspiciousDeletions.map {
                        "\($0.checkStateId) \($0.deletedAt.timeIntervalSince1970) \($0.reason.rawValue) "
                            + "\($0.cameBackAt.timeIntervalSince1970) \($0.snapshotsLater)"
                    }
                        == suspicious.map {
                            "\($0.checkStateId) \($0.deletedAt) \($0.reason) \($0.cameBackAt) \($0.snapshotsLater)"
                        }, "\(name): suspicious deletions")
            }
            if let errors = sub.errors {
                #expect(
                    audit.errors.map { "\($0.code.rawValue) ×\($0.count) \($0.episodes.count) \($0.isOpen)" }
                        == errors.map { "\($0.code) ×\($0.count) \($0.episodes) \($0.open)" }, "\(name): errors")
            }
        }
        for expected in expected.checkStates {
            let sub = report.streams.first { $0.urn == expected.urn }?.subStreams.first {
                $0.subStreamId == expected.subStreamId
            }
            guard let state = sub?.checkStates.first(where: { $0.checkStateId == expected.checkStateId }) else {
                Issue.record("\(fixture): no check state \(expected.checkStateId) in the report")
                continue
            }
            let name = "\(fixture) \(expected.checkStateId)"
            if let durations = expected.timeInHealth {
                #expect(state.timeInHealth.clear == durations.clear, "\(name): CLEAR seconds")
                #expect(state.timeInHealth.deviating == durations.deviating, "\(name): DEVIATING seconds")
                #expect(state.timeInHealth.critical == durations.critical, "\(name): CRITICAL seconds")
            }
            if let transitions = expected.transitions { #expect(state.transitions == transitions, "\(name)") }
            if let creations = expected.creations { #expect(state.creations == creations, "\(name)") }
            if let deletions = expected.deletions { #expect(state.deletions == deletions, "\(name)") }
            if let suspicious = expected.suspiciousDeletions {
                #expect(state.suspiciousDeletions == suspicious, "\(name)")
            }
            if let health = expected.healthAtEnd {
                #expect((state.health?.rawValue ?? "deleted") == health, "\(name): health at the end")
            }
            if let flap = expected.flap {
                let actual = state.flap
                #expect(
                    abs((actual?.score ?? -1) - flap.score) < 0.01, "\(name): flap score \(String(describing: actual))")
                #expect(abs((actual?.maximum ?? -1) - flap.maximum) < 0.01, "\(name): maximum")
                #expect(actual?.flapping == flap.flapping, "\(name): flapping at the end")
                #expect(actual?.episodes == flap.episodes, "\(name): flapping episodes")
            }
            if let periods = expected.flappingPeriods {
                #expect(
                    state.flappingPeriods.map { [$0.from.timeIntervalSince1970, $0.to?.timeIntervalSince1970 ?? -1] }
                        == periods.map { [$0.from, $0.to ?? -1] }, "\(name): flapping periods")
            }
        }
        #expect(
            Set(report.attention.map(\.kind.rawValue)) == Set(expected.attention),
            "\(fixture): attention \(report.attention.map(\.message))")
    }
}
