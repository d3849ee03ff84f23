import ArgumentParser
import Foundation
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

@testable import HealthSyncCLI

/// `healthsync copy`: a store copied answers every reading command byte for byte as the original, goes on as the
/// original would (open snapshots, receipts), and a destination that holds anything is refused unchanged.
@Suite struct CopyCommandTests {
    static let urn = AuditCLI.snapshotTimersURN

    /// The readings compared between a store and its copy, `urn` a stream it holds.
    static func readings(urn: String = urn) -> [[String]] {
        [
            ["state"],
            ["state", "--format", "json"],
            ["state", "--at", AuditCLI.snapshotTimersUntil, "--urn", urn],
            ["streams"],
            ["streams", "--format", "json"],
            ["history"],
            ["history", "--format", "json"],
            ["history", "--urn", urn, "--newest", "--limit", "5"],
            ["status", "--urn", urn],
            ["status", "--urn", urn, "--format", "json"],
        ]
    }

    /// Runs `arguments` on `database`, with the database's names (given and shown) spelled `<db>`.
    static func run(_ arguments: [String], on database: String) async throws -> CLIResult {
        var result = try await CLI.run(arguments + ["--db", database])
        for name in [database, DatabaseOptions.displayName(of: database)] {
            result.output = result.output.replacingOccurrences(of: name, with: "<db>")
            result.errors = result.errors.replacingOccurrences(of: name, with: "<db>")
        }
        return result
    }

    /// Expects every reading of `copy` to equal the reading of `original`, output, diagnostics and status.
    static func expectSameReadings(
        _ copy: String, _ original: String, urn: String = urn, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for arguments in readings(urn: urn) {
            let expected = try await run(arguments, on: original)
            let copied = try await run(arguments, on: copy)
            #expect(expected.status == 0, "\(arguments): \(expected.errors)", sourceLocation: sourceLocation)
            #expect(!expected.output.isEmpty, "\(arguments) printed nothing", sourceLocation: sourceLocation)
            #expect(copied.status == expected.status, "\(arguments)", sourceLocation: sourceLocation)
            #expect(copied.output == expected.output, "\(arguments)", sourceLocation: sourceLocation)
            #expect(copied.errors == expected.errors, "\(arguments)", sourceLocation: sourceLocation)
        }
    }

    static func copy(from source: String, to destination: String, pageSize: Int? = nil) async throws -> CLIResult {
        try await CLI.run(
            ["copy", "--from", source, "--to", destination] + (pageSize.map { ["--page-size", "\($0)"] } ?? []))
    }

    /// A workspace whose database holds every scenario replayed.
    static func withScenarios(_ body: (Workspace) async throws -> Void) async throws {
        try await Workspace.with { workspace in
            let replay = try await workspace.run("replay", AuditCLI.fixtures + "/scenarios")
            try #require(replay.status == 0, "\(replay.errors)")
            try await body(workspace)
        }
    }

