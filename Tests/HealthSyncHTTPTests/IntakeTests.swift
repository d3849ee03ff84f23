import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct IntakeTests {
    static let urn = "urn:health:sourceId:streamId"

    static func snapshot(_ urn: String = urn, states: [String]) -> String {
        Payload.envelope([Payload.snapshot(urn, states: states)])
    }

    @Test(arguments: ["/receiver/stsAgent/intake", "/stsAgent/intake"])
    func appliesAnEnvelopeAndReportsWhatItDid(path: String) async throws {
        let harness = try Harness()
        let body = Self.snapshot(states: [
            Payload.checkState("disk", health: "Deviating"), Payload.checkState("cpu", health: "critical"),
        ])
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(body, path: "\(path)?api_key=\(Harness.key)")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let json = try response.json
            #expect(json.int("messagesApplied") == 1)
            #expect(json.int("messagesRejected") == 0)
            #expect(json.object("checkStates")?.int("created") == 2)
            #expect(json["appliedAt"] as? Double == Harness.start.timeIntervalSince1970)
            #expect(json.objects("rejections").isEmpty)
        }
        let states = try await harness.store.allCheckStates()
        #expect(states.map(\.checkStateId) == ["cpu", "disk"])
        #expect(states.map(\.checkState.health) == [.critical, .deviating])
    }

    @Test func reportsEveryRejectedMessageWithPathAndReasonAndAppliesTheOthers() async throws {
        let harness = try Harness()
        let body = Payload.envelope([
            Payload.snapshot(Self.urn, states: [Payload.checkState("a")]),
            #"{"stream":{"urn":42},"check_states":[]}"#,
            #"{"stream":{"urn":"urn:health:x:y"},"consistency_model":"SOMETIMES","check_states":[]}"#,
        ])
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(body)
            #expect(response.status == .ok)
            let json = try response.json
            #expect(json.int("messagesApplied") == 1)
            #expect(json.int("messagesRejected") == 2)
            let rejections = json.objects("rejections")
            #expect(rejections.map { $0.string("path") } == ["health[1].stream.urn", "health[2].consistency_model"])
            #expect(rejections.allSatisfy { ($0.string("reason") ?? "").contains("expected") })
            #expect(rejections.first?.string("value") == "42")
        }
        #expect(try await harness.store.allCheckStates().map(\.checkStateId) == ["a"])
    }

    @Test func reportsErrorsOpenedByCode() async throws {
        let harness = try Harness()
        let body = Self.snapshot(states: [
            #"{"checkStateId":"bad","name":"x","health":"PURPLE","topologyElementIdentifier":"e"}"#
        ])
        try await harness.test { client async throws in
            let json = try await client.postEnvelope(body).json
            #expect(json.object("errorsOpened")?.int("SubStreamTransformerError") == 1)
        }
    }

    @Test func refusesAnUndecodableEnvelopeWithLineAndColumnAndStoresNothing() async throws {
        let harness = try Harness()
        let body = try Fixtures.text("invalid/01-documentation-4.4-broken/payload.json")
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(body)
            #expect(response.status == .badRequest)
            let json = try response.json
            #expect(json.string("_type") == "InvalidEnvelope")
            #expect(json.string("code") == "malformedJSON")
            #expect(json.string("path") == "$")
            #expect(json.int("line") == 25)
            #expect(json.int("column") == 9)
            #expect(json.string("message")?.contains("documentation defect") == true)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func refusesAnEnvelopeWhoseHealthIsNotAnArray() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(#"{"health":{"stream":{}}}"#)
            #expect(response.status == .badRequest)
            let json = try response.json
            #expect(json.string("code") == "invalidEnvelope")
            #expect(json.string("path") == "health")
        }
    }

    @Test(arguments: ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
    func refusesAContentTypeThatIsNotJSON(contentType: String) async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.snapshot(states: []), headers: [.contentType: contentType])
            #expect(response.status == .unsupportedMediaType)
            #expect(try response.json.string("_type") == "UnsupportedMediaType")
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test(arguments: ["application/json", "application/json; charset=utf-8", "application/vnd.sts+json", "text/json"])
    func acceptsJSONContentTypes(contentType: String) async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.snapshot(states: []), headers: [.contentType: contentType])
            #expect(response.status == .ok)
        }
    }

    @Test func acceptsABodyWithoutContentType() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(Self.snapshot(states: []), headers: [:]).status == .ok)
        }
    }

    @Test func appliesASnapshotSplitOverSeveralRequests() async throws {
        let harness = try Harness()
        let urn = Self.urn
        try await harness.test { client async throws in
            // A first complete snapshot with three check states.
            try await client.postEnvelope(
                Self.snapshot(states: [Payload.checkState("a"), Payload.checkState("b"), Payload.checkState("c")]))
            // The next snapshot spans three requests: start + a, then b, then the stop.
            let start = Payload.envelope([Payload.snapshot(urn, stop: false, states: [Payload.checkState("a")])])
            let middle = Payload.envelope([
                Payload.snapshot(urn, start: false, stop: false, states: [Payload.checkState("b", health: "CRITICAL")])
            ])
            let stop = Payload.envelope([Payload.snapshot(urn, start: false, stop: true, states: [])])
            #expect(try await client.postEnvelope(start).json.object("checkStates")?.int("deleted") == 0)
            #expect(try await client.postEnvelope(middle).json.object("checkStates")?.int("updated") == 1)
            let last = try await client.postEnvelope(stop).json
            #expect(last.object("checkStates")?.int("deleted") == 1, "c was not in the snapshot")
        }
        let states = try await harness.store.allCheckStates()
        #expect(states.map(\.checkStateId) == ["a", "b"])
        #expect(states.last?.checkState.health == .critical)
    }

    @Test func concurrentPostsToManyStreamsAreAllApplied() async throws {
        let harness = try Harness()
        let count = 64
        try await harness.test { client async throws in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let body = Self.snapshot(
                            "urn:health:load:stream-\(index)",
                            states: [Payload.checkState("s\(index)-a"), Payload.checkState("s\(index)-b")]
                        )
                        return try await client.postEnvelope(body).status.code
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
        }
        let streams = try await harness.store.streams()
        #expect(streams.count == count)
        #expect(streams.allSatisfy { $0.checkStateCount == 2 })
    }

    @Test func envelopesOfOneStreamAreAppliedInArrivalOrder() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            for health in ["CLEAR", "DEVIATING", "CRITICAL", "CLEAR", "DEVIATING"] {
                try await client.postEnvelope(Self.snapshot(states: [Payload.checkState("disk", health: health)]))
            }
        }
        let events = try await harness.store.events(EventQuery(urn: Self.urn, checkStateId: "disk"))
        #expect(events.compactMap(\.checkState?.health) == [.clear, .deviating, .critical, .clear, .deviating])
    }

    @Test func answers503WhenTheStoreIsFullAndWritesNothing() async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        store.failCommits(with: StorageError(code: .full, message: "database or disk is full"))
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(Self.snapshot(states: [Payload.checkState("a")]))
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "5")
            let json = try response.json
            #expect(json.string("_type") == "StorageUnavailable")
            #expect(json.string("storage") == "full")
        }
        #expect(try await store.streams().isEmpty)
        #expect(try await store.allCheckStates().isEmpty)
    }

    @Test(arguments: [StorageError.Code.readOnly, .unavailable])
    func answers503ForStoresThatCannotWrite(code: StorageError.Code) async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        store.failCommits(with: StorageError(code: code, message: "cannot write"))
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(Self.snapshot(states: [Payload.checkState("a")]))
            #expect(response.status == .serviceUnavailable)
            #expect(try response.json.string("storage") == code.description)
        }
    }

    @Test func answers500ForACorruptStore() async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        store.failCommits(with: StorageError(code: .corrupt, message: "file is not a database"))
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(Self.snapshot(states: [Payload.checkState("a")]))
            #expect(response.status == .internalServerError)
            #expect(try response.json.string("_type") == "StorageFailure")
        }
    }

    @Test func strictModeReportsUnknownKeysAsWarnings() async throws {
        let harness = try Harness(configuration: Harness.configuration(strict: true))
        let body = Payload.envelope([
            #"{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":60},"colour":"red","check_states":[],"stop_snapshot":{}}"#
        ])
        try await harness.test { client async throws in
            let json = try await client.postEnvelope(body).json
            #expect(json.objects("warnings").map { $0.string("path") } == ["health[0].colour"])
        }
    }

    @Test func appliesAtTheInjectedClockNotTheCollectionTimestamp() async throws {
        let harness = try Harness()
        let body = Payload.envelope(at: 1_000, [Payload.snapshot(Self.urn, states: [Payload.checkState("a")])])
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(body).json["appliedAt"] as? Double == 1_700_000_000)
        }
        let states = try await harness.store.allCheckStates()
        #expect(states.first?.lastSeenAt == Harness.start)
    }
}

/// The repository's `Fixtures/` directory.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The text of a fixture file, by path below `Fixtures/`.
    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }
}
