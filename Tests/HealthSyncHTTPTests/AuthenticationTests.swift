import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct AuthenticationTests {
    static let body = Payload.envelope([Payload.snapshot("urn:health:a:b", states: [Payload.checkState("x")])])

    @Test func refusesARequestWithoutAKeyAndStoresNothing() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(Self.body, path: "/stsAgent/intake")
            #expect(response.status == .unauthorized)
            let json = try response.json
            #expect(json.string("_type") == "Unauthorized")
            #expect(json.string("message")?.contains("api_key") == true)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func refusesAWrongKeyWithoutEchoingIt() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.body, path: "/stsAgent/intake?api_key=guess-\(Harness.key)")
            #expect(response.status == .unauthorized)
            #expect(!response.text.contains("guess"))
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func acceptsTheKeyInTheStsApiKeyHeader() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.body, path: "/receiver/stsAgent/intake",
                headers: [.contentType: "application/json", .stsAPIKeyForTests: Harness.key]
            )
            #expect(response.status == .ok)
        }
    }

    @Test func acceptsAnyOfSeveralKeys() async throws {
        let harness = try Harness(configuration: Harness.configuration(apiKeys: ["first", "second", "third"]))
        try await harness.test { client async throws in
            for key in ["first", "third"] {
                #expect(try await client.postEnvelope(Self.body, path: "/stsAgent/intake?api_key=\(key)").status == .ok)
            }
            for key in ["firs", "second2", "", "THIRD"] {
                let status = try await client.postEnvelope(Self.body, path: "/stsAgent/intake?api_key=\(key)").status
                #expect(status == .unauthorized, "key \(key)")
            }
        }
    }

    @Test func protectsTheStatusApi() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let paths = [
                "/api/synchronization/health/streams", "/api/health/checkstates",
                "/api/synchronization/health/streams/\(encoded("urn:health:a:b"))/status",
            ]
            for path in paths {
                #expect(try await client.execute(uri: path, method: .get).status == .unauthorized, "\(path)")
            }
            let delete = try await client.execute(
                uri: "/api/synchronization/health/streams/\(encoded("urn:health:a:b"))", method: .delete)
            #expect(delete.status == .unauthorized)
        }
    }

    @Test func probesAndMetricsNeedNoKey() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            for path in ["/healthz", "/readyz", "/metrics"] {
                #expect(try await client.execute(uri: path, method: .get).status == .ok, "\(path)")
            }
        }
    }

    @Test func insecureModeAcceptsRequestsWithoutAKey() async throws {
        let harness = try Harness(configuration: Harness.configuration(apiKeys: [], insecureNoAuth: true))
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(Self.body, path: "/stsAgent/intake").status == .ok)
        }
    }

    @Test func refusesToStartWithoutAKeyUnlessInsecure() throws {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try Harness(configuration: Harness.configuration(apiKeys: []))
        }
        #expect(error?.code == .noAPIKey)
    }

    @Test func refusesAnEmptyKey() throws {
        #expect(throws: ConfigurationError.self) {
            _ = try Harness(configuration: Harness.configuration(apiKeys: ["ok", ""]))
        }
    }

    @Test func describesTheConfigurationWithoutItsKeys() {
        let configuration = Harness.configuration(apiKeys: ["very-secret-1", "very-secret-2"])
        #expect(!configuration.description.contains("very-secret"))
        #expect(configuration.description.contains("2 (redacted)"))
    }
}
