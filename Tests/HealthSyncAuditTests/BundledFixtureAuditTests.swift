import Foundation
import HealthSync
import HealthSyncAudit
import Testing

/// The audit of every bundled fixture names every problem it contains: each error code the fixture opens, each
/// rejection and dropped check state with its line and JSON path, and the fixture-specific problems (suspicious
/// deletions, missing stops, late windows, expiries).
@Suite struct BundledFixtureAuditTests {
    static let bundled = AuditFixture.all(.scenarios) + AuditFixture.all(.invalid)

    @Test func bundledFixturesAreDiscovered() {
        #expect(Self.bundled.count >= 16)
    }

    @Test(arguments: bundled)
    func auditNamesEveryProblem(fixture: AuditFixture) async throws {
        let expectation = try JSONDecoder().decode(ReplayExpectation.self, from: fixture.expectedData())
        let report = try await fixture.audit()
        let text = TextReportRenderer(rowLimit: 1_000).render(report)
        let html = HTMLReportRenderer().render(report)
        let codes = Set(report.streams.flatMap { $0.subStreams.flatMap { $0.errors.map(\.code.rawValue) } })
        for code in expectation.errorCodesOpened ?? [] {
            #expect(codes.contains(code), "\(fixture.testDescription): the audit does not name \(code)")
            #expect(text.contains(code), "\(fixture.testDescription): the text report does not name \(code)")
            #expect(html.contains(code), "\(fixture.testDescription): the HTML report does not name \(code)")
        }
        for (expected, severity) in (expectation.rejections ?? []).map({ ($0, AuditReport.Finding.Severity.rejection) })
            + (expectation.warnings ?? []).map({ ($0, .warning) })
        {
            let found = report.findings.contains {
                $0.severity == severity && $0.line == expected.line && $0.path == expected.path
            }
            #expect(found, "\(fixture.testDescription): no \(severity) at line \(expected.line), \(expected.path)")
            #expect(text.contains(":\(expected.line): \(expected.path):"), "\(fixture.testDescription)")
        }
        let problems =
            !(expectation.errorCodesOpened ?? []).isEmpty || !(expectation.rejections ?? []).isEmpty
            || !(expectation.warnings ?? []).isEmpty
        if problems {
            #expect(!report.attention.isEmpty, "\(fixture.testDescription): problems but nothing needs attention")
        }
    }

    @Test func snapshotTimersShowTheMissingStopItsSuspiciousDeletionAndLateWindows() async throws {
        let report = try await AuditFixture.named("03-snapshot-timers", in: .scenarios).audit()
        let sub = try #require(report.streams.first?.subStreams.first)
        let base = 1_700_300_000.0
        // The snapshot started at +50 is stopped at +170, deleting b and c; b comes back in the clean snapshot at
        // +200 (the next one), c does not.
        #expect(sub.missingStops.map(\.at) == [epoch(base + 170)])
        #expect(sub.missingStops.first?.snapshotStartedAt == epoch(base + 50))
        #expect(sub.missingStops.first?.deletedCheckStateIds == ["b", "c"])
        #expect(sub.suspiciousDeletions.map(\.checkStateId) == ["b"])
        #expect(sub.suspiciousDeletions.first?.reason == .automaticStop)
        #expect(sub.suspiciousDeletions.first?.cameBackAt == epoch(base + 200))
        // Late from +60 (0 + 60) to the completion at +200; again from +260 to the end at +330.
        #expect(
            sub.lateWindows.map { [$0.from.timeIntervalSince1970 - base, $0.to.timeIntervalSince1970 - base] }
                == [[60, 200], [260, 330]])
        #expect(sub.lateWindows.map(\.missedDeadlines) == [3, 2])
        #expect(sub.lateWindows.last?.open == true)
        let lateData = sub.errors.first { $0.code == .subStreamLateData }
        #expect(lateData?.count == 5, "3 raised before +200, 2 open at the end")
        #expect(report.attention.first?.kind == .suspiciousDeletions)
    }

    @Test func subStreamExpiriesAreListedWithTheirCheckStates() async throws {
        let report = try await AuditFixture.named("08-sub-stream-expiry", in: .scenarios).audit()
        let stream = try #require(report.streams.first)
        let expired = stream.subStreams.filter { $0.expiries.contains { $0.kind == .subStream } }
        #expect(expired.map(\.displayName) == ["pod-a", "pod-d"])
        for sub in expired {
            #expect(sub.repeatInterval == 60, "declared intervals come from the payload for expired sub-streams")
            #expect(sub.expiries.first?.at == epoch(1_700_800_150))
        }
        #expect(report.attention.contains { $0.kind == .expiries && $0.subStreamId == "pod-a" })
    }

    @Test func repeatStatesCheckStateExpiriesAndLateSpans() async throws {
        let report = try await AuditFixture.named("06-repeat-states", in: .scenarios).audit()
        let subs = report.streams.flatMap(\.subStreams)
        #expect(subs.contains { $0.expiries.contains { $0.kind == .checkStates } })
        #expect(subs.contains { !$0.lateWindows.isEmpty }, "late windows come from SubStreamLateData spans")
        #expect(subs.allSatisfy { $0.cadence == nil }, "REPEAT_STATES has no per-message event")
    }

    @Test func rejectionsLeadTheAttentionWithTheirLocation() async throws {
        let report = try await AuditFixture.named("04-message-rejections", in: .invalid).audit()
        let item = try #require(report.attention.first { $0.kind == .rejections })
        #expect(item.severity == .critical)
        #expect(item.message.hasPrefix("15 rejections in the payloads (first: Fixtures/invalid/04-message-rejections/"))
        #expect(report.summary.rejections == 15)
    }
}
