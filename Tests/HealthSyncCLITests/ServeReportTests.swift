import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Push reports (issue 17) through the built `healthsync serve`, over a socket, in the real clients' shapes, across a
/// restart.
@Suite struct ServeReportTests {
    /// POSTs `body` to `path` of the server on `port` with `headers`.
    static func post(
        _ path: String, _ body: String, port: Int, headers: HTTPFields
    ) async throws -> (status: HTTPResponse.Status, body: String) {
        try await TestClient.withClient(
            host: "127.0.0.1", port: port, configuration: TestClient.Configuration(timeout: .seconds(60))
        ) { client in
            let response = try await client.post(path, headers: headers, body: ByteBuffer(string: body))
            return (response.status, response.body.map { String(buffer: $0) } ?? "")
        }
    }

    static func get(_ path: String, port: Int) async throws -> String {
        try await TestClient.withClient(
            host: "127.0.0.1", port: port, configuration: TestClient.Configuration(timeout: .seconds(60))
        ) { client in
            let response = try await client.get(path, headers: [.stsAPIKeyForServe: ServeProcess.key])
            return response.body.map { String(buffer: $0) } ?? ""
        }
    }

    /// The health of each check state of a stream, from the status API.
    static func healths(_ urn: String, port: Int) async throws -> [String: String] {
        let encoded = urn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? urn
        let text = try await get("/api/health/checkstates?urn=\(encoded)", port: port)
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        var result: [String: String] = [:]
        for entry in json?["checkStates"] as? [[String: Any]] ?? [] {
            if let id = entry["checkStateId"] as? String { result[id] = entry["health"] as? String }
        }
        return result
    }

    @Test func reportsAreAppliedAndASilenceDueWhileDownFiresAfterARestart() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            let thresholds = try workspace.write("thresholds.json", #"{"Billing": {"cpu_percent": {"degraded": 10}}}"#)
            let options = ["--reporter-dead-grace", "1", "--thresholds", thresholds]
            var reported = ContinuousClock.now
            var server = try await ServeProcess.start(
                binary, database: workspace.database, log: workspace.directory.appendingPathComponent("serve-1.log"),
                arguments: options)
            do {
                let basic = "Basic " + Data(":\(ServeProcess.key)".utf8).base64EncodedString()
                let json: HTTPFields = [.contentType: "application/json", .authorization: basic]
                // The Python Crisp reporter: replica_id and interval, a trailing slash, Basic auth with an empty user.
                let crisp = try await Self.post(
                    "/v1/report/web/node-1/", #"{"replica_id": "10.0.0.1", "interval": 4}"#, port: server.port,
                    headers: json)
                reported = ContinuousClock.now
                #expect(crisp.status == .ok, "\(crisp.body)")
                // Vigil's reporter: replica and load.
                let vigil = try await Self.post(
                    "/reporter/web/node-1",
                    #"{"replica": "10.0.0.2", "interval": 3600, "load": {"cpu": 0.2, "ram": 0.5}}"#,
                    port: server.port, headers: json)
                #expect(vigil.status == .ok, "\(vigil.body)")
                let metrics = try await Self.post(
                    "/api/v1/metrics/ingest",
                    #"{"api_key": "\#(ServeProcess.key)", "service": "Billing", "metrics": {"cpu_percent": 20}}"#,
                    port: server.port, headers: [.contentType: "application/json"])
                #expect(metrics.status == .ok)
                #expect(metrics.body.contains(#""health_status":"degraded""#), "the file's threshold: \(metrics.body)")
                let refused = try await Self.post(
                    "/v1/report/web/node-1/", #"{"replica_id": "x", "interval": 2}"#, port: server.port,
                    headers: [.contentType: "application/json"])
                #expect(refused.status == .unauthorized)
                let before = try await Self.healths("urn:health:reporter:web", port: server.port)
                #expect(before["10.0.0.2"] == "CLEAR")
                if ContinuousClock.now - reported < .seconds(4) {
                    // Within 4 s + 1 s grace of its report (a loaded machine may take longer to get here).
                    #expect(before["10.0.0.1"] == "CLEAR", "not dead before its interval plus grace")
                }
            } catch {
                server.killNow()
                throw error
            }
            #expect(await server.stop() == 0)
            // 10.0.0.1 promised a report within 4 s + 1 s grace; the deadline passes while the service is down.
            let deadline = reported + .seconds(6)
            if ContinuousClock.now < deadline { try await Task.sleep(until: deadline) }
            server = try await ServeProcess.start(
                binary, database: workspace.database, log: workspace.directory.appendingPathComponent("serve-2.log"),
                arguments: options)
            do {
                var healths: [String: String] = [:]
                for _ in 0..<100 {
                    healths = try await Self.healths("urn:health:reporter:web", port: server.port)
                    if healths["10.0.0.1"] == "CRITICAL" { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(healths == ["10.0.0.1": "CRITICAL", "10.0.0.2": "CLEAR"])
                #expect(
                    try await Self.healths("urn:health:reporter:web", port: server.port)["10.0.0.1"] == "CRITICAL")
            } catch {
                server.killNow()
                throw error
            }
            #expect(await server.stop() == 0)
        }
    }
}

extension HTTPField.Name {
    // swift-format-ignore: NeverForceUnwrap
    static let stsAPIKeyForServe = HTTPField.Name("sts-api-key")!
}
