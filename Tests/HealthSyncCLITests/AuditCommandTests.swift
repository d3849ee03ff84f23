import Foundation
import Testing

@testable import HealthSyncCLI

/// `healthsync audit`.
@Suite struct AuditCommandTests {
    @Test func auditsPayloadFilesInMemoryLeadingWithWhatNeedsAttention() async throws {
        try await Workspace.with { workspace in
            let audit = try await CLI.run(["audit", "--until", AuditCLI.snapshotTimersUntil, AuditCLI.snapshotTimers])
            #expect(audit.status == 0)
            #expect(audit.errors == "")
            let lines = audit.output.split(separator: "\n").map(String.init)
            #expect(lines.first == "HealthSync audit of \(AuditCLI.snapshotTimers)")
            #expect(lines[3] == "HEALTH AT THE END: 0 CRITICAL, 1 DEVIATING, 1 CLEAR (2 check states)")
            let attention = try #require(lines.firstIndex { $0.hasPrefix("NEEDS ATTENTION") })
            #expect(lines[attention] == "NEEDS ATTENTION (6)")
            #expect(
                lines[attention + 1]
                    == "  CRITICAL  \(AuditCLI.snapshotTimersURN): 1 suspicious deletion (truncated snapshots?): 1 by "
                    + "automatic stop at")
            #expect(lines[attention + 2] == "            2023-11-18T09:36:10Z, back within 1 snapshot")
            #expect(audit.output.contains("SubStreamMissingStop"))
            #expect(audit.output.contains("late windows"))
            #expect(!FileManager.default.fileExists(atPath: workspace.database), "no database is created")
        }
    }

    @Test func auditOfTheDatabaseMatchesTheAuditOfThePayload() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let fromDatabase = try await workspace.run("audit")
            let fromFile = try await CLI.run([
                "audit", "--until", AuditCLI.snapshotTimersUntil, AuditCLI.snapshotTimers,
            ])
            #expect(fromDatabase.status == 0)
            #expect(fromDatabase.output.hasPrefix("HealthSync audit of \(workspace.database)\n"))
            let body = { (text: String) in text.split(separator: "\n").dropFirst().joined(separator: "\n") }
            #expect(body(fromDatabase.output) == body(fromFile.output))
        }
    }

    @Test func jsonReportIsTheAuditReport() async throws {
        let audit = try await CLI.run([
            "audit", "--format", "json", AuditCLI.fixtures + "/audit/01-cadence-and-late-windows/payload.jsonl",
            "--until", "1900100700",
        ])
        #expect(audit.status == 0)
        let document = try AuditCLI.object(audit.output)
        #expect((document["period"] as? [String: Any])?["from"] as? Double == 1_900_100_000)
        let streams = try #require(document["streams"] as? [[String: Any]])
        let sub = try #require((streams.first?["subStreams"] as? [[String: Any]])?.first)
        let cadence = try #require(sub["cadence"] as? [String: Any])
        #expect(cadence["median"] as? Double == 60)
        #expect(cadence["p95"] as? Double == 240)
        #expect((sub["lateWindows"] as? [Any])?.count == 3)
        #expect(document["attention"] is [Any])
        #expect(document["findings"] is [Any])
    }

    @Test func htmlReportGoesToTheOutputFile() async throws {
        try await Workspace.with { workspace in
            let path = workspace.directory.appendingPathComponent("audit.html").path
            let audit = try await CLI.run([
                "audit", "--format", "html", "--output", path, AuditCLI.fixtures + "/audit",
            ])
            #expect(audit.status == 0)
            #expect(audit.output.hasPrefix("wrote the html report to \(path) ("))
            #expect(audit.output.hasSuffix(" need attention\n"))
            let html = try String(contentsOfFile: path, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(html.contains("<title>HealthSync audit — 4 payload files</title>"))
            for urn in ["cadence", "flapping", "truncated", "missing-stop"] {
                #expect(html.contains("urn:health:audit:\(urn)"))
            }
            #expect(!html.contains("<script"))
        }
    }

    @Test func findingsAreListedWithTheirLocation() async throws {
        let audit = try await CLI.run(["audit", AuditCLI.fixtures + "/invalid/03-envelope-rejections"])
        #expect(audit.status == 0, "an audit that ran exits 0 whatever it found")
        #expect(audit.output.contains("FINDINGS (5)"))
        #expect(
            audit.output.contains(
                "rejected  \(AuditCLI.fixtures)/invalid/03-envelope-rejections/payload.jsonl:4: health:"))
    }

    @Test func usageErrors() async throws {
        AuditCLI.expectUsageError(["audit", "--db", "x.sqlite", "payload.json"])
        AuditCLI.expectUsageError(["audit", "--flap-low", "60", "--flap-high", "50"])
        AuditCLI.expectUsageError(["audit", "--flap-high", "101"])
        AuditCLI.expectUsageError(["audit", "--suspicious-within", "0"])
        AuditCLI.expectUsageError(["audit", "--late-grace", "-1"])
        AuditCLI.expectUsageError(["audit", "--format", "pdf"])
        AuditCLI.expectUsageError(["audit", "--start", "1000"])
        try await Workspace.with { workspace in
            let missing = try await workspace.run("audit")
            #expect(missing.status == 2)
            #expect(missing.errors.hasPrefix("error: no database at "))
            let file = workspace.directory.appendingPathComponent("missing.jsonl").path
            let unreadable = try await CLI.run(["audit", file])
            #expect(unreadable.status == 2)
            #expect(unreadable.errors == "error: cannot read \(file): No such file or directory\n")
        }
    }
}

/// `healthsync audit` without `--db` or files, in a real process (it reads the default database of the current
/// directory).
@Suite struct AuditDefaultDatabaseTests {
    @Test func auditWithoutDatabaseOptionAuditsTheDefaultDatabase() async throws {
        try await Workspace.with { workspace in
            let replay = try await Executable.run(
                ["replay", "--until", AuditCLI.snapshotTimersUntil, AuditCLI.snapshotTimers], in: workspace.directory)
            try #require(replay.status == 0, "\(replay.errors)")
            let audit = try await Executable.run(["audit"], in: workspace.directory)
            #expect(audit.status == 0, "\(audit.errors)")
            #expect(audit.errors == "")
            #expect(audit.output.hasPrefix("HealthSync audit of healthsync.sqlite\n"))
        }
    }

    @Test func auditWithoutAnyDatabaseSaysSo() async throws {
        try await Workspace.with { workspace in
            let audit = try await Executable.run(["audit"], in: workspace.directory)
            #expect(audit.status == 2)
            #expect(audit.errors.hasPrefix("error: no database at healthsync.sqlite"))
        }
    }
}
