import Foundation
import Testing

@testable import HealthSyncCLI

/// The small things of the command line (issue 14, item 10): the version, history's limit, empty and standard-input
/// payloads.
@Suite struct CommandLineDetailTests {
    @Test func versionIsPrinted() async throws {
        try await Workspace.with { workspace in
            let result = try await Executable.run(["--version"], in: workspace.directory)
            #expect(result.status == 0)
            #expect(result.output == "healthsync \(HealthSyncCommand.version)\n")
        }
    }

    @Test func historyLimitKeepsTheOldestOrWithNewestTheNewestAndSaysSo() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let all = try await workspace.run("history", "--format", "json")
            let events = try #require(try AuditCLI.object(all.output)["events"] as? [[String: Any]])
            let sequences = events.compactMap { $0["sequence"] as? Int }
            try #require(sequences.count > 4)

            let oldest = try await workspace.run("history", "--limit", "2", "--format", "json")
            let kept = try #require(try AuditCLI.object(oldest.output)["events"] as? [[String: Any]])
            #expect(kept.compactMap { $0["sequence"] as? Int } == Array(sequences.prefix(2)))
            #expect(oldest.errors == "note: the oldest 2 events of more than 2 (--newest for the newest)\n")

            let newest = try await workspace.run("history", "--limit", "2", "--newest", "--format", "json")
            let latest = try #require(try AuditCLI.object(newest.output)["events"] as? [[String: Any]])
            #expect(latest.compactMap { $0["sequence"] as? Int } == Array(sequences.suffix(2)))
            #expect(
                newest.errors
                    == "note: the newest 2 events of \(sequences.count) (without --newest, the oldest)\n")

            let everything = try await workspace.run("history", "--limit", String(sequences.count))
            #expect(everything.errors == "", "nothing was left out")
            AuditCLI.expectUsageError(["history", "--newest"])
        }
    }

    @Test func anEmptyPayloadFileWarns() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("empty.jsonl", "\n")
            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 0)
            #expect(replay.errors == "warning: \(file) is empty: it holds no envelope\n")
        }
    }

    @Test func replayDashReadsStandardInput() async throws {
        try await Workspace.with { workspace in
            let payload = try Data(contentsOf: URL(fileURLWithPath: AuditCLI.snapshotTimers))
            let replay = try await Executable.run(
                ["replay", "--db", workspace.database, "-"], in: workspace.directory, input: payload)
            #expect(replay.status == 0, "\(replay.errors)")
            #expect(replay.output.hasPrefix("3 envelopes applied, 0 rejected"))
            let again = try await Executable.run(
                ["replay", "--db", workspace.database, "-"], in: workspace.directory, input: payload)
            #expect(again.output.contains("3 envelopes skipped as already applied"))
        }
    }
}
