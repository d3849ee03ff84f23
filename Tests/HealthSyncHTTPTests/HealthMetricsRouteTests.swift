import HTTPTypes
import HealthSync
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HealthSyncHTTP

/// `GET /metrics/health`.
@Suite struct HealthMetricsRouteTests {
    @Test func servesEveryCheckStatesHealthWithoutAKey() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            try await client.postEnvelope(
                Payload.envelope([
                    Payload.snapshot(
                        "urn:health:a:b",
                        states: [
                            Payload.checkState("disk", health: "CRITICAL", element: "host-1"),
                            Payload.checkState("cpu", health: "CLEAR", element: "host-1"),
                        ])
                ]))
            let response = try await client.execute(uri: "/metrics/health", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let lines = response.text.split(separator: "\n")
            #expect(
                lines.contains(
                    #"healthsync_check_state_health{urn="urn:health:a:b",sub_stream="",check_state="disk",element="host-1"} 2"#
                ))
            #expect(lines.contains("# TYPE healthsync_stream_errors gauge"))
            #expect(!response.text.contains("# EOF"))
            #expect(response.headers[.requestID] != nil, "the request middleware wraps it")
        }
    }

    @Test func servesOpenMetricsWhenAcceptAsksForIt() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: "/metrics/health", method: .get,
                headers: [.accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"])
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
            #expect(response.text.hasSuffix("# TYPE healthsync_stream_errors gauge\n# EOF\n"))
        }
    }

    @Test func answersManyCheckStatesAcrossPages() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let states = (0..<4500).map { Payload.checkState("c\($0)", health: $0 % 3 == 0 ? "CRITICAL" : "CLEAR") }
            try await client.postEnvelope(Payload.envelope([Payload.snapshot("urn:health:many:x", states: states)]))
            let response = try await client.execute(uri: "/metrics/health", method: .get)
            #expect(response.status == .ok)
            let samples = response.text.split(separator: "\n").filter { $0.hasPrefix("healthsync_check_state_health{") }
            #expect(samples.count == 4500)
            #expect(samples.filter { $0.hasSuffix("} 2") }.count == 1500)
        }
    }
}
