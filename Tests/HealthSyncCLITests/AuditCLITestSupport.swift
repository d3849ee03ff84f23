import ArgumentParser
import Foundation
import Testing

@testable import HealthSyncCLI

/// Paths and payloads shared by the tests of `history`, `state --at`, `diff`, `audit` and event retention.
enum AuditCLI {
    /// The repository's `Fixtures` directory: `../../Fixtures` relative to this file.
    static let fixtures: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
        .path

    /// `Fixtures/scenarios/03-snapshot-timers/payload.jsonl`: repeat 60 from 1700300000 (2023-11-18T09:33:20Z); a
    /// snapshot of a, b, c at +0; one started at +50 carrying only a is stopped automatically at +170 (b and c
    /// deleted); a clean snapshot at +200 brings back b and turns a DEVIATING.
    static var snapshotTimers: String { fixtures + "/scenarios/03-snapshot-timers/payload.jsonl" }

    /// The replay end of ``snapshotTimers``.
    static let snapshotTimersUntil = "1700300330"

    /// The URN of ``snapshotTimers``.
    static let snapshotTimersURN = "urn:health:fixtures:snapshot-timers"

    /// Expects `arguments` to be rejected as a usage error (exit status 2).
    static func expectUsageError(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: (any Error).self, sourceLocation: sourceLocation) {
            try HealthSyncCommand.parseAsRoot(arguments)
        }
        #expect(error.map { HealthSyncCommand.exitStatus(for: $0).rawValue } == 2, sourceLocation: sourceLocation)
    }

    /// A workspace with ``snapshotTimers`` replayed to ``snapshotTimersUntil``.
    static func withSnapshotTimers(_ body: (Workspace) async throws -> Void) async throws {
        try await Workspace.with { workspace in
            let replay = try await workspace.run("replay", "--until", snapshotTimersUntil, snapshotTimers)
            try #require(replay.status == 0, "\(replay.errors)")
            try await body(workspace)
        }
    }

    /// The top-level JSON object of `text`.
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}
