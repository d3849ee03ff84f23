import Foundation
import HTTPTypes
import HealthSyncExport
import HealthSyncTesting
import Testing

@testable import HealthSyncCLI

/// The health endpoint and the exports read by the real consumers: promtool, InfluxDB 1.x, VictoriaMetrics (as an
/// OpenTSDB receiver) and Prometheus. Each test is skipped locally when its tool is missing, and fails in CI (`CI`
/// set), where `.ci/run` installs the Debian packages prometheus, influxdb and victoria-metrics.
@Suite struct TimeSeriesConsumerTests {
    /// The audit fixtures in order, each replayed to the end of its period: 1900100000 (2030-03-17) to 1900400300.
    static let auditFixtures = [
        ("01-cadence-and-late-windows", "1900100700"), ("02-flapping", "1900202400"),
        ("03-truncated-snapshots", "1900300480"), ("04-missing-stop", "1900400300"),
    ]

    /// The start of the first audit fixture.
    static let auditStart = 1_900_100_000

    /// A workspace whose database holds the four audit fixtures.
    static func withAuditFixtures(_ body: (Workspace) async throws -> Void) async throws {
        try await Workspace.with { workspace in
            for (fixture, until) in auditFixtures {
                // 2030: `--yes` lets the clock run past wall time.
                let replay = try await workspace.run(
                    "replay", "--yes", "--until", until, AuditCLI.fixtures + "/audit/\(fixture)/payload.jsonl")
                try #require(replay.status == 0, "\(fixture): \(replay.errors)")
            }
            try await body(workspace)
        }
    }

    /// Runs `export` with `arguments` into a file of the workspace and returns its path.
    static func export(_ workspace: Workspace, _ name: String, _ arguments: String...) async throws -> String {
        let path = workspace.directory.appendingPathComponent(name).path
        let result = try await CLI.run(["export", "--db", workspace.database, "--output", path] + arguments)
        try #require(result.status == 0, "\(result.errors)")
        return path
    }

    static func tool(_ name: String) throws -> URL {
        try #require(DeploymentTests.tool(name), "CI installs \(name)")
    }

    // MARK: Prometheus