    @Test func aCopyAnswersEveryReadingAsTheOriginal() async throws {
        try await Self.withScenarios { workspace in
            let copy = workspace.directory.appendingPathComponent("copy.sqlite").path
            // Small pages: every kind of record crosses pages.
            let result = try await Self.copy(from: workspace.database, to: copy, pageSize: 7)
            #expect(result.status == 0, "\(result.errors)")
            #expect(
                result.output.hasPrefix(
                    "copied 16 streams, 12 sub-streams, 27 check states, 27 errors, 328 events and 62 receipts from "
                        + "\(workspace.database) to \(copy) in "), "\(result.output)")
            #expect(result.errors.isEmpty, "no progress line off a terminal for fewer events than a line stands for")
            try await Self.expectSameReadings(copy, workspace.database)
            // A bulk load into a new file: the event index, deferred, is built at the end.
            #expect(try ReplayCommandTests.eventIndexRow(in: copy) != nil)
        }
    }

    @Test func aReplayIntoTheCopySkipsWhatTheOriginalApplied() async throws {
        try await Self.withScenarios { workspace in
            let copy = workspace.directory.appendingPathComponent("copy.sqlite").path
            #expect(try await Self.copy(from: workspace.database, to: copy).status == 0)
            let again = ["replay", AuditCLI.fixtures + "/scenarios"]
            let original = try await Self.run(again, on: workspace.database)
            let copied = try await Self.run(again, on: copy)
            #expect(copied.output == original.output)
            #expect(copied.output.hasPrefix("0 envelopes applied"), "\(copied.output)")
            #expect(copied.output.contains("62 envelopes skipped as already applied"), "\(copied.output)")
            try await Self.expectSameReadings(copy, workspace.database)
        }
    }

    @Test func anOpenSnapshotAndItsSeenSetSurviveTheCopy() async throws {
        try await Workspace.with { workspace in
            let urn = "urn:health:copy:open-snapshot"
            let states = ["a", "b", "c"].map { Payload.checkState($0, health: "DEVIATING") }
            // A snapshot of a, b and c, then one started that has seen a and b and is not stopped.
            let started = try workspace.write(
                "started.json",
                Payload.envelope(
                    at: 1_700_000_000,
                    [
                        Payload.snapshot(urn, repeatInterval: 300, states: states),
                        Payload.snapshot(urn, repeatInterval: 300, stop: false, states: Array(states.prefix(2))),
                    ]))
            let stopped = try workspace.write(
                "stopped.json",
                Payload.envelope(
                    at: 1_700_000_100, [Payload.snapshot(urn, repeatInterval: 300, start: false, states: [])]))
            #expect(try await workspace.run("replay", started).status == 0)
            let copy = workspace.directory.appendingPathComponent("copy.sqlite").path
            #expect(try await Self.copy(from: workspace.database, to: copy).status == 0)

            let original = try await Self.run(["replay", stopped], on: workspace.database)
            let copied = try await Self.run(["replay", stopped], on: copy)
            #expect(original.status == 0)
            #expect(copied.output == original.output)
            // The stop deletes c, which the open snapshot had not seen.
            #expect(original.output.contains("1 deleted"), "\(original.output)")
            let state = try await Self.run(["state", "--urn", urn], on: copy)
            #expect(!state.output.contains("check c"), "\(state.output)")
            #expect(state.output.contains("check a"), "\(state.output)")
            try await Self.expectSameReadings(copy, workspace.database, urn: urn)
        }
    }

    @Test func aDestinationThatHoldsAnythingIsRefusedAndLeftAsItWas() async throws {
        try await Self.withScenarios { workspace in
            let other = workspace.directory.appendingPathComponent("other.sqlite").path
            let replay = try await Self.run(["replay", AuditCLI.snapshotTimers], on: other)
            #expect(replay.status == 0)
            let before = try await Self.run(["history", "--format", "json"], on: other)

            let result = try await Self.copy(from: workspace.database, to: other)
            #expect(result.status == 1)
            #expect(result.output.isEmpty)
            #expect(
                result.errors
                    == "error: \(other) holds 1 stream: copy needs an empty store; name another --to, or empty it "
                    + "first\n")
            #expect(try await Self.run(["history", "--format", "json"], on: other).output == before.output)
            #expect(try await Self.run(["streams"], on: other).output.contains(Self.urn))
        }
    }

    @Test func theSameDatabaseTwiceIsAUsageError() throws {
        AuditCLI.expectUsageError(["copy", "--from", "a.sqlite", "--to", "./a.sqlite"])
        AuditCLI.expectUsageError(["copy", "--from", "postgres://u:x@h/d", "--to", "postgres://u:y@h/d"])
        AuditCLI.expectUsageError(["copy", "--from", "a.sqlite", "--to", "b.sqlite", "--page-size", "0"])
        #expect(throws: Never.self) { try HealthSyncCommand.parseAsRoot(["copy", "--from", "a", "--to", "b"]) }
    }

    @Test func aSourceHeldByAWriterIsRefused() async throws {
        try await Self.withScenarios { workspace in
            let console = Console(output: CapturedOutput(), errors: CapturedOutput())
            let lock = try WriterLock.acquire(database: workspace.database, command: "serve", console: console)
            defer { withExtendedLifetime(lock) {} }
            let copy = workspace.directory.appendingPathComponent("copy.sqlite").path
            let result = try await Self.copy(from: workspace.database, to: copy)
            #expect(result.status == 2)
            #expect(result.errors.contains("is held by healthsync serve"), "\(result.errors)")
            #expect(!FileManager.default.fileExists(atPath: copy), "nothing was created")
        }
    }
}

