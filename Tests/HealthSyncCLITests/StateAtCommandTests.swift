import Foundation
import Testing

@testable import HealthSyncCLI

/// `healthsync state --at`.
@Suite struct StateAtCommandTests {
    /// For times before, at and between the envelopes and timers of the fixture, `state --at T` on the complete
    /// replay prints exactly what `state` prints after a replay of the envelopes up to T with `--until T`.
    @Test(arguments: [
        "1700300000", "1700300030", "1700300050", "1700300100", "1700300170", "1700300170.5", "1700300199",
        "1700300200", "1700300330",
    ])
    func stateAtEqualsAReplayStoppedThere(time: String) async throws {
        let lines = try String(contentsOfFile: AuditCLI.snapshotTimers, encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let stamps = [1_700_300_000.0, 1_700_300_050, 1_700_300_200]
        let limit = try #require(Double(time))
        try await AuditCLI.withSnapshotTimers { complete in
            let travelled = try await complete.run("state", "--at", time, "--format", "json")
            #expect(travelled.status == 0)
            #expect(travelled.errors == "")
            try await Workspace.with { partial in
                let prefix = zip(lines, stamps).filter { $0.1 <= limit }.map(\.0)
                let file = try partial.write("prefix.jsonl", prefix.joined(separator: "\n") + "\n")
                let replay = try await partial.run("replay", "--until", time, file)
                #expect(replay.status == 0)
                let replayed = try await partial.run("state", "--format", "json")
                #expect(travelled.output == replayed.output, "at \(time)")
            }
        }
    }

    @Test func tableHasTheShapeOfState() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let state = try await workspace.run("state", "--at", "2023-11-18T09:35:00Z")
            #expect(state.status == 0)
            #expect(
                state.output == """
                    URN                                  SUB-STREAM  CHECK STATE  HEALTH  NAME     ELEMENT      MESSAGE
                    urn:health:fixtures:snapshot-timers  -           a            CLEAR   check a  urn:host:/a  -
                    urn:health:fixtures:snapshot-timers  -           b            CLEAR   check b  urn:host:/b  -
                    urn:health:fixtures:snapshot-timers  -           c            CLEAR   check c  urn:host:/c  -

                    """)
            let filtered = try await workspace.run(
                "state", "--at", "1700300250", "--urn", AuditCLI.snapshotTimersURN, "--sub-stream", "", "--format",
                "json")
            let document = try AuditCLI.object(filtered.output)
            let states = try #require(document["checkStates"] as? [[String: Any]])
            #expect(states.compactMap { $0["checkStateId"] as? String } == ["a", "b"])
            #expect(states.first?["health"] as? String == "DEVIATING")
        }
    }

    @Test func timeBeforeTheRecordExitsOne() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let state = try await workspace.run("state", "--at", "1700299999")
            #expect(state.status == 1)
            #expect(state.output == "")
            #expect(
                state.errors
                    == "error: --at 2023-11-18T09:33:19Z is before the event record, which starts at "
                    + "2023-11-18T09:33:20Z (older events were pruned or never recorded)\n")
        }
    }

    @Test func timeAfterTheClockIsAnsweredWithANote() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let state = try await workspace.run("state", "--at", "1700309999")
            #expect(state.status == 0)
            #expect(
                state.errors.hasPrefix("note: 2023-11-18T12:19:59Z is after the processor clock (2023-11-18T09:38:50Z)")
            )
            #expect(state.output.contains(" a "))
        }
    }
}
