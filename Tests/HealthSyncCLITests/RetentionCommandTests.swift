import Foundation
import Testing

@testable import HealthSyncCLI

/// `healthsync sweep --retain-events`: bounded history that still answers `state --at` inside the window.
@Suite struct RetentionCommandTests {
    static let day = 86_400
    static let start = 1_000_000

    /// Snapshots at day 0 (a, b), day 10 (a; b deleted) and day 20 (a DEVIATING).
    private func withThreeSnapshots(_ body: (Workspace) async throws -> Void) async throws {
        try await Workspace.with { workspace in
            let lines = [
                Payloads.snapshotLine(at: Self.start, states: [Payloads.checkState("a"), Payloads.checkState("b")]),
                Payloads.snapshotLine(at: Self.start + 10 * Self.day, states: [Payloads.checkState("a")]),
                Payloads.snapshotLine(at: Self.start + 20 * Self.day, states: [Payloads.checkState("a", "DEVIATING")]),
            ]
            let file = try workspace.write("month.jsonl", lines.joined(separator: "\n") + "\n")
            let replay = try await workspace.run("replay", file)
            try #require(replay.status == 0, "\(replay.errors)")
            try await body(workspace)
        }
    }

    @Test func sweepPrunesEventsOlderThanTheRetentionButKeepsWhatStateAtNeeds() async throws {
        try await withThreeSnapshots { workspace in
            let times = [15, 20, 30].map { String(Self.start + $0 * Self.day) }
            var before: [String] = []
            for time in times {
                before.append(try await workspace.run("state", "--at", time, "--format", "json").output)
            }
            let sweep = try await workspace.run(
                "sweep", "--now", String(Self.start + 45 * Self.day), "--retain-events", "30d")
            #expect(sweep.status == 0)
            #expect(sweep.output.split(separator: "\n").first?.hasSuffix(" events pruned") == true, "\(sweep.output)")

            // The cutoff is day 15. The record is known to be complete from its first remaining event that is not
            // a creation or an update: day 20 here, this stream being quiet in between. From there state --at
            // answers exactly as before the pruning; before it, it refuses.
            for (time, expected) in zip(times.dropFirst(), before.dropFirst()) {
                let after = try await workspace.run("state", "--at", time, "--format", "json")
                #expect(after.status == 0)
                #expect(after.output == expected, "state at \(time)")
            }
            let early = try await workspace.run("state", "--at", times[0])
            #expect(early.status == 1)
            #expect(early.errors.contains("is before the event record, which starts at 1970-02-01T13:46:40Z"))

            // What is left before the cutoff: a's creation, the latest state of a check state alive at day 15.
            let history = try await workspace.run("history", "--until", times[0], "--format", "json")
            let events = try #require(try AuditCLI.object(history.output)["events"] as? [[String: Any]])
            #expect(events.count == 1)
            #expect(events.first?["kind"] as? String == "checkStateCreated")
            #expect(events.first?["checkStateId"] as? String == "a")
        }
    }

    @Test func defaultRetentionIsThirtyDays() async throws {
        try await withThreeSnapshots { workspace in
            // 35 days after the start the cutoff is day 5: the snapshot and error events of day 0 go; the creations
            // of a and b stay, because both were alive at day 5 and state --at needs them.
            let sweep = try await workspace.run("sweep", "--now", String(Self.start + 35 * Self.day))
            #expect(sweep.output.contains(" events pruned"))
            let early = try await workspace.run(
                "history", "--until", String(Self.start + 5 * Self.day), "--format", "json")
            let events = try #require(try AuditCLI.object(early.output)["events"] as? [[String: Any]])
            #expect(events.compactMap { $0["kind"] as? String } == ["checkStateCreated", "checkStateCreated"])
            let b = try await workspace.run("history", "--check", "b")
            #expect(b.output.contains("deleted by snapshot diff"))
            // The record is known to be complete from its first remaining event that is not a creation or an
            // update (day 10 here, this stream being quiet in between): from there state --at answers.
            let atDaySix = try await workspace.run("state", "--at", String(Self.start + 6 * Self.day))
            #expect(atDaySix.status == 1)
            let atDayTen = try await workspace.run("state", "--at", String(Self.start + 10 * Self.day))
            #expect(atDayTen.status == 0)
            #expect(atDayTen.output.contains(" a "))
            #expect(!atDayTen.output.contains(" b "), "b was deleted by the snapshot of day 10")
            let again = try await workspace.run("sweep", "--now", String(Self.start + 35 * Self.day))
            #expect(!again.output.contains("pruned"), "nothing more to prune")
        }
    }

