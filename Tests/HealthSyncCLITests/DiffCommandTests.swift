import Foundation
import Testing

@testable import HealthSyncCLI

/// `healthsync diff`.
@Suite struct DiffCommandTests {
    @Test func listsRemovedWithCauseAndChangedWithOldAndNewHealth() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            // At +100: a, b, c CLEAR. At +250: a DEVIATING (updated at +200), b back with the same values, c
            // deleted by the automatic stop at +170.
            let diff = try await workspace.run(
                "diff", "--urn", AuditCLI.snapshotTimersURN, "--from", "1700300100", "--to", "1700300250")
            #expect(diff.status == 0)
            let lines = diff.output.split(separator: "\n").map(String.init)
            #expect(
                lines.first
                    == "from 2023-11-18T09:35:00Z to 2023-11-18T09:37:30Z: 0 added, 1 removed, 1 changed")
            #expect(lines.count == 4)
            let removed = try #require(lines.first { $0.hasPrefix("removed") })
            #expect(removed.contains("  c  "))
            #expect(removed.contains("deleted by automatic stop at 2023-11-18T09:36:10Z"))
            let changed = try #require(lines.first { $0.hasPrefix("changed") })
            #expect(changed.contains("CLEAR → DEVIATING"))
            #expect(changed.contains("updated 2023-11-18T09:36:40Z"))
        }
    }

    @Test func jsonDocument() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let diff = try await workspace.run(
                "diff", "--urn", AuditCLI.snapshotTimersURN, "--from", "1700300000", "--to", "1700300330", "--format",
                "json")
            #expect(diff.status == 0)
            let document = try AuditCLI.object(diff.output)
            #expect(document["urn"] as? String == AuditCLI.snapshotTimersURN)
            #expect(document["subStreamId"] is NSNull)
            #expect(document["from"] as? Double == 1_700_300_000)
            #expect((document["added"] as? [Any])?.isEmpty == true)
            let removed = try #require(document["removed"] as? [[String: Any]])
            #expect(removed.count == 1)
            #expect((removed.first?["checkState"] as? [String: Any])?["checkStateId"] as? String == "c")
            #expect(removed.first?["reason"] as? String == "automaticStop")
            #expect(removed.first?["removedAt"] as? Double == 1_700_300_170)
            let changed = try #require(document["changed"] as? [[String: Any]])
            #expect(changed.first?["changedFields"] as? [String] == ["health"])
            #expect((changed.first?["before"] as? [String: Any])?["health"] as? String == "CLEAR")
            #expect((changed.first?["after"] as? [String: Any])?["health"] as? String == "DEVIATING")
        }
    }

    @Test func nothingChangedAndAddedCheckStates() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let same = try await workspace.run(
                "diff", "--urn", AuditCLI.snapshotTimersURN, "--from", "1700300010", "--to", "1700300100")
            #expect(same.output.hasSuffix(": 0 added, 0 removed, 0 changed\nno changes\n"))
            let added = try await workspace.run(
                "diff", "--urn", AuditCLI.snapshotTimersURN, "--from", "1700300180", "--to", "1700300200")
            #expect(added.output.contains("1 added"))
            #expect(added.output.contains("added    -           b"))
        }
    }

    @Test func toMustNotBeBeforeFromAndFromMustBeInTheRecord() async throws {
        AuditCLI.expectUsageError(["diff", "--urn", "u", "--from", "2000", "--to", "1000"])
        AuditCLI.expectUsageError(["diff", "--from", "1000", "--to", "2000"])
        try await AuditCLI.withSnapshotTimers { workspace in
            let early = try await workspace.run(
                "diff", "--urn", AuditCLI.snapshotTimersURN, "--from", "1000", "--to", "1700300100")
            #expect(early.status == 1)
            #expect(early.errors.hasPrefix("error: --from 1970-01-01T00:16:40Z is before the event record"))
        }
    }
}
