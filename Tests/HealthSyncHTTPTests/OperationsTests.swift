import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct OperationsTests {
    @Test func answersLiveness() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            #expect(try response.json.string("status") == "ok")
        }
    }

    @Test func answersReadinessWhenTheStoreAnswers() async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        try await harness.test { client async throws in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            store.failClockReads(with: StorageError(code: .unavailable, message: "unable to open database file"))
            let response = try await client.execute(uri: "/readyz", method: .get)
            #expect(response.status == .serviceUnavailable)
            #expect(try response.json.string("status") == "unavailable")
            store.failClockReads(with: nil)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
        }
    }

    @Test func exposesPrometheusMetrics() async throws {
        let harness = try Harness()
        let good = Payload.envelope([
            Payload.snapshot(
                "urn:health:a:b",
                states: [
                    Payload.checkState("one"), Payload.checkState("two"),
                    #"{"checkStateId":"bad","name":"x","health":"PURPLE","topologyElementIdentifier":"e"}"#,
                ]
            ),
            #"{"stream":{"urn":7}}"#,
        ])
        try await harness.test { client async throws in
            try await client.postEnvelope(good)
            try await client.postEnvelope("{", path: intakePath)
            try await client.postEnvelope(good, path: "/stsAgent/intake?api_key=wrong")
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = response.text
            let expected = [
                "healthsync_intake_envelopes_accepted_total 1",
                #"healthsync_intake_envelopes_rejected_total{reason="malformed_json"} 1"#,
                #"healthsync_intake_envelopes_rejected_total{reason="unauthorized"} 1"#,
                "healthsync_intake_messages_rejected_total 1",
                #"healthsync_check_state_changes_total{change="created"} 2"#,
                #"healthsync_stream_errors_opened_total{code="SubStreamTransformerError"} 1"#,
                #"healthsync_stream_errors_opened_total{code="SubStreamLateData"} 0"#,
                "# TYPE healthsync_sweep_lag_seconds histogram",
                "# TYPE healthsync_http_request_duration_seconds histogram",
                #"status="200""#,
                #"status="401""#,
            ]
            for line in expected {
                #expect(text.contains(line), "missing \(line)")
            }
        }
    }

    @Test func echoesTheCallersRequestId() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: "/healthz", method: .get, headers: [.requestIDForTests: "agent-42"])
            #expect(response.headers[.requestIDForTests] == "agent-42")
            let generated = try await client.execute(uri: "/healthz", method: .get)
            #expect(generated.headers[.requestIDForTests]?.isEmpty == false)
            let insane = try await client.execute(
                uri: "/healthz", method: .get, headers: [.requestIDForTests: String(repeating: "x", count: 500)])
            #expect(insane.headers[.requestIDForTests]?.count ?? 0 < 500)
        }
    }
}

extension HTTPField.Name {
    // swift-format-ignore: NeverForceUnwrap
    static let requestIDForTests = HTTPField.Name("x-request-id")!
}

@Suite struct MountingTests {
    @Test func mountsItsRoutesInARouterOfYourOwn() async throws {
        let harness = try Harness()
        let router = Router()
        router.get("/hello") { _, _ in "hello" }
        router.addRoutes(harness.api.routes())
        let app = Application(router: router, services: harness.api.services, logger: Harness.logger)
        try await app.test(.router) { client async throws in
            #expect(try await client.execute(uri: "/hello", method: .get).text == "hello")
            let body = Payload.envelope([Payload.snapshot("urn:health:a:b", states: [Payload.checkState("x")])])
            #expect(try await client.postEnvelope(body).status == .ok)
        }
        #expect(try await harness.store.allCheckStates().count == 1)
    }

    /// Routes mounted without the intake's service still apply envelopes: a request starts the drain itself, and
    /// nothing waits for a service that is not there.
    @Test func withoutItsIntakeServiceTheIntakeStillAppliesEnvelopes() async throws {
        let harness = try Harness()
        let router = Router()
        router.addRoutes(harness.api.routes())
        try await Application(router: router, logger: Harness.logger).test(.router) { client async throws in
            for index in 0..<3 {
                let body = Payload.envelope([
                    Payload.snapshot("urn:health:a:\(index)", states: [Payload.checkState("x")])
                ])
                #expect(try await client.postEnvelope(body).status == .ok)
            }
        }
        #expect(try await harness.store.allCheckStates().count == 3)
    }
}
