import Foundation
import HTTPTypes
import HealthSyncTesting
import Testing

/// The status page of a running `serve` as a browser reads it: headless Chromium loads `GET /status` (its script runs
/// and opens `GET /status/events`), dumps the DOM and draws the page at desktop and phone widths. Skipped locally
/// without Chromium, failing in CI (`CI` set), where .ci/run installs it.
@Suite(
    .enabled(
        if: HeadlessChromium.executable != nil || DeploymentTests.inCI,
        "Chromium is not installed (Debian package chromium); CI fails instead of skipping")
)
struct StatusPageBrowserTests {
    static let payments = "urn:health:shop:payments"
    static let search = "urn:health:shop:search"
    static let batch = "urn:health:jobs:batch"

    /// Three streams, worst first payments (CRITICAL, with a hostile message and name), search (DEVIATING on a
    /// sub-stream), batch (CLEAR).
    static let envelope = Payload.envelope([
        Payload.snapshot(batch, states: [Payload.checkState("nightly"), Payload.checkState("weekly")]),
        Payload.snapshot(
            payments,
            states: [
                Payload.checkState(
                    "disk", health: "CRITICAL", name: "disk \"><img src=x onerror=alert(3)>",
                    message: "<script>document.title='pwned'</script> see [runbook](javascript:alert(2))"),
                Payload.checkState("cpu"),
            ]),
        Payload.snapshot(
            search, subStream: "eu-1", repeatInterval: 60, expiryInterval: 600,
            states: [Payload.checkState("latency", health: "DEVIATING", message: "p99 1.2 s")]),
    ])

    @Test func theStatusPageOfARunningServeReadsInABrowser() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            let log = workspace.directory.appendingPathComponent("serve.log")
            let server = try await ServeProcess.start(
                binary, database: workspace.database, log: log, arguments: ["--status-title", "Shop <status>"])
            defer { server.killNow() }
            let posted = try await ServeProcess.post(Self.envelope, port: server.port)
            try #require(posted.status == .ok, "\(posted.body)")
            let page = try #require(URL(string: "http://127.0.0.1:\(server.port)/status"))

            let dom = try await HeadlessChromium.dumpDOM(page, in: workspace.directory)
            #expect(dom.contains("<h1>Shop &lt;status&gt;</h1>"))
            #expect(dom.contains("data-status=\"outage\""))
            let urns = AuditBrowserTests.matches(#"<section class="stream" data-urn="([^"]+)""#, in: dom)
            #expect(urns == [Self.payments, Self.search, Self.batch], "worst first")
            #expect(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"), "the message is text")
            #expect(dom.components(separatedBy: "<script").count == 2, "the page's own script only")
            #expect(!dom.contains("<img"), "the name is text")
            #expect(!dom.contains("href=\"javascript"), "no link from a source")
            #expect(!dom.contains("<title>pwned"))

            for (width, height) in [(1280, 900), (390, 844)] {
                let png = try await HeadlessChromium.screenshot(
                    page, width: width, height: height, in: workspace.directory)
                #expect(png.count > 10_000, "a \(width) px screenshot with something drawn: \(png.count) bytes")
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
            }
        }
    }
}
