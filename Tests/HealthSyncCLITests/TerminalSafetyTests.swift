import Foundation
import HealthSyncTesting
import Testing

@testable import HealthSyncCLI

/// Check-state names and messages come from remote sources: `state`, `history`, `status` and `audit` print them
/// with their control characters written out, never raw.
@Suite struct TerminalSafetyTests {
    /// What the decoder lets through of a hostile name or message: a tab, an 8-bit CSI and a right-to-left override
    /// (C0 escapes such as ESC are rejected at intake, but may sit in a database written before that rule).
    private static let hostile = "ok\u{9B}2J\u{202E}\tx"

    /// Whether `text` holds a control character other than a line feed (an escape sequence's start among them).
    private static func hasRawControl(_ text: String) -> Bool {
        text.unicodeScalars.contains {
            ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value)
        }
    }

    @Test func tablesAndReportsWriteOutEscapeSequencesFromSources() async throws {
        try await Workspace.with { workspace in
            let urn = "urn:health:hostile:stream"
            let payload = Payload.envelope(
                at: 1_700_000_000,
                [
                    Payload.snapshot(
                        urn,
                        states: [
                            Payload.checkState("c1", health: "CRITICAL", name: Self.hostile, message: Self.hostile)
                        ])
                ])
            let file = try workspace.write("hostile.json", payload)
            let replay = try await workspace.run("replay", file)
            try #require(replay.status == 0, "\(replay.errors)")
            for command in [["state"], ["history", "--urn", urn], ["status", "--urn", urn], ["audit"]] {
                let result = try await CLI.run(command + ["--db", workspace.database])
                #expect(result.status == 0, "\(command): \(result.errors)")
                #expect(!Self.hasRawControl(result.output), "\(command) printed a raw control character")
            }
            let state = try await workspace.run("state")
            #expect(state.output.contains(#"ok\u{9B}2J\u{202E}\tx"#))
            // JSON output keeps the value whole (scripts read it), with the tab escaped as JSON escapes it.
            let json = try await workspace.run("state", "--format", "json")
            #expect(json.output.contains("ok\u{9B}2J\u{202E}\\tx"))
        }
    }
}
