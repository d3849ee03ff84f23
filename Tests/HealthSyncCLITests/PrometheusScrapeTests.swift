import Foundation
import HTTPTypes
import HealthSyncTesting
import Testing

/// Docs/timeseries.md's Prometheus configuration, run: a throwaway `prometheus` scrapes a running `serve` and is
/// queried over its HTTP API; the alert rules pass `promtool check rules`.
@Suite struct PrometheusScrapeTests {
    /// The fenced code block that follows the `<!-- test: NAME -->` comment in Docs/timeseries.md.
    static func documentedBlock(_ name: String) throws -> String {
        let text = try String(
            contentsOf: DeploymentTests.repository.appendingPathComponent("Docs/timeseries.md"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let marker = try #require(lines.firstIndex { $0 == "<!-- test: \(name) -->" }, "no block \(name)")
        let open = try #require(lines[marker...].firstIndex { $0.hasPrefix("```") })
        let close = try #require(lines[(open + 1)...].firstIndex { $0.hasPrefix("```") })
        return lines[(open + 1)..<close].joined(separator: "\n") + "\n"
    }

    @Test(
        .enabled(
            if: DeploymentTests.tool("promtool") != nil || DeploymentTests.inCI,
            "promtool is not installed (Debian package prometheus); CI fails instead of skipping")
    )
    func theDocumentedAlertRulesPassPromtool() async throws {
        let promtool = try #require(DeploymentTests.tool("promtool"), "CI installs prometheus")
        try await Workspace.with { workspace in
            let rules = try workspace.write("rules.yml", try Self.documentedBlock("alert-rules"))
            let check = try await DeploymentTests.run(promtool, ["check", "rules", rules], in: workspace.directory)
            #expect(check.status == 0, "\(check.output)\(check.errors)")
        }
    }

    /// Prometheus, started from the documented scrape configuration (with a 1 s interval instead of 15 s and the
    /// test server's port), shows a check state's health within a scrape or two of each change, and the documented
    /// alert expression matches the stream while it is CRITICAL.
    @Test(
        .enabled(
            if: DeploymentTests.tool("prometheus") != nil || DeploymentTests.inCI,
            "prometheus is not installed (Debian package prometheus); CI fails instead of skipping")
    )
    func prometheusScrapesServeAndAnswersQueries() async throws {
        let prometheus = try #require(DeploymentTests.tool("prometheus"), "CI installs prometheus")
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            let server = try await ServeProcess.start(
                binary, database: workspace.database, log: workspace.directory.appendingPathComponent("serve.log"))
            defer { server.killNow() }
            let configuration = try Self.documentedBlock("scrape-config")
                .replacingOccurrences(of: "healthsync.example.net:7077", with: "127.0.0.1:\(server.port)")
                .replacingOccurrences(of: "scrape_interval: 15s", with: "scrape_interval: 1s")
            let configurationFile = try workspace.write("prometheus.yml", configuration)
            let port = try ThrowawayServer.freePort()
            let scraper = try await ThrowawayServer.start(
                prometheus,
                [
                    "--config.file=\(configurationFile)",
                    "--storage.tsdb.path=\(workspace.directory.appendingPathComponent("prometheus").path)",
                    "--web.listen-address=127.0.0.1:\(port)",
                ],
                in: workspace.directory, port: port, readiness: "/-/ready")
            defer { scraper.stop() }
            let urn = "urn:health:scrape:test"
            for (health, value) in [("CRITICAL", "2"), ("CLEAR", "0")] {
                let post = try await ServeProcess.post(
                    Payload.envelope([Payload.snapshot(urn, states: [Payload.checkState("disk", health: health)])]),
                    port: server.port)
                try #require(post.status == .ok, "\(post.body)")
                let shown = try await Self.waitFor(
                    #"healthsync_check_state_health{urn="\#(urn)",check_state="disk"}"#, value: value, port: port)
                #expect(shown, "Prometheus shows \(health) within a few scrapes:\n\(scraper.logText)")
                let alert = try await Self.query(#"max by (urn) (healthsync_check_state_health) == 2"#, port: port)
                #expect(alert.contains(urn) == (value == "2"), "\(alert)")
            }
        }
    }

    /// Polls an instant query until its first result has `value` (at most 20 s).
    static func waitFor(_ query: String, value: String, port: Int) async throws -> Bool {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(20) {
            let answer = try await Self.query(query, port: port)
            if answer.contains(#","\#(value)"]"#) { return true }
            try await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// The JSON answer of `GET /api/v1/query`.
    static func query(_ query: String, port: Int) async throws -> String {
        let answer = try await ThrowawayServer.get("/api/v1/query?query=\(ThrowawayServer.query(query))", port: port)
        try #require(answer.status == .ok, "\(answer.body)")
        return answer.body
    }
}
