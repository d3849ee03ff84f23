import Foundation
import HealthSyncTesting
import Testing

@testable import HealthSyncCLI

/// `healthsync replay` as a bulk load (many envelopes per commit) against one envelope per commit
/// (`--envelopes-per-commit 1`, the replay as it was before batching): the same summary, findings and exit status,
/// the same `state`, and the same event record (`history --format json`, sequences and order included).
@Suite struct ReplayBatchDifferentialTests {
    /// What a replay printed and what the database holds after it.
    struct Result: CustomStringConvertible {
        var status: Int32
        var output: String
        var errors: String
        var state: String
        var history: String
        var streams: String

        var description: String { "status \(status)\n\(output)\(errors)" }

        /// Expects every part of `self` to equal `expected`'s, one expectation each.
        func expectEqual(_ expected: Result, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(status == expected.status, comment, sourceLocation: sourceLocation)
            #expect(output == expected.output, comment, sourceLocation: sourceLocation)
            #expect(errors == expected.errors, comment, sourceLocation: sourceLocation)
            #expect(state == expected.state, "state: \(comment)", sourceLocation: sourceLocation)
            #expect(history == expected.history, "history: \(comment)", sourceLocation: sourceLocation)
            #expect(streams == expected.streams, "streams: \(comment)", sourceLocation: sourceLocation)
        }
    }

    /// Replays `arguments` (files and options) into a fresh database with `envelopesPerCommit`, then reads it back;
    /// with `again`, replays the same arguments a second time first and returns what that run printed.
    static func replay(
        _ arguments: [String],
        envelopesPerCommit: Int,
        again: Bool = false,
        files: [(name: String, contents: String)] = []
    ) async throws -> Result {
        try await Workspace.with { workspace in
            var paths: [String: String] = [:]
            for file in files { paths[file.name] = try workspace.write(file.name, file.contents) }
            let resolved = arguments.map { paths[$0] ?? $0 }
            let command = ["replay", "--envelopes-per-commit", String(envelopesPerCommit)] + resolved
            var replay = try await CLI.run(command + ["--db", workspace.database])
            if again { replay = try await CLI.run(command + ["--db", workspace.database]) }
            let state = try await workspace.run("state", "--format", "json")
            let history = try await workspace.run("history", "--format", "json")
            let streams = try await workspace.run("streams", "--format", "json")
            #expect(state.status == 0 && history.status == 0 && streams.status == 0)
            // Findings name the files by path; the workspaces differ.
            let errors = replay.errors.replacingOccurrences(of: workspace.directory.path, with: "WORKSPACE")
            return Result(
                status: replay.status, output: replay.output, errors: errors, state: state.output,
                history: history.output, streams: streams.output)
        }
    }

    @Test(arguments: ["scenarios", "invalid", "audit", ""])
    func batchedReplayOfTheBundledFixturesEqualsOneEnvelopePerCommit(directory: String) async throws {
        let path = directory.isEmpty ? AuditCLI.fixtures : AuditCLI.fixtures + "/" + directory
        let expected = try await Self.replay([path], envelopesPerCommit: 1)
        #expect(expected.history.contains("\"sequence\""))
        for envelopesPerCommit in [256, 3] {
            let actual = try await Self.replay([path], envelopesPerCommit: envelopesPerCommit)
            actual.expectEqual(expected, "\(envelopesPerCommit) envelopes per commit")
        }
    }

