import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct StatusAPITests {
    static let streams = "/api/synchronization/health/streams"
    static let snapshots = "urn:health:sourceId:snapshots"
    static let states = "urn:health:sourceId:states"
    static let increments = "urn:health:sourceId:increments"

    /// Three streams, one per model. The snapshot stream has a main and two other sub-streams, a sub-stream error
    /// (a check state with an invalid health on `us`) and a stream-level one (check states for a sub-stream that
    /// was never set up).
    static let envelope = Payload.envelope([
        Payload.snapshot(
            snapshots, repeatInterval: 300, states: [Payload.checkState("disk", health: "Deviating")]),
        Payload.snapshot(
            snapshots, subStream: "eu/1", repeatInterval: 60, expiryInterval: 600,
            states: [Payload.checkState("cpu", health: "CRITICAL"), Payload.checkState("mem")]
        ),
        Payload.snapshot(snapshots, subStream: "ghost", start: false, stop: false, states: [Payload.checkState("g")]),
        Payload.snapshot(
            snapshots, subStream: "us", repeatInterval: 60, expiryInterval: 600,
            states: [#"{"checkStateId":"x","name":"x","health":"PURPLE","topologyElementIdentifier":"e"}"#]
        ),
        Payload.repeatStates(states, repeatInterval: 30, expiryInterval: 90, states: [Payload.checkState("ping")]),
        Payload.increment(
            increments, checkpoint: Checkpoint(offset: 7, batchIndex: 2), states: [Payload.checkState("job")]),
    ])

    static func streamPath(_ urn: String, _ rest: String = "") -> String {
        "\(streams)/\(encoded(urn))\(rest)"
    }

    func withStreams(_ test: @Sendable @escaping (any TestClientProtocol, Harness) async throws -> Void) async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(Self.envelope).status == .ok)
            harness.clock.advance(by: 10)
            try await test(client, harness)
        }
    }

    @Test func listsStreamsWithTheirModelsAndSubStreamCounts() async throws {
        try await withStreams { client, _ async throws in
            let response = try await client.get(Self.streams)
            #expect(response.status == .ok)
            let items = try response.json.objects("items")
            #expect(items.map { $0.string("urn") } == [Self.increments, Self.snapshots, Self.states])
            #expect(
                items.map { $0.string("consistencyModel") }
                    == ["TRANSACTIONAL_INCREMENTS", "REPEAT_SNAPSHOTS", "REPEAT_STATES"])
            #expect(items.map { $0.int("subStreams") } == [0, 2, 0])
            #expect(items.map { $0.int("checkStateCount") } == [1, 3, 1])
        }
    }

    @Test func showsAStreamStatusInStackStateShape() async throws {
        try await withStreams { client, _ async throws in
            let response = try await client.get(Self.streamPath(Self.snapshots, "/status"))
            #expect(response.status == .ok)
            let json = try response.json
            #expect(json.int("partition") == 0)
            #expect(json.string("consistencyModel") == "REPEAT_SNAPSHOTS")
            let globalErrors = json.objects("globalErrors")
            #expect(globalErrors.map { $0.string("errorCode") } == ["StreamMissingSubStream"])
            #expect(globalErrors.first?.string("subStreamId") == "ghost")
            let aggregate = try #require(json.object("aggregateMetrics"))
            #expect(aggregate.int("bucketSizeSeconds") == 10)
            #expect((aggregate["createsPerSecond"] as? [[String: Any]])?.first?["value"] as? Double == 0.3)
            let main = try #require(json.object("mainStreamStatus"))
            #expect(main.int("checkStateCount") == 1)
            #expect(main.object("subStreamState")?.string("_type") == "HealthSubStreamSnapshot")
            #expect(main.object("subStreamState")?.int("repeatIntervalMs") == 300_000)
            #expect(main.object("subStreamState")?["expiryIntervalMs"] == nil)
            #expect(main["snapshotOpen"] as? Bool == false)
            #expect(main.object("totals")?.int("creates") == 1)
            #expect(main.object("nextDeadlines")?["lateData"] as? Double == 1_700_000_300)
        }
    }

    @Test func listsSubStreamsWithoutTheMainOne() async throws {
        try await withStreams { client, _ async throws in
            let response = try await client.get(Self.streamPath(Self.snapshots, "/substreams"))
            #expect(response.status == .ok)
            let subStreams = try response.json.objects("subStreams")
            #expect(subStreams.map { $0.string("subStreamId") } == ["eu/1", "us"])
            #expect(subStreams.map { $0.int("checkStateCount") } == [2, 0])
            let state = try #require(subStreams.first?.object("subStreamState"))
            #expect(state.string("_type") == "HealthSubStreamSnapshot")
            #expect(state.int("repeatIntervalMs") == 60_000)
            #expect(state.int("expiryIntervalMs") == 600_000)
        }
    }

    @Test func showsASubStreamStatusWithItsErrors() async throws {
        try await withStreams { client, _ async throws in
            let response = try await client.get(Self.streamPath(Self.snapshots, "/substreams/us/status"))
            #expect(response.status == .ok)
            let json = try response.json
            let errors = json.objects("errors")
            #expect(errors.map { $0.string("errorCode") } == ["SubStreamTransformerError"])
            #expect(errors.first?.string("level") == "ERROR")
            #expect(errors.first?.int("count") == 1)
            #expect(errors.first?.string("error")?.contains("health") == true)
            #expect(json.object("metrics")?.int("bucketSizeSeconds") == 10)
        }
    }

    @Test func decodesPercentEncodedSubStreamIds() async throws {
        try await withStreams { client, _ async throws in
            let response = try await client.get(Self.streamPath(Self.snapshots, "/substreams/eu%2F1/status"))
            #expect(response.status == .ok)
            #expect(try response.json.int("checkStateCount") == 2)
        }
    }

    @Test func showsTheStateOfEachModel() async throws {
        try await withStreams { client, _ async throws in
            let states = try await client.get(Self.streamPath(Self.states, "/status")).json
            let expiry = try #require(states.object("mainStreamStatus")?.object("subStreamState"))
            #expect(expiry.string("_type") == "HealthSubStreamExpiry")
            #expect(expiry.int("repeatIntervalMs") == 30_000)
            #expect(expiry.int("expiryIntervalMs") == 90_000)

            let increments = try await client.get(Self.streamPath(Self.increments, "/status")).json
            let checkpoint = try #require(increments.object("mainStreamStatus")?.object("subStreamState"))
            #expect(checkpoint.string("_type") == "HealthSubStreamTransactionalIncrements")
            #expect(checkpoint.int("offset") == 7)
            #expect(checkpoint.int("batchIndex") == 2)
        }
    }

    @Test func answers404HealthStreamNotFound() async throws {
        try await withStreams { client, _ async throws in
            for suffix in ["/status", "/substreams", "/substreams/us/status"] {
                let response = try await client.get(Self.streamPath("urn:health:nope:nope", suffix))
                #expect(response.status == .notFound)
                let json = try response.json
                #expect(json.string("_type") == "HealthStreamNotFound")
                #expect(json.string("urn") == "urn:health:nope:nope")
            }
        }
    }

    @Test func answers404HealthSubStreamNotFound() async throws {
        try await withStreams { client, _ async throws in
            let response = try await client.get(Self.streamPath(Self.snapshots, "/substreams/mars/status"))
            #expect(response.status == .notFound)
            let json = try response.json
            #expect(json.string("_type") == "HealthSubStreamNotFound")
            #expect(json.string("urn") == Self.snapshots)
            #expect(json.string("subStreamId") == "mars")
        }
    }

    @Test(arguments: ["not-a-urn", "urn%3Ahealth%20with%20spaces", "%ZZ"])
    func answers400InvalidUrn(segment: String) async throws {
        try await withStreams { client, _ async throws in
            let response = try await client.get("\(Self.streams)/\(segment)/status")
            #expect(response.status == .badRequest)
            #expect(try response.json.string("_type") == "InvalidUrn")
        }
    }

    @Test func clearsErrorsWith204() async throws {
        try await withStreams { client, harness async throws in
            let response = try await client.execute(
                uri: Self.streamPath(Self.snapshots, "/clearErrors"), method: .post,
                headers: [.stsAPIKeyForTests: Harness.key]
            )
            #expect(response.status == .noContent)
            #expect(response.body.readableBytes == 0)
            #expect(try await harness.store.errors(of: Self.snapshots).isEmpty)
            let missing = try await client.execute(
                uri: Self.streamPath("urn:health:nope:nope", "/clearErrors"), method: .post,
                headers: [.stsAPIKeyForTests: Harness.key]
            )
            #expect(missing.status == .notFound)
            #expect(try missing.json.string("_type") == "HealthStreamNotFound")
        }
    }

    @Test func deletesAStreamWith204ThenAnswers404() async throws {
        try await withStreams { client, harness async throws in
            let path = Self.streamPath(Self.snapshots)
            let headers: HTTPFields = [.stsAPIKeyForTests: Harness.key]
            #expect(try await client.execute(uri: path, method: .delete, headers: headers).status == .noContent)
            #expect(try await harness.store.stream(Self.snapshots) == nil)
            #expect(try await harness.store.checkStates(urn: Self.snapshots, subStreamId: nil).isEmpty)
            #expect(try await client.execute(uri: path, method: .delete, headers: headers).status == .notFound)
            #expect(try await client.get(Self.streamPath(Self.snapshots, "/status")).status == .notFound)
        }
    }

    @Test func listsCurrentCheckStatesWithFilters() async throws {
        try await withStreams { client, _ async throws in
            let all = try await client.get("/api/health/checkstates").json.objects("checkStates")
            #expect(all.map { $0.string("checkStateId") } == ["job", "disk", "cpu", "mem", "ping"])

            let stream = try await client.get("/api/health/checkstates?urn=\(encoded(Self.snapshots))").json
            #expect(stream.objects("checkStates").map { $0.string("checkStateId") } == ["disk", "cpu", "mem"])
            #expect(stream.objects("checkStates").first?["subStreamId"] is NSNull)

            let subStream = try await client.get(
                "/api/health/checkstates?urn=\(encoded(Self.snapshots))&subStreamId=eu%2F1"
            ).json
            #expect(subStream.objects("checkStates").map { $0.string("checkStateId") } == ["cpu", "mem"])

            let main = try await client.get("/api/health/checkstates?urn=\(encoded(Self.snapshots))&subStreamId=").json
            #expect(main.objects("checkStates").map { $0.string("checkStateId") } == ["disk"])

            let failing = try await client.get("/api/health/checkstates?health=critical,Deviating").json
            #expect(failing.objects("checkStates").map { $0.string("checkStateId") } == ["disk", "cpu"])
            #expect(failing.objects("checkStates").map { $0.string("health") } == ["DEVIATING", "CRITICAL"])
        }
    }

    @Test func refusesAnUnknownHealthFilter() async throws {
        try await withStreams { client, _ async throws in
            let response = try await client.get("/api/health/checkstates?health=PURPLE")
            #expect(response.status == .badRequest)
            #expect(try response.json.string("_type") == "InvalidQuery")
        }
    }
}