    @Test(
        .enabled(
            if: DeploymentTests.tool("promtool") != nil || DeploymentTests.inCI,
            "promtool is not installed (Debian package prometheus); CI fails instead of skipping")
    )
    func promtoolAcceptsMetricsHealthOfARunningServe() async throws {
        let promtool = try Self.tool("promtool")
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            let server = try await ServeProcess.start(
                binary, database: workspace.database, log: workspace.directory.appendingPathComponent("serve.log"))
            let plain: String
            let openMetrics: String
            do {
                // Quotes, backslashes and non-ASCII in labels; a sub-stream; an open error (StreamMissingSubStream).
                let envelope = Payload.envelope([
                    Payload.snapshot(
                        "urn:health:prom:ünï",
                        states: [
                            Payload.checkState("disk \"quoted\"", health: "CRITICAL", element: #"C:\\host\db"#),
                            Payload.checkState("流量", health: "DEVIATING", element: "urn:host:/é"),
                        ]),
                    Payload.snapshot(
                        "urn:health:prom:ünï", subStream: "eu-1", expiryInterval: 600,
                        states: [Payload.checkState("cpu", health: "CLEAR")]),
                    Payload.snapshot(
                        "urn:health:prom:errors", start: false, stop: false, states: [Payload.checkState("x")],
                        model: true),
                ])
                let post = try await ServeProcess.post(envelope, port: server.port)
                try #require(post.status == .ok, "\(post.body)")
                plain = try await ThrowawayServer.get("/metrics/health", port: server.port).body
                openMetrics = try await ThrowawayServer.get(
                    "/metrics/health", port: server.port,
                    headers: [.accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"]
                ).body
            } catch {
                server.killNow()
                throw error
            }
            #expect(await server.stop() == 0, "serve stops gracefully: \(server.logText)")
            #expect(plain.contains(#"check_state="disk \"quoted\"",element="C:\\\\host\\db"} 2"#), "\(plain)")
            #expect(plain.contains(#"sub_stream="eu-1",check_state="cpu""#))
            #expect(plain.contains("healthsync_stream_errors{urn=\"urn:health:prom:errors\""))
            #expect(openMetrics == plain + "# EOF\n")
            let file = try workspace.write("health.prom", plain)
            let check = try await DeploymentTests.run(
                promtool, ["check", "metrics"], in: workspace.directory, input: URL(fileURLWithPath: file))
            #expect(check.status == 0, "\(check.output)\(check.errors)")
        }
    }

    /// A month from the start of the audit fixtures: their 3.5 days of changes, then every check state alive at the
    /// end repeated every hour to the month's end.
    @Test(
        .enabled(
            if: DeploymentTests.tool("promtool") != nil || DeploymentTests.inCI,
            "promtool is not installed (Debian package prometheus); CI fails instead of skipping")
    )
    func promtoolBackfillsAMonthExportedFromTheAuditFixtures() async throws {
        let promtool = try Self.tool("promtool")
        try await Self.withAuditFixtures { workspace in
            let end = Self.auditStart + 30 * 86400
            let file = try await Self.export(
                workspace, "history.om", "--format", "openmetrics", "--step", "1h", "--until", "\(end)")
            let blocks = workspace.directory.appendingPathComponent("tsdb")
            let create = try await DeploymentTests.run(
                promtool, ["tsdb", "create-blocks-from", "openmetrics", "--quiet", file, blocks.path],
                in: workspace.directory)
            try #require(create.status == 0, "\(create.output)\(create.errors)")
            // `tsdb dump` opens the directory as a database, which has a write-ahead log.
            try FileManager.default.createDirectory(
                at: blocks.appendingPathComponent("wal"), withIntermediateDirectories: true)
            let dump = try await DeploymentTests.run(
                promtool,
                [
                    "tsdb", "dump", "--match",
                    #"{__name__="healthsync_check_state_health",urn="urn:health:audit:flapping"}"#,
                    blocks.path,
                ],
                in: workspace.directory)
            try #require(dump.status == 0, "\(dump.errors)")
            let samples = dump.output.split(separator: "\n")
            let times = samples.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
            #expect(times.min() == 1_900_200_000_000, "the first snapshot of the flapping fixture")
            #expect(times.max() == (end - end % 3600) * 1000, "the live check states run to the last hour of the month")
            let flappy = samples.filter { $0.contains(#"check_state="flappy""#) }
            // Hourly from the fixture's start (a day after the first one's) to the month's end, and the changes.
            #expect(flappy.count > 29 * 24 - 5, "an hourly sample for 29 days, and the changes")
            let values = Set(flappy.compactMap { $0.split(separator: " ").dropLast().last.map(String.init) })
            #expect(values.isSuperset(of: ["0", "2"]), "\(values)")
        }
    }

    // MARK: InfluxDB

    @Test(
        .enabled(
            if: DeploymentTests.tool("influxd") != nil || DeploymentTests.inCI,
            "influxd is not installed (Debian package influxdb); CI fails instead of skipping")
    )
    func influxDBAnswersAQueryOverTheInfluxExport() async throws {
        let influxd = try Self.tool("influxd")
        try await Self.withAuditFixtures { workspace in
            let file = try await Self.export(workspace, "history.lp", "--format", "influx")
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            let port = try ThrowawayServer.freePort()
            let rpcPort = try ThrowawayServer.freePort()
            let data = workspace.directory.appendingPathComponent("influxdb").path
            let configuration = try workspace.write(
                "influxdb.conf",
                """
                reporting-disabled = true
                bind-address = "127.0.0.1:\(rpcPort)"
                [meta]
                  dir = "\(data)/meta"
                [data]
                  dir = "\(data)/data"
                  wal-dir = "\(data)/wal"
                  query-log-enabled = false
                [http]
                  bind-address = "127.0.0.1:\(port)"
                  log-enabled = false
                [monitor]
                  store-enabled = false
                [continuous_queries]
                  enabled = false

                """)
            let server = try await ThrowawayServer.start(
                influxd, ["-config", configuration], in: workspace.directory, port: port, readiness: "/ping")
            defer { server.stop() }
            let create = try await ThrowawayServer.post(
                "/query", port: port, body: "q=CREATE%20DATABASE%20healthsync",
                contentType: "application/x-www-form-urlencoded")
            try #require(create.status == .ok, "\(create.body)")
            let write = try await ThrowawayServer.post(
                "/write?db=healthsync&precision=ns", port: port,
                body: try String(contentsOfFile: file, encoding: .utf8), contentType: "text/plain")
            try #require(write.status == .noContent, "\(write.body)")
            let count = try await Self.influxQuery("SELECT count(value) FROM health", port: port)
            #expect(count.first?.values.first?.last as? Int == lines.count, "every line is a point")
            // Fixture 03 deletes e for good; 04's automatic stop deletes b and c, which the next snapshot brings back.
            let last = try await Self.influxQuery(
                "SELECT last(value), last(health) FROM health WHERE urn = 'urn:health:audit:truncated' GROUP BY check_state",
                port: port)
            let byCheckState = Dictionary(
                last.map { ($0.tags["check_state"] ?? "", $0.values.first ?? []) }, uniquingKeysWith: { a, _ in a })
            #expect(byCheckState["e"]?.dropFirst().first as? Int == -1, "\(byCheckState)")
            #expect(byCheckState["e"]?.last as? String == "DELETED")
            #expect(byCheckState.count == 6)
        }
    }

    /// One series of an InfluxDB 1.x `/query` answer.
    struct InfluxSeries {
        var tags: [String: String]
        var values: [[Any]]
    }

    static func influxQuery(_ query: String, port: Int) async throws -> [InfluxSeries] {
        let answer = try await ThrowawayServer.get(
            "/query?db=healthsync&q=\(ThrowawayServer.query(query))", port: port)
        try #require(answer.status == .ok, "\(answer.body)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]], "\(answer.body)")
        let series = results.first?["series"] as? [[String: Any]] ?? []
        return series.map { series in
            InfluxSeries(
                tags: series["tags"] as? [String: String] ?? [:],
                values: (series["values"] as? [[Any]] ?? []).map { $0.map { ($0 as? NSNumber).map(\.intValue) ?? $0 } })
        }
    }

    // MARK: OpenTSDB (VictoriaMetrics)

    @Test(
        .enabled(
            if: DeploymentTests.tool("victoria-metrics") != nil || DeploymentTests.inCI,
            "victoria-metrics is not installed (Debian package victoria-metrics); CI fails instead of skipping")
    )
    func victoriaMetricsReadsBackTheOpenTSDBExport() async throws {
        let victoriaMetrics = try Self.tool("victoria-metrics")
        // VictoriaMetrics refuses samples more than two days ahead: the 2023 fixture, not the 2030 audit fixtures.
        try await AuditCLI.withSnapshotTimers { workspace in
            let file = try await Self.export(workspace, "history.json", "--format", "opentsdb")
            let exported = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [[String: Any]]
            )
            let port = try ThrowawayServer.freePort()
            let openTSDBPort = try ThrowawayServer.freePort()
            let server = try await ThrowawayServer.start(
                victoriaMetrics,
                [
                    "-storageDataPath=\(workspace.directory.appendingPathComponent("vm").path)",
                    "-httpListenAddr=127.0.0.1:\(port)", "-opentsdbHTTPListenAddr=127.0.0.1:\(openTSDBPort)",
                    "-retentionPeriod=100y",
                ],
                in: workspace.directory, port: port, readiness: "/health")
            defer { server.stop() }
            let put = try await ThrowawayServer.post(
                "/api/put", port: openTSDBPort, body: try String(contentsOfFile: file, encoding: .utf8),
                contentType: "application/json")
            try #require(put.status == .noContent, "\(put.body)")
            _ = try await ThrowawayServer.get("/internal/force_flush", port: port)
            let match = ThrowawayServer.query(#"{__name__="healthsync.check_state.health"}"#)
            let answer = try await ThrowawayServer.get("/api/v1/export?match%5B%5D=\(match)", port: port)
            try #require(answer.status == .ok)
            var samples = 0
            var deletions = 0
            for line in answer.body.split(separator: "\n") {
                let series = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let labels = try #require(series["metric"] as? [String: String])
                #expect(labels["urn"].flatMap(OpenTSDBNames.decode) == AuditCLI.snapshotTimersURN)
                let values = (series["values"] as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue }
                samples += values.count
                deletions += values.filter { $0 == -1 }.count
            }
            #expect(samples == exported.count, "every data point is stored")
            #expect(deletions == 2, "b and c are deleted by the automatic stop")
        }
    }
}
