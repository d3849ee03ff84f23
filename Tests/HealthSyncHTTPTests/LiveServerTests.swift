import Foundation
import HTTPTypes
import HealthSync
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

@testable import HealthSyncHTTP

/// Tests against a real socket on 127.0.0.1.
@Suite struct LiveServerTests {
    /// Runs the application in a service group on 127.0.0.1 and a free port; `body` gets the port and the group.
    static func serving(
        _ harness: Harness,
        _ body: @Sendable (Int, ServiceGroup) async throws -> Void
    ) async throws {
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let app = harness.api.buildApplication { bound in
            port.yield(bound)
            port.finish()
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [app], logger: Harness.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let bound = try #require(await iterator.next())
            do {
                try await body(bound, group)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func post(_ body: ByteBuffer, port: Int, headers: HTTPFields = [:]) async throws -> TestClient.Response {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            var fields: HTTPFields = [.contentType: "application/json"]
            fields.append(contentsOf: headers)
            return try await client.post(intakePath, headers: fields, body: body)
        }
    }

    @Test func servesGzipIntakeAndTheStatusApiOverASocket() async throws {
        let harness = try Harness()
        let envelope = Payload.envelope([
            Payload.snapshot("urn:health:live:one", states: [Payload.checkState("disk", health: "critical")])
        ])
        try await Self.serving(harness) { port, _ in
            let compressed = try RequestBodyReader.compress(Array(envelope.utf8))
            let response = try await Self.post(compressed, port: port, headers: [.contentEncoding: "gzip"])
            #expect(response.status == .ok)
            let states = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                try await client.get(
                    "/api/health/checkstates?health=CRITICAL", headers: [.stsAPIKeyForTests: Harness.key])
            }
            #expect(states.status == .ok)
            #expect(String(buffer: states.body ?? ByteBuffer()).contains(#""checkStateId":"disk""#))
        }
    }

    @Test func gracefulShutdownFinishesRequestsInFlightAndLosesNothingAcknowledged() async throws {
        let store = GatedStore()
        let harness = try Harness(store: store)
        let count = 6
        try await Self.serving(harness) { port, group in
            try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status?).self) { requests in
                for index in 0..<count {
                    requests.addTask {
                        let body = Payload.envelope([
                            Payload.snapshot("urn:health:live:\(index)", states: [Payload.checkState("s\(index)")])
                        ])
                        let response = try? await Self.post(ByteBuffer(string: body), port: port)
                        return (index, response?.head.status)
                    }
                }
                // One envelope is being committed (held at the store's gate); stop the service meanwhile.
                await store.commitArrived()
                await group.triggerGracefulShutdown()
                store.open()

                var acknowledged: [Int] = []
                for try await (index, status) in requests where status == .ok {
                    acknowledged.append(index)
                }
                #expect(!acknowledged.isEmpty, "the request held at the gate was in flight and must finish")
                for index in acknowledged {
                    let states = try await store.checkStates(urn: "urn:health:live:\(index)", subStreamId: nil)
                    #expect(states.map(\.checkStateId) == ["s\(index)"], "acknowledged envelope \(index) is stored")
                }
                // Whatever was not acknowledged was not half-applied either: every stream holds its whole envelope.
                for summary in try await store.streams() {
                    #expect(summary.checkStateCount == 1)
                }
            }
        }
    }
}
