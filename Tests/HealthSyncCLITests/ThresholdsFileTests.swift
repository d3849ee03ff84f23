import Foundation
import HealthSync
import HealthSyncHTTP
import Testing

@testable import HealthSyncCLI

/// `serve --thresholds FILE` (YAML or JSON) and `--metrics-interval`.
@Suite struct ThresholdsFileTests {
    @Test func readsYAMLAndJSONIntoTheTranslation() async throws {
        try await Workspace.with { workspace in
            let yaml = try workspace.write(
                "thresholds.yaml",
                """
                API Gateway:
                  error_rate: {degraded: 2, partial_outage: 5}
                  response_time_ms:
                    major_outage: 20000
                """)
            let (configuration, status, errors) = try await ServeCommandTests.configuration([
                "--api-key", "k", "--thresholds", yaml, "--metrics-interval", "30", "--reporter-dead-grace", "5",
            ])
            #expect(status == 0, "\(errors)")
            let translation = try #require(configuration?.metricReports)
            #expect(translation.interval == 30 && translation.grace == 5)
            #expect(
                translation.levels(of: .errorRate, for: "api-gateway")
                    == MetricLevels(degraded: 2, partialOutage: 5, majorOutage: 50))
            #expect(
                translation.levels(of: .responseTimeMs, for: "API Gateway")
                    == MetricLevels(degraded: 1_000, partialOutage: 3_000, majorOutage: 20_000))
            #expect(
                translation.levels(of: .cpuPercent, for: "API Gateway")
                    == MetricTranslation.defaultThresholds[.cpuPercent])

            let json = try workspace.write(
                "thresholds.json", "{\n\t\"Billing\": {\"cpu_percent\": {\"degraded\": 50.5}}\n}\n")
            let fromJSON = try await ServeCommandTests.configuration(["--api-key", "k", "--thresholds", json])
            #expect(fromJSON.status == 0, "\(fromJSON.errors)")
            #expect(fromJSON.0?.metricReports.levels(of: .cpuPercent, for: "billing").degraded == 50.5)
        }
    }

    @Test(arguments: [
        (
            "t.yaml", "API Gateway:\n  error_rate:\n    degraded: high\n",
            "t.yaml:3: API Gateway.error_rate.degraded: expected a number ≥ 0, found high"
        ),
        ("t.yaml", "API Gateway:\n  queue_depth:\n    degraded: 1\n", "t.yaml:2: API Gateway: expected a metric"),
        (
            "t.yaml", "API Gateway:\n  cpu_percent:\n    severe: 1\n",
            "t.yaml:3: API Gateway.cpu_percent: expected degraded, partial_outage or major_outage"
        ),
        (
            "t.yaml", "API Gateway:\n  cpu_percent:\n    degraded: 90\n",
            "t.yaml:2: API Gateway.cpu_percent: the levels must not decrease"
        ),
        (
            "t.json", "{\n  \"a\": {\"cpu_percent\": {\"degraded\": -1}}\n}",
            "t.json:2: a.cpu_percent.degraded: expected a number ≥ 0"
        ),
        ("t.json", "{\n  \"a\": {\"cpu_percent\": \n", "t.json:"),
        ("t.yaml", "- a\n- b\n", "t.yaml:1: expected a mapping of service names"),
        ("t.yaml", "API Gateway: {}\napi-gateway: {}\n", "t.yaml:2: service api-gateway is given twice"),
    ])
    func aBadFileStopsServeWithTheFilesLine(name: String, contents: String, message: String) async throws {
        try await Workspace.with { workspace in
            let path = try workspace.write(name, contents)
            let (configuration, status, errors) = try await ServeCommandTests.configuration([
                "--api-key", "k", "--thresholds", path,
            ])
            #expect(configuration == nil)
            #expect(status == 2)
            let shown = errors.replacingOccurrences(of: path, with: name)
            #expect(shown.contains("error: " + message), "\(shown)")
        }
    }

    @Test func aMissingFileStopsServe() async throws {
        let (_, status, errors) = try await ServeCommandTests.configuration([
            "--api-key", "k", "--thresholds", "/nonexistent/thresholds.yaml",
        ])
        #expect(status == 2)
        #expect(errors.contains("cannot read the thresholds file"))
    }
}