    /// A capture with churn, timers (late data, automatic stops, expiry), rejected lines (malformed JSON, a rejected
    /// envelope, rejected messages), envelopes without `collection_timestamp` or earlier than the clock, a day's gap,
    /// and the same file given twice (its second copy skipped by receipt inside the same batches).
    @Test func batchedReplayOfACaptureWithChurnTimersAndRejectionsEqualsOneEnvelopePerCommit() async throws {
        let files = [(name: "capture.jsonl", contents: Self.capture())]
        let arguments = ["--until", "1700200000", "capture.jsonl", "capture.jsonl"]
        let expected = try await Self.replay(arguments, envelopesPerCommit: 1, files: files)
        #expect(expected.status == 1, "the capture has rejections")
        #expect(expected.output.contains("timers fired"), "\(expected)")
        #expect(expected.output.contains("envelopes skipped as already applied"), "\(expected)")
        for envelopesPerCommit in [256, 7] {
            let actual = try await Self.replay(arguments, envelopesPerCommit: envelopesPerCommit, files: files)
            actual.expectEqual(expected, "\(envelopesPerCommit) envelopes per commit")
        }
    }

    /// A batched replay run again skips every envelope by its receipt and changes nothing, and receipts are the same
    /// whichever way a replay commits: a replay committing one envelope at a time skips what a batched one applied.
    @Test func rerunningABatchedReplaySkipsEverythingWhicheverWayItCommits() async throws {
        let capture = Self.capture()
        let once = try await Self.replay(
            ["capture.jsonl"], envelopesPerCommit: 256, files: [("capture.jsonl", capture)])
        for envelopesPerCommit in [256, 1] {
            try await Workspace.with { workspace in
                let file = try workspace.write("capture.jsonl", capture)
                let first = try await workspace.run("replay", "--envelopes-per-commit", "256", file)
                #expect(first.output == once.output)
                let again = try await workspace.run(
                    "replay", "--envelopes-per-commit", String(envelopesPerCommit), file)
                // Only the lines rejected as a whole are rejected again; every envelope is skipped.
                let applied = try #require(once.output.firstMatch(of: /^([0-9]+) envelopes applied, ([0-9]+) rejected/))
                #expect(
                    again.output == "0 envelopes applied, \(applied.output.2) rejected; check states: 0 created, "
                        + "0 updated, 0 deleted; 0 errors opened; \(applied.output.1) envelopes skipped as already "
                        + "applied\n")
                #expect(try await workspace.run("state", "--format", "json").output == once.state)
                #expect(try await workspace.run("history", "--format", "json").output == once.history)
            }
        }
    }

    /// ``ReplayCrashTests/capture(envelopes:seed:)`` with lines that exercise the rest of a replay mixed in.
    static func capture() -> String {
        var lines = ReplayCrashTests.capture(envelopes: 240, seed: 1_915).split(separator: "\n").map(String.init)
        let urn = "urn:health:differential:extra"
        // A broken line, a rejected envelope and an envelope with rejected messages.
        lines.insert(#"{"collection_timestamp": 1700000100, "health": [{"stream": }]}"#, at: 10)
        lines.insert(#"{"collection_timestamp": "soon", "health": []}"#, at: 20)
        lines.insert(
            Payload.envelope(
                at: 1_700_000_700,
                [
                    Payload.snapshot(urn, repeatInterval: 60, states: [Payload.checkState("x")]),
                    #""not a message""#, #"{"check_states": []}"#,
                ]), at: 30)
        // No collection timestamp (applied at the clock), and one earlier than the clock.
        lines.insert(Payload.envelope([Payload.snapshot(urn, states: [Payload.checkState("y")])]), at: 40)
        lines.insert(
            Payload.envelope(at: 1_699_999_000, [Payload.snapshot(urn, states: [Payload.checkState("z")])]), at: 50)
        // A sub-stream that goes silent: late data, then expiry.
        lines.insert(
            Payload.envelope(
                at: 1_700_001_000,
                [Payload.snapshot(urn, subStream: "edge", repeatInterval: 30, expiryInterval: 600, states: [])]),
            at: 60)
        // A day later, with every timer due in between.
        lines.append(
            Payload.envelope(
                at: 1_700_090_000, [Payload.snapshot(urn, states: [Payload.checkState("y", health: "CRITICAL")])]))
        return lines.joined(separator: "\n") + "\n"
    }
}
