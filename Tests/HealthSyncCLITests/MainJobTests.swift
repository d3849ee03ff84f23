import Foundation
import Testing

@testable import HealthSyncCLI

/// The README's main job, `healthsync replay --show-state Fixtures/scenarios`, read by someone who has read nothing
/// else: a clean summary, every warning explained, no four-year jump of the clock.
@Suite struct MainJobTests {
    @Test func theBundledReplayTellsACleanStory() async throws {
        try await Workspace.with { workspace in
            let scenarios = AuditCLI.fixtures + "/scenarios"
            let replay = try await workspace.run("replay", "--show-state", scenarios)
            #expect(replay.status == 0)
            #expect(replay.output.contains("CRITICAL"))

            // Every line on standard error is a warning about a check state the fixtures send invalid on purpose,
            // or a note that explains them; the notes come last.
            let lines = replay.errorLines
            #expect(lines.allSatisfy { $0.hasPrefix("warning: ") || $0.hasPrefix("note: ") })
            let warnings = lines.filter { $0.hasPrefix("warning: ") }
            let notes = lines.filter { $0.hasPrefix("note: ") }
            #expect(!warnings.isEmpty)
            #expect(
                notes.first?.hasPrefix("note: the \(warnings.count) warnings above name check states dropped") == true)
            #expect(notes.contains { $0.contains("reported late (SubStreamLateData) once per missed repeat interval") })

            // The fixtures stand next to each other in time: the clock runs through two weeks of November 2023, not
            // from the documentation example's published 2019 timestamp, so the timers that fire are those weeks'.
            let summary = try #require(replay.output.split(separator: "\n").first)
            let fired = summary.split(separator: "; ").first { $0.hasSuffix(" timers fired") }
            let count = try #require(fired.flatMap { Int($0.split(separator: " ")[0]) })
            // A run of missed deadlines of one sub-stream is one timer; the summary counts the periods in words.
            #expect(count < 1_000, "\(summary)")
            let late = try #require(
                summary.firstMatch(of: /late data counted for ([0-9,]+) missed periods/), "\(summary)")
            let periods = try #require(Int(late.output.1.filter(\.isNumber)))
            #expect(periods > count && periods < 100_000, "\(summary)")
            let streams = try await workspace.run("streams", "--format", "json")
            #expect(streams.status == 0)
            #expect(!streams.output.contains("2019-"))
        }
    }
}
