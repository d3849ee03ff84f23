import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

/// A store that cannot be read now (SQLite's `SQLITE_IOERR_READ`, `_SHORT_READ`, `_SHMMAP`, a lock held past the
/// busy timeout: `StorageError.unavailable`, Docs/reliability.md) answers the status API with 503 and
/// `retry-after`, like a store that cannot be written; a damaged one with 500. Both recover when the fault goes.
@Suite struct StorageReadFaultTests {
    static let urn = "urn:health:sourceId:streamId"
    static let streams = "/api/synchronization/health/streams"
    static let paths = [
        streams,
        "\(streams)/\(encoded(urn))/status",
        "\(streams)/\(encoded(urn))/substreams",
        "\(streams)/\(encoded(urn))/substreams/eu-1/status",
        "/api/health/checkstates?urn=\(encoded(urn))",
    ]

    static func seed(_ client: some TestClientProtocol) async throws {
        let body = Payload.envelope([
            Payload.snapshot(urn, states: [Payload.checkState("disk")]),
            Payload.snapshot(urn, subStream: "eu-1", expiryInterval: 600, states: [Payload.checkState("cpu")]),
        ])
        #expect(try await client.postEnvelope(body).status == .ok)
    }

    @Test(arguments: paths)
    func aReadTheStoreCannotServeNowAnswers503AndRecovers(path: String) async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        try await harness.test { client async throws in
            try await Self.seed(client)
            store.failStateReads(with: StorageError(code: .unavailable, message: "disk I/O error (SQLITE_IOERR_READ)"))
            let response = try await client.get(path)
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "5")
            let json = try response.json
            #expect(json.string("_type") == "StorageUnavailable")
            #expect(json.string("storage") == "unavailable")
            #expect(json.string("message") == "the store cannot be read now (unavailable); retry later")

            store.failStateReads(with: nil)
            #expect(try await client.get(path).status == .ok)
        }
    }

    @Test(arguments: paths)
    func aReadOfADamagedStoreAnswers500(path: String) async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        try await harness.test { client async throws in
            try await Self.seed(client)
            store.failStateReads(with: StorageError(code: .corrupt, message: "database disk image is malformed"))
            let response = try await client.get(path)
            #expect(response.status == .internalServerError)
            #expect(response.headers[.retryAfter] == nil)
            let json = try response.json
            #expect(json.string("_type") == "StorageFailure")
            #expect(json.string("storage") == "corrupt")
        }
    }

    /// An envelope whose reads fail is refused with 503 too, and nothing of it is applied.
    @Test func anEnvelopeWhoseReadsFailAnswers503AndAppliesNothing() async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        try await harness.test { client async throws in
            store.failStateReads(with: StorageError(code: .unavailable, message: "disk I/O error"))
            let response = try await client.postEnvelope(
                Payload.envelope([Payload.snapshot(Self.urn, states: [Payload.checkState("disk")])]))
            #expect(response.status == .serviceUnavailable)
            #expect(try response.json.string("storage") == "unavailable")
            store.failStateReads(with: nil)
            #expect(try await store.streams().isEmpty)
        }
    }
}
