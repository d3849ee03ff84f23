import Foundation
import HealthSync
import HealthSyncSQLite
import Testing

@testable import HealthSyncCLI

/// `healthsync export`.
@Suite struct ExportCommandTests {
    @Test func exportsTheFixtureInEachFormatToStandardOutput() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let openMetrics = try await workspace.run("export", "--format", "openmetrics")
            #expect(openMetrics.status == 0, "\(openMetrics.errors)")
            #expect(openMetrics.errors == "", "no progress line without a terminal")
            let lines = openMetrics.output.split(separator: "\n").map(String.init)
            #expect(
                lines.first == "# HELP healthsync_check_state_health "
                    + "Health of a check state: 0 CLEAR, 1 DEVIATING, 2 CRITICAL, -1 deleted.")
            #expect(lines.last == "# EOF")
            // b and c are deleted by the automatic stop at +170 (2023-11-18T09:36:10Z).
            #expect(lines.contains { $0.contains("check_state=\"b\"") && $0.hasSuffix("} -1 1700300170.000") })
            let influx = try await workspace.run("export", "--format", "influx")
            #expect(influx.status == 0)
            #expect(
                influx.output.split(separator: "\n").allSatisfy {
                    $0.hasPrefix("health,urn=\(AuditCLI.snapshotTimersURN),")
                })
            #expect(!influx.output.contains("sub_stream="), "main is left out")
            let tsdb = try await workspace.run("export", "--format", "opentsdb")
            let points = try #require(
                try JSONSerialization.jsonObject(with: Data(tsdb.output.utf8)) as? [[String: Any]])
            #expect(points.count == influx.output.split(separator: "\n").count)
            #expect(
                points.allSatisfy {
                    ($0["tags"] as? [String: String])?["urn"] == "urn_3Ahealth_3Afixtures_3Asnapshot-timers"
                })
        }
    }

    @Test func writesTheOutputFileWholeAndSaysWhatItWrote() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let path = workspace.directory.appendingPathComponent("health.om").path
            let result = try await workspace.run("export", "--format", "openmetrics", "--output", path)
            #expect(result.status == 0)
            #expect(result.output.hasPrefix("wrote "))
            #expect(result.output.hasSuffix(" to \(path) (openmetrics)\n"))
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text == (try await workspace.run("export", "--format", "openmetrics")).output)
            #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        }
    }

    @Test func sinceAndUntilCutTheRecordAndStartWithTheStateThen() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            // +100: a, b and c exist (CLEAR); the window ends before the automatic stop at +170.
            let result = try await workspace.run(
                "export", "--format", "influx", "--since", "1700300100", "--until", "1700300169")
            #expect(result.status == 0)
            let lines = result.output.split(separator: "\n")
            #expect(lines.count == 3)
            #expect(lines.allSatisfy { $0.hasSuffix(" 1700300100000000000") })
        }
    }

    @Test func refusesUnknownStreamsAndBackwardWindows() async throws {
        try await AuditCLI.withSnapshotTimers { workspace in
            let unknown = try await workspace.run("export", "--format", "influx", "--urn", "urn:health:no:such")
            #expect(unknown.status == 1)
            #expect(unknown.errors == "error: no stream urn:health:no:such\n")
        }
        AuditCLI.expectUsageError(["export", "--format", "influx", "--since", "20", "--until", "10"])
        AuditCLI.expectUsageError(["export", "--format", "csv"])
        AuditCLI.expectUsageError(["export"])
        AuditCLI.expectUsageError(["export", "--format", "influx", "--step", "0"])
    }

    @Test func aMissingDatabaseIsAnError() async throws {
        try await Workspace.with { workspace in
            let result = try await workspace.run("export", "--format", "openmetrics")
            #expect(result.status == 2)
            #expect(result.errors.hasPrefix("error: no database at "))
        }
    }
}
