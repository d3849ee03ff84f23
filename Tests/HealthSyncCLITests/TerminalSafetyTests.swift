import Foundation
import HealthSyncTesting
import Testing

@testable import HealthSyncCLI

/// Check-state names and messages come from remote sources: `state`, `history`, `status` and `audit` print them
/// with their control characters written out, never raw.
@Suite struct TerminalSafetyTests {
    private static let hostile = "ok\u{1B}]0;owned\u{07}\u{1B}[2J\tx"

    /// Whether `text` holds a control character other than a line feed (an escape sequence's start among them).
    private static func hasRawControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
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
            #expect(state.output.contains(#"ok\u{1B}]0;owned\u{7}\u{1B}[2J\tx"#))
            // JSON output escapes them its own way, and keeps the value whole.
            let json = try await workspace.run("state", "--format", "json")
            #expect(!Self.hasRawControl(json.output))
            #expect(json.output.lowercased().contains(#"ok\u001b]0;owned\u0007\u001b[2j\tx"#))
        }
    }
}
