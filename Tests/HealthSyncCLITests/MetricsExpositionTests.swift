import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// What Prometheus scrapes from a running `serve`.
@Suite struct MetricsExpositionTests {
    /// Starts the built `serve`, posts an envelope so that the processor's counters and the request metrics have
    /// values, scrapes `/metrics` and has Prometheus' `promtool check metrics` (parser and linter) read it. Skipped
    /// locally without `promtool` (Debian package prometheus), failing in CI (`CI` set) instead.
    @Test(
        .enabled(
            if: DeploymentTests.tool("promtool") != nil || DeploymentTests.inCI,
            "promtool is not installed (Debian package prometheus); CI fails instead of skipping")
    )
    func promtoolAcceptsTheMetricsOfARunningServe() async throws {
        let promtool = try #require(DeploymentTests.tool("promtool"), "CI installs prometheus for promtool")
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            let server = try await ServeProcess.start(
                binary, database: workspace.database, log: workspace.directory.appendingPathComponent("serve.log"))
            let scraped: String
            do {
                _ = try await ServeProcess.post(Payloads.documentationExample, port: server.port)
                scraped = try await TestClient.withClient(
                    host: "127.0.0.1", port: server.port, configuration: TestClient.Configuration(timeout: .seconds(60))
                ) { client in
                    let response = try await client.get("/metrics")
                    #expect(response.status == .ok)
                    return response.body.map { String(buffer: $0) } ?? ""
                }
            } catch {
                server.killNow()
                throw error
            }
            #expect(await server.stop() == 0, "serve stops gracefully: \(server.logText)")
            #expect(scraped.contains("healthsync_"), "the service's own metrics are exposed")
            let file = try workspace.write("metrics.txt", scraped)
            let check = try await DeploymentTests.run(
                promtool, ["check", "metrics"], in: workspace.directory, input: URL(fileURLWithPath: file))
            #expect(check.status == 0, "\(check.output)\(check.errors)")
        }
    }
}
