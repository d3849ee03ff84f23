import HTTPTypes
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct UnmatchedRouteTests {
    @Test func answersAnUnknownPathWithAJSONNotFoundAndItsRequestID() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: "/api/nope?api_key=secret", method: .get, headers: [.requestIDForTests: "probe-1"])
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(response.headers[.requestIDForTests] == "probe-1")
            let body = try response.json
            #expect(body.string("_type") == "NotFound")
            #expect(body.string("message") == "no route for /api/nope")
        }
    }

    @Test func givesAnUnknownPathARequestIDWhenTheCallerSentNone() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.execute(uri: "/", method: .post)
            #expect(response.status == .notFound)
            #expect(response.headers[.requestIDForTests]?.isEmpty == false)
        }
    }

    @Test(arguments: [
        ("/healthz", HTTPRequest.Method.post, "GET"),
        ("/stsAgent/intake", .get, "POST"),
        ("/api/synchronization/health/streams/urn:health:a:b", .get, "DELETE"),
        ("/api/synchronization/health/streams/urn:health:a:b/clearErrors", .put, "POST"),
    ])
    func answersAKnownPathWithAnotherMethodWithMethodNotAllowed(
        path: String, method: HTTPRequest.Method, allow: String
    ) async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.execute(uri: path, method: method)
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == allow)
            #expect(response.headers[.requestIDForTests]?.isEmpty == false)
            let body = try response.json
            #expect(body.string("_type") == "MethodNotAllowed")
            #expect(body["allow"] as? [String] == [allow])
        }
    }

    @Test func countsUnmatchedRequestsUnderOneRouteLabel() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            _ = try await client.execute(uri: "/a", method: .get)
            _ = try await client.execute(uri: "/b/c", method: .get)
            let metrics = try await client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains(#"route="unmatched",status="404""#))
            #expect(!metrics.contains(#"route="/a""#))
        }
    }
}