/// `healthsync copy` between SQLite and PostgreSQL: a store moved to PostgreSQL and back answers as the original.
@Suite(.enabled(if: PostgresTestDatabase.isEnabled, PostgresTestDatabase.skipReason))
struct PostgresCopyCommandTests {
    @Test func aStoreMovedToPostgreSQLAndBackAnswersAsTheOriginal() async throws {
        try await CopyCommandTests.withScenarios { workspace in
            try await PostgresTestDatabase.withDatabase { url in
                let redacted = DatabaseOptions.displayName(of: url)
                let there = try await CopyCommandTests.copy(from: workspace.database, to: url, pageSize: 10)
                #expect(there.status == 0, "\(there.errors)")
                #expect(there.output.contains(" to \(redacted) in "), "\(there.output)")
                try await CopyCommandTests.expectSameReadings(url, workspace.database)

                let back = workspace.directory.appendingPathComponent("back.sqlite").path
                let result = try await CopyCommandTests.copy(from: url, to: back, pageSize: 10)
                #expect(result.status == 0, "\(result.errors)")
                #expect(result.output.contains("from \(redacted) to \(back) in "), "\(result.output)")
                try await CopyCommandTests.expectSameReadings(back, workspace.database)

                // The receipts went there and back: a replay into either skips every envelope.
                let again = ["replay", AuditCLI.fixtures + "/scenarios"]
                let original = try await CopyCommandTests.run(again, on: workspace.database)
                #expect(try await CopyCommandTests.run(again, on: url).output == original.output)
                #expect(try await CopyCommandTests.run(again, on: back).output == original.output)
                #expect(original.output.hasPrefix("0 envelopes applied"))

                // PostgreSQL holds the store now: a second copy into it is refused, without the password.
                let refused = try await CopyCommandTests.copy(from: back, to: url)
                #expect(refused.status == 1)
                #expect(refused.errors.hasPrefix("error: \(redacted) holds 16 streams"), "\(refused.errors)")
                for output in [there.output, there.errors, result.output, result.errors, refused.errors] {
                    #expect(!output.contains(url), "the URL with its password never appears")
                }
            }
        }
    }

    @Test func newEventsInTheCopyFollowTheCopiedSequences() async throws {
        try await CopyCommandTests.withScenarios { workspace in
            try await PostgresTestDatabase.withDatabase { url in
                #expect(try await CopyCommandTests.copy(from: workspace.database, to: url).status == 0)
                // The same new envelope into both: the same events, with the same sequence numbers.
                let next = try workspace.write(
                    "next.json",
                    Payload.envelope(
                        at: 1_800_000_000,
                        [Payload.snapshot("urn:health:copy:next", states: [Payload.checkState("x")])]))
                for database in [workspace.database, url] {
                    #expect(try await CopyCommandTests.run(["replay", next], on: database).status == 0)
                }
                let expected = try await CopyCommandTests.run(["history", "--format", "json"], on: workspace.database)
                let copied = try await CopyCommandTests.run(["history", "--format", "json"], on: url)
                #expect(copied.output == expected.output)
            }
        }
    }
}
