import Foundation
import Testing

@testable import HealthSyncCLI

/// `delete`, `clear-errors` and `sweep`.
@Suite struct OperationCommandTests {
    @Test func deleteRemovesTheStreamAndUnknownStreamExitsOne() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("two.json", Payloads.twoStreams)
            _ = try await workspace.run("replay", file)

            let delete = try await workspace.run("delete", "--urn", "urn:health:a:main")
            #expect(delete.status == 0)
            #expect(delete.output == "deleted stream urn:health:a:main\n")

            let streams = try await workspace.run("streams")
            #expect(!streams.output.contains("urn:health:a:main"))
            #expect(streams.output.contains("urn:health:b:ti"))
            let state = try await workspace.run("state", "--urn", "urn:health:a:main")
            #expect(state.status == 0, "a deleted stream is still in the event record")
            #expect(state.output == "no check states\n")

            let again = try await workspace.run("delete", "--urn", "urn:health:a:main")
            #expect(again.status == 1)
            #expect(again.output == "")
            #expect(again.errors == "error: no stream urn:health:a:main\n")
        }
    }

    @Test func clearErrorsClosesEveryOpenErrorAndUnknownStreamExitsOne() async throws {
        try await Workspace.with { workspace in
            let setup = try workspace.write("two.json", Payloads.twoStreams)
            let outside = try workspace.write("outside.json", Payloads.outsideSnapshot)
            _ = try await workspace.run("replay", setup, outside)
            // Stream level: eu expired (SubStreamExpired); main: check states outside a snapshot.
            let before = try await workspace.run("status", "--urn", "urn:health:a:main")
            #expect(before.output.contains("SubStreamExpired"))
            #expect(before.output.contains("SubStreamCheckStateOutsideSnapshot"))

            let clear = try await workspace.run("clear-errors", "--urn", "urn:health:a:main")
            #expect(clear.status == 0)
            #expect(clear.output == "cleared 2 errors of urn:health:a:main\n")

            let after = try await workspace.run("status", "--urn", "urn:health:a:main")
            #expect(after.output.contains("no open errors"))

            let unknown = try await workspace.run("clear-errors", "--urn", "urn:health:x:unknown")
            #expect(unknown.status == 1)
            #expect(unknown.errors == "error: no stream urn:health:x:unknown\n")
        }
    }

    @Test func sweepFiresDueTimersAndPrintsWhatFired() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("states.json", Payloads.repeatStates)
            _ = try await workspace.run("replay", file)

            let sweep = try await workspace.run("sweep", "--now", "1100")
            #expect(sweep.status == 0)
            let lines = sweep.output.split(separator: "\n")
            let summary = try #require(lines.first)
            #expect(summary.hasPrefix("clock at 1970-01-01T00:18:20Z; "))
            #expect(summary.contains("check states: 1 deleted"))
            #expect(lines.dropFirst().first?.hasPrefix("TIME ") == true)
            #expect(lines.contains { $0.contains("checkStateDeleted") && $0.contains("s1") })
            #expect(lines.contains { $0.contains("errorOpened") && $0.contains("SubStreamLateData") })

            let state = try await workspace.run("state", "--urn", "urn:health:c:states")
            #expect(state.output == "no check states\n")
        }
    }

    /// A replayed status report's silence fires on `sweep`, at its deadline, and `state` shows it.
    @Test func sweepFiresTheSilenceOfAReplayedReport() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write(
                "reports.jsonl",
                #"{"report": "crisp", "received_at": 1000, "service_id": "web", "node_id": "n", "body": {"replica_id": "a", "interval": 60}}"#
                    + "\n")
            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 0, "\(replay.errors)")
            let early = try await workspace.run("sweep", "--now", "1080")
            #expect(!early.output.contains("checkStateUpdated"), "the deadline 1080 has not passed")
            let sweep = try await workspace.run("sweep", "--now", "1081")
            #expect(sweep.status == 0)
            #expect(sweep.output.contains("checkStateUpdated"), "\(sweep.output)")
            let state = try await workspace.run("state", "--urn", "urn:health:reporter:web")
            #expect(state.output.contains("CRITICAL") && state.output.contains("no report for 80 s"), "\(state.output)")
        }
    }

    @Test func sweepNeverMovesTheClockBack() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("states.json", Payloads.repeatStates)
            _ = try await workspace.run("replay", file)

            let sweep = try await workspace.run("sweep", "--now", "1970-01-01T00:00:10Z")
            #expect(sweep.status == 0)
            #expect(
                sweep.output
                    == "clock at 1970-01-01T00:16:40Z; 0 timers fired; check states: 0 deleted; 0 errors opened\n")

            let state = try await workspace.run("state", "--urn", "urn:health:c:states", "--format", "json")
            #expect(state.output.contains("\"checkStateId\" : \"s1\""))
        }
    }

    @Test func sweepOfMissingDatabaseExitsTwo() async throws {
        try await Workspace.with { workspace in
            let sweep = try await workspace.run("sweep", "--now", "1000")
            #expect(sweep.status == 2)
            #expect(sweep.errors.hasPrefix("error: no database at "))
        }
    }
}

/// Commands that act at a time act at the processor clock, and say what it is.
@Suite struct ProcessorClockTests {
    @Test func clearErrorsAndDeleteDoNotMoveTheClockPastDueTimers() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let before = try await workspace.run("status", "--urn", AuditCLI.snapshotTimersURN, "--format", "json")
            let clock = try #require(try AuditCLI.object(before.output)["clock"] as? Double)
            #expect(clock == 1_700_300_330)

            let clear = try await workspace.run("clear-errors", "--urn", AuditCLI.snapshotTimersURN)
            #expect(clear.status == 0)
            let history = try await workspace.run("history", "--format", "json")
            let events = try #require(try AuditCLI.object(history.output)["events"] as? [[String: Any]])
            let closed = events.filter {
                $0["kind"] as? String == "errorClosed" && $0["detail"] as? String == "cleared"
            }
            #expect(!closed.isEmpty)
            #expect(closed.allSatisfy { $0["at"] as? Double == 1_700_300_330 }, "closed at the processor clock")

            let delete = try await workspace.run("delete", "--urn", AuditCLI.snapshotTimersURN)
            #expect(delete.status == 0)
            let streams = try await workspace.run("streams", "--format", "json")
            #expect(try AuditCLI.object(streams.output)["clock"] as? Double == 1_700_300_330, "the clock stayed")
        }
    }

    @Test func streamsAndStatusShowTheProcessorClock() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let streams = try await workspace.run("streams")
            #expect(
                streams.output.hasSuffix(
                    "\nprocessor clock  2023-11-18T09:38:50Z (timers due before it have fired)\n"))
            let status = try await workspace.run("status", "--urn", AuditCLI.snapshotTimersURN)
            #expect(
                status.output.split(separator: "\n").dropFirst(2).first
                    == "clock   2023-11-18T09:38:50Z (the processor clock; deadlines before it have fired)")
        }
    }

    @Test func serveWarnsBeforeItsFirstSweepPrunesAnOldDatabase() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await AuditCLI.withSnapshotTimers { workspace in
            let server = try await ServeProcess.start(
                binary, database: workspace.database, log: workspace.directory.appendingPathComponent("serve.log"))
            let log = server.logText
            #expect(await server.stop() == 0)
            #expect(
                log.contains(
                    "the stored clock 2023-11-18T09:38:50Z is "), "\(log)")
            #expect(log.contains("behind wall time, more than the event retention (30d)"))
            #expect(log.contains("to keep it, stop now and serve a copy or another --db"))
        }
    }
}
