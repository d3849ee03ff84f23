import Foundation
import Testing

/// The HTML audit report as a browser reads it: headless Chromium (Debian package chromium) parses the report and
/// dumps its DOM, and draws it at desktop and phone widths. Skipped locally without Chromium, failing in CI (`CI`
/// set), where .ci/run installs it.
@Suite(
    .enabled(
        if: HeadlessChromium.executable != nil || DeploymentTests.inCI,
        "Chromium is not installed (Debian package chromium); CI fails instead of skipping")
)
struct AuditBrowserTests {
    /// The most labels one timeline axis may carry, so that they never overlap at the report's width.
    static let maximumTicks = 12

    /// The bundled fixtures: what needs attention and the health at the end come first, every stream has a section,
    /// no axis is crowded, and the report draws at desktop and phone widths.
    @Test func theFixturesReportReadsInABrowser() async throws {
        try await Workspace.with { workspace in
            let report = workspace.directory.appendingPathComponent("fixtures.html")
            let audit = try await CLI.run([
                "audit", "--format", "html", "--output", report.path, AuditCLI.fixtures + "/scenarios",
            ])
            try #require(audit.status == 0, "\(audit.errors)")
            let dom = try await HeadlessChromium.dumpDOM(report, in: workspace.directory)

            let sections = Self.matches(#"<section class="([a-z]+)""#, in: dom)
            #expect(Array(sections.prefix(2)) == ["now", "attention"], "\(sections)")
            #expect(sections.filter { $0 == "stream" }.count >= 8, "a section per stream of the fixtures")
            // The fixtures end with CRITICAL check states: the health at the end counts and lists them.
            let critical = Self.matches(#"<span class="critical">✖ <b>(\d+)</b>"#, in: dom).compactMap { Int($0) }
            #expect((critical.first ?? 0) > 0, "the health at the end counts the CRITICAL check states")
            #expect(dom.contains(#"<tr class="critical">"#), "and lists them")
            Self.expectUncrowdedAxes(dom)

            for (width, height) in [(1400, 900), (390, 844)] {
                let png = try await HeadlessChromium.screenshot(
                    report, width: width, height: height, in: workspace.directory)
                #expect(png.count > 10_000, "a \(width) px screenshot with something drawn: \(png.count) bytes")
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
            }
        }
    }

    /// One day of one-minute snapshots (Docs/audit-sample.py) is labelled by time of day, and two days across a new
    /// year carry the year, each axis with a few labels only.
    @Test func aDayIsLabelledByTimeOfDayAndANewYearByItsYear() async throws {
        let python = try #require(DeploymentTests.tool("python3"), "CI has python3")
        let sample = DeploymentTests.repository.appendingPathComponent("Docs/audit-sample.py")
        try await Workspace.with { workspace in
            // 2024-12-31T00:00:00Z, so that the second day is in 2025.
            for (name, days, start) in [("day", "1", "1704067200"), ("new-year", "2", "1735603200")] {
                let generated = try await DeploymentTests.run(
                    python, [sample.path, "--checks", "20", "--days", days, "--start", start],
                    in: workspace.directory)
                try #require(generated.status == 0, "\(generated.errors)")
                let payload = try workspace.write("\(name).jsonl", generated.output)
                let report = workspace.directory.appendingPathComponent("\(name).html")
                let audit = try await CLI.run(["audit", "--format", "html", "--output", report.path, payload])
                try #require(audit.status == 0, "\(audit.errors)")
                let dom = try await HeadlessChromium.dumpDOM(report, in: workspace.directory)
                Self.expectUncrowdedAxes(dom)
                let labels = Self.axisLabels(dom).flatMap { $0 }
                if name == "day" {
                    #expect(!labels.isEmpty && labels.allSatisfy { $0.wholeMatch(of: /\d\d:\d\d/) != nil }, "\(labels)")
                } else {
                    #expect(labels.contains { $0.contains("2025") }, "the new year is named: \(labels)")
                }
            }
        }
    }

    // MARK: Support

    /// Expects every timeline axis of `dom` to have between 2 and ``maximumTicks`` labels.
    static func expectUncrowdedAxes(_ dom: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let axes = axisLabels(dom)
        #expect(!axes.isEmpty, "the report has timelines", sourceLocation: sourceLocation)
        for labels in axes {
            #expect((2...maximumTicks).contains(labels.count), "\(labels)", sourceLocation: sourceLocation)
        }
    }

    /// The tick labels of each timeline axis of `dom`: the labels after each `UTC` caption, up to the next caption
    /// or the end of the axis.
    static func axisLabels(_ dom: String) -> [[String]] {
        var axes: [[String]] = []
        for label in matches(#"class="axis">([^<]*)<"#, in: dom) {
            if label == "UTC" {
                axes.append([])
            } else if !axes.isEmpty, label.first?.isNumber == true {
                axes[axes.count - 1].append(label)
            }
        }
        return axes
    }

    /// The first capture group of every match of `pattern` in `text`.
    static func matches(_ pattern: String, in text: String) -> [String] {
        guard let regex = try? Regex<(Substring, Substring)>(pattern) else { return [] }
        return text.matches(of: regex).map { String($0.output.1) }
    }
}

/// Headless Chromium, run as a process: the DOM it builds from a page, and screenshots.
enum HeadlessChromium {
    /// Chromium's executable, under any of its usual names; `nil` when it is not installed.
    static let executable = DeploymentTests.tool("chromium") ?? DeploymentTests.tool("chromium-browser")

    /// The DOM Chromium builds from the file at `url`.
    static func dumpDOM(_ url: URL, in directory: URL) async throws -> String {
        let result = try await runChromium(["--dump-dom", url.absoluteString], in: directory)
        try #require(result.status == 0, "\(result.errors)")
        return result.output
    }

    /// A screenshot of the file at `url` in a window of `width` × `height`, as PNG bytes.
    static func screenshot(_ url: URL, width: Int, height: Int, in directory: URL) async throws -> Data {
        let png = directory.appendingPathComponent("shot-\(width).png")
        let result = try await runChromium(
            ["--window-size=\(width),\(height)", "--screenshot=\(png.path)", url.absoluteString], in: directory)
        try #require(result.status == 0, "\(result.errors)")
        return try Data(contentsOf: png)
    }

    /// Runs headless Chromium with a profile of its own in `directory` (tests run side by side).
    static func runChromium(
        _ arguments: [String], in directory: URL
    ) async throws -> (status: Int32, output: String, errors: String) {
        let chromium = try #require(executable, "CI installs chromium")
        let profile = directory.appendingPathComponent("chromium-profile-\(UUID().uuidString)")
        return try await DeploymentTests.run(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--user-data-dir=\(profile.path)",
            ] + arguments,
            in: directory)
    }
}
