import Foundation
import Testing

@testable import HealthSyncCLI

/// `healthsync history`.
@Suite struct HistoryCommandTests {
    @Test func listsTheEventsOfACheckStateOldestFirstWithTimeAndCause() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let history = try await workspace.run("history", "--check", "b")
            #expect(history.status == 0)
            let lines = history.output.split(separator: "\n").map(String.init)
            #expect(lines.count == 4, "\(history.output)")
            #expect(lines.first?.hasPrefix("TIME ") == true)
            // Created at +0, deleted by the automatic stop at +170 (its deadline), created again at +200.
            #expect(lines[1].hasPrefix("2023-11-18T09:33:20Z  urn:health:fixtures:snapshot-timers  -  "))
            #expect(lines[1].contains("checkStateCreated  b"))
            #expect(lines[1].hasSuffix("created"))
            #expect(lines[2].hasPrefix("2023-11-18T09:36:10Z"))
            #expect(lines[2].contains("checkStateDeleted"))
            #expect(lines[2].hasSuffix("deleted by automatic stop"))
            #expect(lines[3].hasPrefix("2023-11-18T09:36:40Z"))
            #expect(lines[3].contains("checkStateCreated"))
        }
    }

    @Test func showsHealthChangesAndErrorsWithTheirCause() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let history = try await workspace.run(
                "history", "--urn", AuditCLI.snapshotTimersURN, "--since", "1700300170", "--until", "1700300200")
            #expect(history.status == 0)
            let output = history.output
            #expect(output.contains("snapshotAutoStopped"))
            #expect(output.contains("no stop_snapshot within 2 × repeat_interval_s; started at 2023-11-18T09:34:10Z"))
            #expect(output.contains("SubStreamMissingStop opened: the snapshot started at 2023-11-18T09:34:10Z"))
            #expect(output.contains("CLEAR → DEVIATING"))
            #expect(output.contains("SubStreamLateData closed: snapshot completed"))
            #expect(output.contains("stop_snapshot (clean)"))
            #expect(!output.contains("2023-11-18T09:33:20Z"), "--since excludes the first snapshot")
        }
    }

    @Test func jsonCarriesEveryFieldAndTheCause() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let history = try await workspace.run("history", "--check", "c", "--format", "json")
            #expect(history.status == 0)
            let document = try AuditCLI.object(history.output)
            let events = try #require(document["events"] as? [[String: Any]])
            #expect(events.count == 2)
            let deletion = try #require(events.last)
            #expect(deletion["kind"] as? String == "checkStateDeleted")
            #expect(deletion["deletionReason"] as? String == "automaticStop")
            #expect(deletion["cause"] as? String == "deleted by automatic stop")
            #expect(deletion["at"] as? Double == 1_700_300_170)
            #expect(deletion["health"] as? String == "CLEAR")
            #expect(deletion["subStreamId"] is NSNull)
            #expect(deletion["previousHealth"] is NSNull)
            #expect(Set(deletion.keys).count == 13)
        }
    }

    @Test func emptySelectionAndLimit() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let none = try await workspace.run(
                "history", "--urn", AuditCLI.snapshotTimersURN, "--since", "1700300331")
            #expect(none.status == 0)
            #expect(none.output == "no events\n")
            let limited = try await workspace.run("history", "--limit", "2")
            #expect(limited.output.split(separator: "\n").count == 3)
            #expect(limited.output.contains("streamCreated"))
        }
    }

    @Test func subStreamNeedsURNAndBoundsMustBeOrdered() {
        AuditCLI.expectUsageError(["history", "--sub-stream", "x"])
        AuditCLI.expectUsageError(["history", "--since", "2000", "--until", "1000"])
        AuditCLI.expectUsageError(["history", "--limit", "0"])
    }
}

/// A mistyped URN is an error everywhere, not an empty answer.
@Suite struct UnknownStreamTests {
    @Test(arguments: [
        ["state", "--urn"], ["state", "--at", "1700300100", "--urn"], ["history", "--urn"],
        ["diff", "--from", "1700300000", "--to", "1700300300", "--urn"], ["status", "--urn"], ["delete", "--urn"],
        ["clear-errors", "--urn"],
    ])
    func unknownURNExitsOneSayingNoStream(command: [String]) async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let result = try await CLI.run(
                command + ["urn:health:fixtures:snapshot-timerz", "--db", workspace.database])
            #expect(result.status == 1)
            #expect(result.output == "")
            #expect(result.errors == "error: no stream urn:health:fixtures:snapshot-timerz\n")
        }
    }
}
