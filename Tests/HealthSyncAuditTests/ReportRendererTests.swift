import Foundation
import HealthSync
import HealthSyncAudit
import Testing

/// The text and HTML reports: what they lead with, what they contain, and that the HTML is self-contained and
/// stays bounded with 1,000 check states.
@Suite struct ReportRendererTests {
    @Test func textReportLeadsWithWhatNeedsAttention() async throws {
        let report = try await AuditFixture.named("04-missing-stop", in: .audit).audit()
        let text = TextReportRenderer().render(report)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "HealthSync audit of Fixtures/audit/04-missing-stop/payload.jsonl")
        #expect(lines.contains("period  2030-03-22T08:53:20Z to 2030-03-22T08:58:20Z (5m)"))
        let attention = try #require(lines.firstIndex { $0.hasPrefix("NEEDS ATTENTION (") })
        let stream = try #require(lines.firstIndex { $0.hasPrefix("STREAM urn:health:audit:missing-stop") })
        #expect(attention < stream)
        let now = try #require(lines.firstIndex { $0.hasPrefix("HEALTH AT THE END: ") })
        #expect(now <= 4, "the health at the end comes right after the header")
        #expect(attention > now, "then the attention list")
        // The first item, wrapped to 120 columns with its continuation indented under the message.
        #expect(lines[attention + 1].hasPrefix("  CRITICAL  urn:health:audit:missing-stop: 2 suspicious deletions"))
        #expect(lines[attention + 2].hasPrefix("            "))
        let item = lines[(attention + 1)...(attention + 2)].flatMap { $0.split(separator: " ") }.joined(separator: " ")
        #expect(
            item
                == "CRITICAL urn:health:audit:missing-stop: 2 suspicious deletions (truncated snapshots?): 2 by "
                + "automatic stop at 2030-03-22T08:56:20Z, back within 1 snapshot")
        #expect(lines.allSatisfy { $0.count <= 120 || !$0.hasPrefix("  CRITICAL") })
        #expect(text.contains("suspicious deletions"))
        #expect(text.contains("SubStreamMissingStop"))
        #expect(!text.hasSuffix("\n"))
    }

    @Test func textReportSaysWhenNothingNeedsAttention() {
        // Five check states, CLEAR throughout, snapshots on time.
        let report = AuditAnalyzer().analyze(SyntheticHistory.input(checkStates: 5, snapshots: 6, changing: 0))
        let text = TextReportRenderer().render(report)
        #expect(text.contains("\nHEALTH AT THE END: 0 CRITICAL, 0 DEVIATING, 5 CLEAR (5 check states)\n"))
        #expect(text.contains("\nNEEDS ATTENTION: nothing\n"))
    }

    @Test func checkStatesThatAreNotClearAtTheEndLeadBothReports() async throws {
        // The documentation example ends with one DEVIATING and one CRITICAL check state and nothing else wrong:
        // it used to say that nothing needed attention.
        let report = try await AuditFixture.named("00-documentation-example", in: .scenarios).audit()
        let now = report.healthNow
        #expect((now.critical, now.deviating, now.clear) == (1, 1, 0))
        #expect(now.unhealthy.map(\.health) == [.critical, .deviating])
        #expect(report.attention.map(\.kind) == [.criticalCheckStates, .deviatingCheckStates])
        #expect(report.attention.map(\.severity) == [.critical, .warning])

        let text = TextReportRenderer().render(report)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let health = try #require(
            lines.firstIndex { $0.hasPrefix("HEALTH AT THE END: 1 CRITICAL, 1 DEVIATING, 0 CLEAR") })
        let attention = try #require(lines.firstIndex { $0 == "NEEDS ATTENTION (2)" })
        #expect(health < attention)
        #expect(lines[health + 2].hasPrefix("  CRITICAL "))
        #expect(lines[health + 3].hasPrefix("  DEVIATING "))
        #expect(!text.contains("NEEDS ATTENTION: nothing"))
        #expect(text.contains("check states (2 notable of 2)"), "DEVIATING and CRITICAL check states are notable")

        let html = HTMLReportRenderer().render(report)
        let healthSection = try #require(html.range(of: "<h2>Health at the end</h2>"))
        let attentionSection = try #require(html.range(of: "<h2>Needs attention</h2>"))
        #expect(healthSection.lowerBound < attentionSection.lowerBound)
        #expect(html.contains("✖ <b>1</b> critical"))
        #expect(html.contains("<tr class=\"critical\"><td>✖ CRITICAL</td>"))
        #expect(!html.contains("<p class=\"ok\">Nothing"))
    }

    @Test func textReportCutsLongTables() {
        let report = AuditAnalyzer().analyze(SyntheticHistory.input(checkStates: 200, snapshots: 30, changing: 100))
        let text = TextReportRenderer(rowLimit: 10).render(report)
        #expect(text.contains("check states (100 notable of 200)"))
        #expect(text.contains("… 90 more (see --format json or html)"))
        let widest = text.split(separator: "\n").map(\.count).max() ?? 0
        #expect(widest < 200, "widest line: \(widest)")
    }

    @Test func htmlIsSelfContainedAndNamesEverything() async throws {
        let report = try await AuditFixture.named("03-snapshot-timers", in: .scenarios).audit()
        let html = HTMLReportRenderer().render(report)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.hasSuffix("</html>\n"))
        Self.expectSelfContained(html)
        #expect(html.contains("<svg class=\"timeline\""))
        #expect(html.contains("Needs attention"))
        #expect(html.contains("class=\"critical\""))
        #expect(html.contains("<h4>Suspicious deletions</h4>"))
        #expect(html.contains("<h4>Missing stops</h4>"))
        #expect(html.contains("<h4>Late windows</h4>"))
        // One band per check state (a, b, c), the late windows shaded, the missing stop marked.
        #expect(html.components(separatedBy: "<rect class=\"row\"").count - 1 == 3)
        #expect(html.components(separatedBy: "<rect class=\"late\"").count - 1 == 2)
        #expect(html.components(separatedBy: "<line class=\"stop\"").count - 1 == 1)
        #expect(html.contains("<path class=\"sus\""), "the suspicious deletion of b is marked")
        #expect(html.contains("SubStreamLateData"))
    }

    @Test func htmlEscapesWhatSourcesSend() {
        var input = SyntheticHistory.input(checkStates: 2, snapshots: 3, changing: 0)
        input.events = input.events.map { event in
            var event = event
            if var state = event.checkState {
                state.name = "<script>alert('x')</script> & \"quoted\""
                event.checkState = state
            }
            return event
        }
        let html = HTMLReportRenderer().render(AuditAnalyzer().analyze(input))
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"))
    }

    @Test func htmlWithAThousandCheckStatesStaysReadableAndBounded() {
        // One day of one-minute snapshots would be 1,440; two hours keep the test quick and the shape the same.
        let report = AuditAnalyzer().analyze(SyntheticHistory.input(checkStates: 1_000, snapshots: 120, changing: 40))
        let html = HTMLReportRenderer().render(report)
        Self.expectSelfContained(html)
        // 40 notable check states get a labelled band each; the 960 others share one band.
        #expect(html.components(separatedBy: "<rect class=\"row\"").count - 1 == 40)
        #expect(html.contains(">960 more, CLEAR throughout</text>"))
        #expect(html.contains(">not CLEAR over time</text>"))
        #expect(html.contains("Check states: 1000 (40 notable)"))
        #expect(html.utf8.count < 1_500_000, "\(html.utf8.count) bytes")
    }

    @Test func htmlCapsIndividualBands() {
        let report = AuditAnalyzer().analyze(SyntheticHistory.input(checkStates: 1_000, snapshots: 30, changing: 500))
        let html = HTMLReportRenderer(bandLimit: 300).render(report)
        #expect(html.contains(">300 notable check states</text>"))
        #expect(html.contains(">700 more (see the table)</text>"))
        // 300 bands and the band of the 700 others.
        #expect(html.components(separatedBy: "<rect class=\"row\"").count - 1 == 300 + 1)
    }

    static func expectSelfContained(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let withoutNamespace = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.contains("http://"), sourceLocation: sourceLocation)
        #expect(!withoutNamespace.contains("https://"), sourceLocation: sourceLocation)
        #expect(!html.contains("<script"), sourceLocation: sourceLocation)
        #expect(!html.contains("<link"), sourceLocation: sourceLocation)
        #expect(!html.contains(" src="), sourceLocation: sourceLocation)
        #expect(!html.contains("@import"), sourceLocation: sourceLocation)
    }
}
