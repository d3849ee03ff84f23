import ArgumentParser
import Foundation
import GRDB
import HealthSyncSQLite
import Testing

@testable import HealthSyncCLI

@Suite struct ReplayCommandTests {
    @Test func replaysValidFileThenPrintsStateAsExactJSON() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("example.json", Payloads.documentationExample)

            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 0)
            #expect(replay.errors == "")
            #expect(
                replay.output
                    == "1 envelope applied, 0 rejected; check states: 2 created, 0 updated, 0 deleted; 0 errors opened\n"
            )

            let state = try await workspace.run("state", "--format", "json")
            #expect(state.status == 0)
            #expect(
                state.output == """
                    {
                      "checkStates" : [
                        {
                          "checkStateId" : "checkStateId1",
                          "health" : "DEVIATING",
                          "message" : "Server Running out of disk space",
                          "name" : "Disk Usage",
                          "subStreamId" : null,
                          "topologyElementIdentifier" : "server-1",
                          "urn" : "urn:health:sourceId:streamId"
                        },
                        {
                          "checkStateId" : "checkStateId2",
                          "health" : "CRITICAL",
                          "message" : "Provisioning failed. [Learn more](https://www.any-link.com)",
                          "name" : "Health Monitor",
                          "subStreamId" : null,
                          "topologyElementIdentifier" : "server-2",
                          "urn" : "urn:health:sourceId:streamId"
                        }
                      ]
                    }

                    """
            )
        }
    }

    /// The event record's stream index in `path` (its row in the schema, whose id changes when it is built again),
    /// or `nil` when the file has none.
    static func eventIndexRow(in path: String) throws -> Int64? {
        try DatabaseQueue(path: path).read { db in
            try Int64.fetchOne(
                db, sql: "SELECT rowid FROM sqlite_master WHERE type = 'index' AND name = 'event_stream'")
        }
    }

    /// A replay into a new database builds the event record's stream index at its end (a bulk load); one into a
    /// database that holds events keeps the index it found (SQLiteHealthStore+BulkLoad.swift).
    @Test func aReplayLeavesTheEventIndexAndKeepsTheOneItFound() async throws {
        try await Workspace.with { workspace in
            let first = try workspace.write("example.json", Payloads.documentationExample)
            #expect(try await workspace.run("replay", first).status == 0)
            let row = try #require(try Self.eventIndexRow(in: workspace.database), "the index is built at the end")

            let second = try workspace.write("two.json", Payloads.twoStreams)
            #expect(try await workspace.run("replay", second).status == 0)
            #expect(try Self.eventIndexRow(in: workspace.database) == row, "the index was dropped and built again")
            let history = try await workspace.run("history", "--urn", Payloads.urn)
            #expect(history.status == 0 && history.output.contains("checkStateId1"))
        }
    }

    @Test func jsonLinesWithBrokenLineAppliesTheOthersAndReportsItsLine() async throws {
        try await Workspace.with { workspace in
            let lines = [
                Payloads.snapshotLine(at: 1000, urn: "urn:health:a:one", states: [Payloads.checkState("x")]),
                #"{"collection_timestamp": 1010, "health": [{"stream": {"urn": "urn:health:a:two"}, }]}"#,
                Payloads.snapshotLine(at: 1020, urn: "urn:health:a:three", states: [Payloads.checkState("y")]),
            ]
            let file = try workspace.write("batch.jsonl", lines.joined(separator: "\n") + "\n")

            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 1)
            #expect(
                replay.output
                    == "2 envelopes applied, 1 rejected; check states: 2 created, 0 updated, 0 deleted; 0 errors opened\n"
            )
            #expect(replay.errorLines.count == 1)
            #expect(replay.errors.hasPrefix("\(file):2: $: column "))

            let state = try await workspace.run("state", "--format", "json")
            let document = try JSONSerialization.jsonObject(with: Data(state.output.utf8)) as? [String: Any]
            let states = try #require(document?["checkStates"] as? [[String: Any]])
            #expect(states.compactMap { $0["urn"] as? String } == ["urn:health:a:one", "urn:health:a:three"])
        }
    }

    @Test func documentationCurlExampleIsRejectedWithWhereAndWhy() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("curl.json", Payloads.documentationCurlExample)
            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 1)
            #expect(
                replay.output
                    == "0 envelopes applied, 1 rejected; check states: 0 created, 0 updated, 0 deleted; 0 errors opened\n"
            )
            #expect(replay.errorLines.count == 1)
            #expect(
                replay.errors.hasPrefix(
                    "\(file):9: $: column 11: expected ',' or '}' after an object member, found '{'"))
            #expect(replay.errors.contains("documentation defect"))
        }
    }

    @Test func healthAsListOfListsRejectsTheMessage() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("nested.json", Payloads.listOfLists)
            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 1)
            #expect(replay.output.hasSuffix("; 1 message rejected\n"))
            #expect(replay.errors.hasPrefix("\(file):1: health[0]: expected a health message object"))
            #expect(replay.errors.contains("documentation defect"))
        }
    }

    @Test func rejectedMessageFailsTheReplayButItsSiblingsApply() async throws {
        try await Workspace.with { workspace in
            let envelope = """
                {"collection_timestamp": 1000, "health": [{"stream": {}}, \
                {"stream": {"urn": "urn:health:a:ok"}, "start_snapshot": {"repeat_interval_s": 60}, \
                "check_states": [\(Payloads.checkState("x"))], "stop_snapshot": {}}]}
                """
            let file = try workspace.write("envelope.json", envelope)
            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 1)
            #expect(replay.output.contains("1 envelope applied, 0 rejected; check states: 1 created"))
            #expect(replay.output.contains("; 1 message rejected"))
            #expect(replay.errors.hasPrefix("\(file):1: health[0].stream.urn: "))
        }
    }

    @Test func invalidCheckStateIsAWarningNotARejection() async throws {
        try await Workspace.with { workspace in
            let line = Payloads.snapshotLine(
                at: 1000, states: [Payloads.checkState("good"), Payloads.checkState("bad", "PURPLE")])
            let file = try workspace.write("warn.json", line)
            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 0)
            #expect(replay.errors.hasPrefix("warning: \(file):1: health[0].check_states[1].health: "))
            #expect(replay.output.contains("check states: 1 created"))
        }
    }

    @Test(arguments: ["missing.json", "empty-dir"])
    func unreadableFileExitsTwoBeforeApplyingAnything(name: String) async throws {
        try await Workspace.with { workspace in
            let good = try workspace.write("good.json", Payloads.documentationExample)
            let bad = workspace.directory.appendingPathComponent(name).path
            if name == "empty-dir" {
                try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: false)
            }
            let replay = try await workspace.run("replay", good, bad)
            #expect(replay.status == 2)
            #expect(replay.output == "")
            let reason =
                name == "empty-dir" ? "the directory holds no .json or .jsonl file" : "No such file or directory"
            #expect(replay.errors == "error: cannot read \(bad): \(reason)\n")
            #expect(!FileManager.default.fileExists(atPath: workspace.database))
        }
    }

    @Test func databaseInMissingDirectoryExitsTwo() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("example.json", Payloads.documentationExample)
            let database = workspace.directory.appendingPathComponent("nowhere/health.sqlite").path
            let replay = try await CLI.run(["replay", file, "--db", database])
            #expect(replay.status == 2)
            #expect(replay.errors.contains("error: cannot open database \(database): directory "))
            #expect(replay.errors.contains("does not exist"))
        }
    }

    @Test func corruptDatabaseExitsTwo() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("example.json", Payloads.documentationExample)
            _ = try workspace.write("health.sqlite", "not a database")
            let replay = try await workspace.run("replay", file)
            #expect(replay.status == 2)
            #expect(replay.output == "")
            #expect(replay.errors.hasPrefix("error: cannot open database \(workspace.database): "))
        }
    }

    @Test(
        arguments: [
            (nil, "1 error opened"), ("0", "1 error opened"), ("20", "0 errors opened"), ("20s", "0 errors opened"),
            ("9s", "1 error opened"), ("1m", "0 errors opened"),
        ] as [(String?, String)])
    func lateGraceDelaysLateData(grace: String?, errors: String) async throws {
        try await Workspace.with { workspace in
            // REPEAT_STATES at 1000 with a 30 s repeat: late at 1030, or at 1050 with 20 s of grace.
            let file = try workspace.write("states.json", Payloads.repeatStates)
            let options = grace.map { ["--late-grace", $0] } ?? []
            let replay = try await CLI.run(["replay", file, "--until", "1040", "--db", workspace.database] + options)
            #expect(replay.status == 0)
            #expect(replay.output.contains("; \(errors)"))
        }
    }

    @Test func startAdvancesTheClockBeforeTheFirstEnvelope() async throws {
        try await Workspace.with { workspace in
            // An envelope stamped before --start is applied at the clock, not at its own time.
            let file = try workspace.write("states.json", Payloads.repeatStates)
            _ = try await workspace.run("replay", "--start", "1500", file)
            let status = try await workspace.run("status", "--urn", "urn:health:c:states", "--format", "json")
            #expect(status.output.contains("\"lastMessageAt\" : 1500"))
        }
    }

    /// A stream silent for ten repeat intervals fires one late-data timer, and the summary counts the missed periods
    /// in words, with grouped thousands.
    @Test func missedPeriodsAreCountedInWordsNotAsTimers() async throws {
        #expect(ReplayCommand.timers(fired: 3, missedPeriods: 0) == "3 timers fired")
        #expect(
            ReplayCommand.timers(fired: 12, missedPeriods: 567_935)
                == "12 timers fired; late data counted for 567,935 missed periods")
        #expect(
            ReplayCommand.timers(fired: 1, missedPeriods: 1) == "1 timer fired; late data counted for 1 missed period")
        #expect(
            [0, 999, 1_000, 1_234_567, -4_321].map(ReplayCommand.grouped) == [
                "0", "999", "1,000", "1,234,567", "-4,321",
            ])

        try await Workspace.with { workspace in
            // Repeat 300 s (the documentation example's), silent after its one envelope: at +3000 s the late-data
            // deadlines at +300 … +2700 have passed (the one at +3000 is not before the clock).
            let file = try workspace.write("example.json", Payloads.documentationExample)
            let replay = try await workspace.run(
                "replay", file, "--late-grace", "0", "--until", String(Payloads.documentationExampleTime + 3_000))
            #expect(replay.status == 0, "\(replay.errors)")
            #expect(replay.output.contains("1 timer fired; late data counted for 9 missed periods"), "\(replay.output)")
        }
    }

    @Test func untilFiresTheExpiryOfASubStream() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("two.json", Payloads.twoStreams)

            let replay = try await workspace.run("replay", file, "--until", "1970-01-01T00:20:00Z")
            #expect(replay.status == 0)
            #expect(replay.output.contains("check states: 4 created, 0 updated, 2 deleted"))
            #expect(replay.output.contains("timers fired"))

            let state = try await workspace.run("state", "--urn", "urn:health:a:main", "--format", "json")
            #expect(!state.output.contains("\"subStreamId\" : \"eu\""))
            #expect(state.output.contains("\"checkStateId\" : \"m1\""))

            let status = try await workspace.run("status", "--urn", "urn:health:a:main", "--format", "json")
            #expect(status.output.contains("\"code\" : \"SubStreamExpired\""))
        }
    }

    @Test func rerunningAReplaySkipsWhatWasAppliedAndKeepsTheState() async throws {
        try await Workspace.with { workspace in
            let lines = [
                Payloads.snapshotLine(at: 1000, states: [Payloads.checkState("a"), Payloads.checkState("b")]),
                Payloads.snapshotLine(at: 1100, states: [Payloads.checkState("a", "CRITICAL")]),
            ]
            let file = try workspace.write("run.jsonl", lines.joined(separator: "\n"))

            let first = try await workspace.run("replay", file)
            #expect(
                first.output
                    == "2 envelopes applied, 0 rejected; check states: 2 created, 1 updated, 1 deleted; 0 errors opened\n"
            )
            let before = try await workspace.run("state", "--format", "json")

            let second = try await workspace.run("replay", file)
            #expect(second.status == 0)
            #expect(
                second.output
                    == "0 envelopes applied, 0 rejected; check states: 0 created, 0 updated, 0 deleted; 0 errors opened; 2 envelopes skipped as already applied\n"
            )
            let after = try await workspace.run("state", "--format", "json")
            #expect(after.output == before.output)
        }
    }

    @Test func strictModeReportsUnknownKeysAsWarnings() async throws {
        try await Workspace.with { workspace in
            let envelope = """
                {"collection_timestamp": 1000, "surprise": 1, "health": [{"stream": {"urn": "urn:health:a:b"}, \
                "start_snapshot": {"repeat_interval_s": 60}, "check_states": [], "stop_snapshot": {}}]}
                """
            let file = try workspace.write("strict.json", envelope)
            let replay = try await workspace.run("replay", "--strict", file)
            #expect(replay.status == 0)
            #expect(replay.errors.hasPrefix("warning: \(file):1: surprise: "))
        }
    }

    @Test(arguments: [
        ["replay"],
        ["replay", "f.json", "--late-grace", "-1"],
        ["replay", "f.json", "--late-grace", "5 minutes"],
        ["replay", "f.json", "--late-grace", "2w"],
        ["replay", "f.json", "--late-grace", "nan"],
        ["replay", "f.json", "--start", "200", "--until", "100"],
        ["replay", "f.json", "--context-cache=-1"],
        ["replay", "f.json", "--envelopes-per-commit", "0"],
    ])
    func badArgumentsAreUsageErrors(arguments: [String]) throws {
        let error = #expect(throws: (any Error).self) { try HealthSyncCommand.parseAsRoot(arguments) }
        #expect(error.map { HealthSyncCommand.exitStatus(for: $0).rawValue } == 2)
    }

    /// A replay leaves a settled file: the store is closed before the command returns, so its log is checkpointed
    /// and deleted, and a copy of the file or a read-only mount of its directory needs nothing else.
    @Test func aReplayLeavesNoWriteAheadLog() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("example.json", Payloads.documentationExample)
            #expect(try await workspace.run("replay", file).status == 0)
            let left = try FileManager.default.contentsOfDirectory(atPath: workspace.directory.path)
            #expect(!left.contains { $0.hasSuffix("-wal") || $0.hasSuffix("-shm") }, "\(left)")
        }
    }

    /// A bulk load keeps the check states of a capture's streams between its rounds: replay's context cache is larger
    /// than the store's default, and `--context-cache` still sets it.
    @Test func replaysWithALargerContextCacheThanTheStoresDefault() throws {
        let replay = try #require(try HealthSyncCommand.parseAsRoot(["replay", "f.json"]) as? ReplayCommand)
        #expect(replay.cache.contextCache == 250_000)
        #expect(CacheOptions.replayDefault > SQLiteHealthStore.defaultContextCacheCapacity)
        let set = try #require(
            try HealthSyncCommand.parseAsRoot(["replay", "--context-cache", "12", "f.json"]) as? ReplayCommand)
        #expect(set.cache.contextCache == 12)
    }

    @Test func directoryStandsForItsPayloadFilesAndShowStatePrintsTheResult() async throws {
        try await Workspace.with { workspace in
            let folder = workspace.directory.appendingPathComponent("fixtures/one", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Payloads.documentationExample.write(
                to: folder.appendingPathComponent("payload.json"), atomically: true, encoding: .utf8)
            try "not a payload".write(
                to: folder.appendingPathComponent("expected.json"), atomically: true, encoding: .utf8)
            try "ignored".write(to: folder.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
            let root = workspace.directory.appendingPathComponent("fixtures").path
            let replay = try await workspace.run("replay", "--show-state", root)
            #expect(replay.status == 0)
            #expect(replay.errors == "")
            let lines = replay.output.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.first?.hasPrefix("1 envelope applied, 0 rejected") == true)
            #expect(lines.contains { $0.hasPrefix("URN ") && $0.contains("HEALTH") })
            #expect(lines.contains { $0.contains("checkStateId1") && $0.contains("DEVIATING") })
            #expect(lines.contains { $0.contains("checkStateId2") && $0.contains("CRITICAL") })
        }
    }

    @Test func replaysTheSameWithoutTheContextCacheOrWithATinyOne() async throws {
        let lines = (0..<6).map { round in
            Payloads.snapshotLine(
                at: 1000 + 30 * round, urn: "urn:health:a:one",
                states: (0...(round % 3)).map { Payloads.checkState("c\($0)") })
        }
        var outputs: [String] = []
        for cache in ["20000", "0", "1"] {
            let output = try await Workspace.with { workspace in
                let file = try workspace.write("rounds.jsonl", lines.joined(separator: "\n") + "\n")
                let replay = try await workspace.run("replay", "--context-cache", cache, file)
                #expect(replay.status == 0, "\(replay.errors)")
                let state = try await workspace.run("state", "--format", "json")
                return replay.output + state.output
            }
            outputs.append(output)
        }
        #expect(outputs[0].hasPrefix("6 envelopes applied"))
        #expect(outputs[1] == outputs[0])
        #expect(outputs[2] == outputs[0])
    }
}
