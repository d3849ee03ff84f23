import ArgumentParser
import Foundation
import Testing

@testable import HealthSyncCLI

/// `state`, `streams` and `status`.
@Suite struct InspectionCommandTests {
    /// A workspace with ``Payloads/twoStreams`` replayed.
    private func withTwoStreams(_ body: (Workspace) async throws -> Void) async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("two.json", Payloads.twoStreams)
            let replay = try await workspace.run("replay", file)
            try #require(replay.status == 0, "\(replay.errors)")
            try await body(workspace)
        }
    }

    @Test func stateTableIsAlignedWithDashesForAbsentValues() async throws {
        try await withTwoStreams { workspace in
            let state = try await workspace.run("state")
            #expect(state.status == 0)
            #expect(
                state.output == """
                    URN                SUB-STREAM  CHECK STATE  HEALTH     NAME      ELEMENT     MESSAGE
                    urn:health:a:main  -           m1           CLEAR      check m1  element-m1  -
                    urn:health:a:main  eu          e1           CRITICAL   check e1  element-e1  down
                    urn:health:a:main  eu          e2           CLEAR      check e2  element-e2  -
                    urn:health:b:ti    -           t1           DEVIATING  check t1  element-t1  -

                    """
            )
        }
    }

    @Test func stateFiltersByStreamAndSubStream() async throws {
        try await withTwoStreams { workspace in
            let eu = try await workspace.run(
                "state", "--urn", "urn:health:a:main", "--sub-stream", "eu", "--format", "json")
            #expect(eu.output.components(separatedBy: "\"checkStateId\"").count - 1 == 2)
            #expect(!eu.output.contains("\"m1\""))

            let main = try await workspace.run(
                "state", "--urn", "urn:health:a:main", "--sub-stream", "", "--format", "json")
            #expect(main.output.contains("\"checkStateId\" : \"m1\""))
            #expect(!main.output.contains("\"eu\""))

            let none = try await workspace.run("state", "--urn", "urn:health:x:unknown")
            #expect(none.status == 1)
            #expect(none.errors == "error: no stream urn:health:x:unknown\n")
        }
    }

    @Test func stateOfMissingDatabaseExitsTwo() async throws {
        try await Workspace.with { workspace in
            let state = try await workspace.run("state")
            #expect(state.status == 2)
            #expect(state.errors.hasPrefix("error: no database at \(workspace.database)"))
            #expect(!FileManager.default.fileExists(atPath: workspace.database))
        }
    }

    @Test func streamsJSONListsModelsAndCounts() async throws {
        try await withTwoStreams { workspace in
            let streams = try await workspace.run("streams", "--format", "json")
            #expect(streams.status == 0)
            #expect(
                streams.output == """
                    {
                      "clock" : 1000,
                      "streams" : [
                        {
                          "checkStateCount" : 3,
                          "consistencyModel" : "REPEAT_SNAPSHOTS",
                          "subStreamCount" : 2,
                          "urn" : "urn:health:a:main"
                        },
                        {
                          "checkStateCount" : 1,
                          "consistencyModel" : "TRANSACTIONAL_INCREMENTS",
                          "subStreamCount" : 1,
                          "urn" : "urn:health:b:ti"
                        }
                      ]
                    }

                    """
            )
        }
    }

    @Test func streamsTable() async throws {
        try await withTwoStreams { workspace in
            let streams = try await workspace.run("streams")
            #expect(
                streams.output == """
                    URN                MODEL                     SUB-STREAMS  CHECK STATES
                    urn:health:a:main  REPEAT_SNAPSHOTS          2            3
                    urn:health:b:ti    TRANSACTIONAL_INCREMENTS  1            1

                    processor clock  1970-01-01T00:16:40Z (timers due before it have fired)

                    """
            )
        }
    }

    @Test func statusJSONHasNullSubStreamIdForMainAndExplicitNulls() async throws {
        try await withTwoStreams { workspace in
            let status = try await workspace.run("status", "--urn", "urn:health:a:main", "--format", "json")
            #expect(status.status == 0)
            #expect(
                status.output == """
                    {
                      "clock" : 1000,
                      "consistencyModel" : "REPEAT_SNAPSHOTS",
                      "errors" : [

                      ],
                      "subStreams" : [
                        {
                          "checkStateCount" : 1,
                          "checkpoint" : null,
                          "deadlines" : {
                            "checkStateExpiry" : null,
                            "expiry" : null,
                            "lateData" : 2800,
                            "missingStop" : null,
                            "silence" : null
                          },
                          "errors" : [

                          ],
                          "expiryIntervalS" : null,
                          "lastMessageAt" : 1000,
                          "metrics" : {
                            "averageLatencyS" : 0,
                            "creates" : 1,
                            "deletes" : 0,
                            "lastLatencyS" : 0,
                            "messages" : 1,
                            "updates" : 0
                          },
                          "nextDeadline" : 2800,
                          "repeatIntervalS" : 1800,
                          "snapshotOpen" : false,
                          "snapshotStartedAt" : null,
                          "subStreamId" : null
                        },
                        {
                          "checkStateCount" : 2,
                          "checkpoint" : null,
                          "deadlines" : {
                            "checkStateExpiry" : null,
                            "expiry" : 1120,
                            "lateData" : 1060,
                            "missingStop" : null,
                            "silence" : null
                          },
                          "errors" : [

                          ],
                          "expiryIntervalS" : 120,
                          "lastMessageAt" : 1000,
                          "metrics" : {
                            "averageLatencyS" : 0,
                            "creates" : 2,
                            "deletes" : 0,
                            "lastLatencyS" : 0,
                            "messages" : 1,
                            "updates" : 0
                          },
                          "nextDeadline" : 1060,
                          "repeatIntervalS" : 60,
                          "snapshotOpen" : false,
                          "snapshotStartedAt" : null,
                          "subStreamId" : "eu"
                        }
                      ],
                      "urn" : "urn:health:a:main"
                    }

                    """
            )
        }
    }

    @Test func statusJSONOfTransactionalIncrementsHasCheckpointAndNoIntervals() async throws {
        try await withTwoStreams { workspace in
            let status = try await workspace.run("status", "--urn", "urn:health:b:ti", "--format", "json")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
            let subStreams = try #require(document["subStreams"] as? [[String: Any]])
            let main = try #require(subStreams.first)
            #expect(subStreams.count == 1)
            #expect(main["subStreamId"] is NSNull)
            #expect(main["repeatIntervalS"] is NSNull)
            #expect(main["expiryIntervalS"] is NSNull)
            let checkpoint = try #require(main["checkpoint"] as? [String: Any])
            #expect(checkpoint["offset"] as? Int == 7)
            #expect(checkpoint["batchIndex"] is NSNull)
            #expect(document["consistencyModel"] as? String == "TRANSACTIONAL_INCREMENTS")
        }
    }

    @Test func statusJSONErrorsHaveTheContractShape() async throws {
        try await withTwoStreams { workspace in
            // At 2000 the sub-stream eu has expired (stream-level error naming it), and check states outside a
            // snapshot raise an error on the main sub-stream.
            let file = try workspace.write("outside.json", Payloads.outsideSnapshot)
            _ = try await workspace.run("replay", file)
            let status = try await workspace.run("status", "--urn", "urn:health:a:main", "--format", "json")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
            #expect(Set(document.keys) == ["urn", "consistencyModel", "clock", "errors", "subStreams"])
            let errorKeys: Set<String> = [
                "code", "level", "message", "count", "subStreamId", "firstSeenAt", "lastSeenAt",
            ]

            let streamErrors = try #require(document["errors"] as? [[String: Any]])
            let expired = try #require(streamErrors.first)
            #expect(streamErrors.count == 1)
            #expect(Set(expired.keys) == errorKeys)
            #expect(expired["code"] as? String == "SubStreamExpired")
            #expect(expired["subStreamId"] as? String == "eu")
            #expect(expired["firstSeenAt"] as? Double == 1120)

            let subStreams = try #require(document["subStreams"] as? [[String: Any]])
            let main = try #require(subStreams.first)
            #expect(subStreams.count == 1)
            #expect(
                Set(main.keys) == [
                    "subStreamId", "checkStateCount", "repeatIntervalS", "expiryIntervalS", "snapshotOpen",
                    "snapshotStartedAt", "checkpoint", "lastMessageAt", "nextDeadline", "deadlines", "metrics",
                    "errors",
                ])
            let errors = try #require(main["errors"] as? [[String: Any]])
            let outside = try #require(errors.first)
            #expect(errors.count == 1)
            #expect(Set(outside.keys) == errorKeys)
            #expect(outside["code"] as? String == "SubStreamCheckStateOutsideSnapshot")
            #expect(outside["level"] as? String == "ERROR")
            #expect(outside["count"] as? Int == 1)
            #expect(outside["subStreamId"] is NSNull)
            #expect(outside["firstSeenAt"] as? Double == 2000)
            #expect(outside["lastSeenAt"] as? Double == 2000)
            #expect(outside["message"] is String)
        }
    }

    @Test func statusWithSubStreamShowsOnlyThatSubStream() async throws {
        try await withTwoStreams { workspace in
            let status = try await workspace.run(
                "status", "--urn", "urn:health:a:main", "--sub-stream", "eu", "--format", "json")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
            let subStreams = try #require(document["subStreams"] as? [[String: Any]])
            #expect(subStreams.map { $0["subStreamId"] as? String } == ["eu"])

            let unknown = try await workspace.run("status", "--urn", "urn:health:a:main", "--sub-stream", "us")
            #expect(unknown.status == 1)
            #expect(unknown.errors == "error: stream urn:health:a:main has no sub-stream us\n")
        }
    }

    @Test func statusTableShowsSubStreamsMetricsAndErrors() async throws {
        try await withTwoStreams { workspace in
            let status = try await workspace.run("status", "--urn", "urn:health:a:main")
            #expect(status.status == 0)
            let lines = status.output.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.first == "stream  urn:health:a:main")
            #expect(lines.contains("model   REPEAT_SNAPSHOTS"))
            #expect(
                lines.contains {
                    $0.hasPrefix("SUB-STREAM  CHECK STATES  REPEAT  EXPIRY  SNAPSHOT  CHECKPOINT  LAST MESSAGE")
                })
            #expect(
                lines.contains {
                    $0.hasPrefix("eu          2             60s     120s    closed    -           1970-01-01T00:16:40Z")
                })
            #expect(lines.contains("no open errors"))
            let titles = ["Sub-streams", "Messages and changes since each sub-stream was created"]
            for (title, header) in zip(titles, ["SUB-STREAM  CHECK STATES", "SUB-STREAM  MESSAGES"]) {
                let index = try #require(lines.firstIndex(of: Substring(title)), "table titled \(title)")
                #expect(lines[index + 1].hasPrefix(header), "\(title) is the title of its table")
            }
        }
    }

    @Test func statusOfUnknownStreamExitsOne() async throws {
        try await withTwoStreams { workspace in
            for format in ["table", "json"] {
                let status = try await workspace.run("status", "--urn", "urn:health:x:unknown", "--format", format)
                #expect(status.status == 1)
                #expect(status.output == "")
                #expect(status.errors == "error: no stream urn:health:x:unknown\n")
            }
        }
    }

    @Test(arguments: [["status"], ["status", "--urn", "u", "--format", "yaml"]])
    func badStatusArgumentsAreUsageErrors(arguments: [String]) throws {
        let error = #expect(throws: (any Error).self) { try HealthSyncCommand.parseAsRoot(arguments) }
        #expect(error.map { HealthSyncCommand.exitStatus(for: $0).rawValue } == 2)
    }
}

/// `--db` mistakes.
@Suite struct DatabaseOptionTests {
    @Test func databaseNamingADirectorySaysSo() async throws {
        try await Workspace.with { workspace in
            let result = try await CLI.run(["streams", "--db", workspace.directory.path])
            #expect(result.status == 2)
            #expect(
                result.errors
                    == "error: cannot open database \(workspace.directory.path): it is a directory; --db names the "
                    + "database file (such as \(workspace.directory.path)/healthsync.sqlite)\n")
        }
    }
}