    @Test func timeTravelBeforeTheWindowIsRefusedWhenOnlyTheLatestValuesRemain() async throws {
        try await withThreeSnapshots { workspace in
            // 100 days on with a 30-day retention, the cutoff is day 70: what remains is a's update of day 20, the
            // latest values of the one check state alive then. The record says nothing of day 20 to 70 any more.
            let clock = String(Self.start + 100 * Self.day)
            let sweep = try await workspace.run("sweep", "--now", clock, "--retain-events", "30d", "--yes")
            #expect(sweep.status == 0, "\(sweep.errors)")
            let history = try await workspace.run("history", "--format", "json")
            let kinds = try #require(try AuditCLI.object(history.output)["events"] as? [[String: Any]])
                .compactMap { $0["kind"] as? String }
            #expect(kinds == ["checkStateUpdated"])

            let message =
                "is before the event record, which starts at 1970-04-22T13:46:40Z (older events were pruned or never "
                + "recorded)\n"
            let state = try await workspace.run("state", "--at", String(Self.start + 15 * Self.day))
            #expect(state.status == 1)
            #expect(state.output == "")
            #expect(state.errors == "error: --at 1970-01-27T13:46:40Z " + message)
            let diff = try await workspace.run(
                "diff", "--urn", Payloads.urn, "--from", String(Self.start + 5 * Self.day), "--to", clock)
            #expect(diff.status == 1)
            #expect(diff.errors == "error: --from 1970-01-17T13:46:40Z " + message)
            let now = try await workspace.run("state", "--at", clock)
            #expect(now.status == 0)
            #expect(now.output.contains(" a "))
        }
    }

    @Test func durationsAreValidated() {
        AuditCLI.expectUsageError(["sweep", "--retain-events", "0d"])
        AuditCLI.expectUsageError(["sweep", "--retain-events", "thirty days"])
        AuditCLI.expectUsageError(["sweep", "--retain-events", "-5h"])
        #expect(DurationArgument(argument: "90m")?.seconds == 5_400)
        #expect(DurationArgument.defaultRetention.defaultValueDescription == "30d")
    }
}

/// A far jump of the stored clock (a mistyped TIME, or a plain `sweep` on a replayed database) needs `--yes`;
/// `--dry-run` shows what it would do.
@Suite struct ClockJumpTests {
    /// The event record as JSON, to compare before and after.
    private func history(_ workspace: Workspace) async throws -> String {
        try await workspace.run("history", "--format", "json").output
    }

    @Test func sweepToWallTimeOnAReplayedDatabaseNeedsYes() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let before = try await history(workspace)
            let sweep = try await workspace.run("sweep")
            #expect(sweep.status == 1)
            #expect(sweep.output == "")
            #expect(sweep.errors.hasPrefix("error: sweep would move the clock from 2023-11-18T09:38:50Z to "))
            #expect(sweep.errors.contains("longer than the event retention (30d)"))
            #expect(sweep.errors.contains("run it again with --yes"))
            #expect(try await history(workspace) == before, "nothing changed")

            let confirmed = try await workspace.run("sweep", "--yes")
            #expect(confirmed.status == 0)
            #expect(confirmed.output.contains("pruned"))
            #expect(try await history(workspace) != before)
        }
    }

    @Test func dryRunSaysWhatWouldFireAndBePrunedAndChangesNothing() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let before = try await history(workspace)
            let dryRun = try await workspace.run("sweep", "--dry-run", "--now", "1710000000")
            #expect(dryRun.status == 0)
            let lines = dryRun.output.split(separator: "\n").map(String.init)
            #expect(
                lines.first
                    == "dry run: the clock would move from 2023-11-18T09:38:50Z to 2024-03-09T16:00:00Z "
                    + "(112 days later)")
            #expect(dryRun.output.contains("this sweep would need --yes"))
            #expect(dryRun.output.contains("timers are due on 1 sub-stream: about "))
            #expect(dryRun.output.contains("urn:health:fixtures:snapshot-timers"))
            #expect(
                dryRun.output.contains(" would be pruned, keeping the latest values of the 2 check states alive then"))
            #expect(lines.last == "nothing was changed (dry run)")
            #expect(try await history(workspace) == before)
        }
    }

    @Test func sweepWithinTheRetentionAndWallTimeNeedsNoConfirmation() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let sweep = try await workspace.run("sweep", "--now", "1700400000")
            #expect(sweep.status == 0)
            #expect(sweep.errors == "")
        }
    }

    @Test func replayUntilFarPastWallTimeNeedsYes() async throws {
        try await Workspace.with { workspace in
            let future = Int(Date().timeIntervalSince1970) + 3 * 86_400
            let replay = try await workspace.run("replay", "--until", String(future), AuditCLI.snapshotTimers)
            #expect(replay.status == 1)
            #expect(replay.errors.contains("after the wall time"))
            #expect(replay.errors.contains("--yes"))
            let streams = try await workspace.run("streams")
            #expect(streams.output == "no streams\n", "nothing was replayed")

            let confirmed = try await workspace.run(
                "replay", "--yes", "--until", String(future), AuditCLI.snapshotTimers)
            #expect(confirmed.status == 0)
            // No error or warning; only the note on the days of late-data timers the jump fired.
            #expect(confirmed.errorLines.allSatisfy { $0.hasPrefix("note: timers fire as the clock passes deadlines") })
        }
    }
}
