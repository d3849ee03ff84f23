import Foundation
import HealthSync
import Testing

@testable import HealthSyncAudit

/// The HTML timeline's time axis and zoom: readable ticks over any span, the year when a span crosses one, and each
/// stream drawn over the stretch where it has its events.
@Suite struct TimeScaleTests {
    private static func period(_ from: String, _ to: String) throws -> AuditReport.Period {
        let parse = { (text: String) throws -> Date in
            try #require(ISO8601DateFormatter().date(from: text))
        }
        return AuditReport.Period(from: try parse(from), to: try parse(to))
    }

    @Test func yearsOfHistoryGetAFewTicksLabelledByYear() throws {
        // Years of history: from January 2019 to November 2023 (1,762 days, as the README's database spanned).
        let scale = TimeScale(period: try Self.period("2019-01-30T14:06:07Z", "2023-11-27T16:00:00Z"))
        #expect((2...TimeScale.maximumTicks).contains(scale.ticks.count))
        let labels = scale.ticks.map(scale.label)
        #expect(labels == ["2020", "2021", "2022", "2023"])
    }

    @Test func monthsAreLabelledWithTheirYear() throws {
        let scale = TimeScale(period: try Self.period("2023-10-15T00:00:00Z", "2024-03-20T00:00:00Z"))
        let labels = scale.ticks.map(scale.label)
        #expect(labels == ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03"])
    }

    @Test func daysAcrossNewYearCarryTheYear() throws {
        let scale = TimeScale(period: try Self.period("2023-12-29T00:00:00Z", "2024-01-03T00:00:00Z"))
        let labels = scale.ticks.map(scale.label)
        #expect(labels.count <= TimeScale.maximumTicks)
        #expect(labels.allSatisfy { $0.hasPrefix("2023-12-") || $0.hasPrefix("2024-01-") })
        #expect(Set(labels).count == labels.count)
    }

    @Test func oneDayIsLabelledByTimeOfDay() throws {
        let scale = TimeScale(period: try Self.period("2023-11-18T00:00:00Z", "2023-11-19T00:00:00Z"))
        let labels = scale.ticks.map(scale.label)
        #expect(labels == ["00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00", "00:00"])
    }

    @Test func ticksNeverCrowdTheAxis() throws {
        // Any span from a minute to a thousand years: at most nine ticks, labels short enough for their spacing
        // (11 px monospace is about 6.6 px a character on a 958 px plot).
        var length = 60.0
        let from = Date(timeIntervalSince1970: 1_548_857_167)
        while length < 3e10 {
            let scale = TimeScale(period: AuditReport.Period(from: from, to: from.addingTimeInterval(length)))
            #expect(scale.ticks.count <= TimeScale.maximumTicks, "\(length) s")
            let spacing = 958.0 / Double(max(1, scale.ticks.count))
            let widest = scale.ticks.map { Double(scale.label($0).count) * 6.6 }.max() ?? 0
            #expect(widest < spacing, "\(length) s: labels of \(widest) px every \(spacing) px")
            length *= 1.7
        }
    }

    @Test func aStreamActiveInASmallPartOfTheReportIsDrawnOverThatPart() throws {
        // Six snapshots a minute apart, in a report over five years.
        var input = SyntheticHistory.input(checkStates: 3, snapshots: 6, changing: 3, period: 2)
        let own = AuditAnalyzer().analyze(input).streams.first.map { $0.activeRange(in: input.period) }
        #expect(own == input.period, "over its own period, the stream fills it: no zoom")
        input.period.to = input.period.from.addingTimeInterval(5 * 31_536_000)
        let report = AuditAnalyzer().analyze(input)
        let stream = try #require(report.streams.first)
        let shown = stream.activeRange(in: report.period)
        #expect(shown.from == report.period.from)
        #expect(shown.length < 3_600)
        let html = HTMLReportRenderer().render(report)
        #expect(html.contains("<p class=\"zoom\">Timelines show"))
    }
}
