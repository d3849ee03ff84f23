import HTTPTypes
import HealthSync
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HealthSyncHTTP

@Suite struct BodyTests {
    static let urn = "urn:health:sourceId:streamId"
    static let body = Payload.envelope([
        Payload.snapshot(urn, states: [Payload.checkState("disk", health: "Deviating"), Payload.checkState("cpu")])
    ])

    @Test(arguments: ["gzip", "x-gzip", "GZIP"])
    func acceptsAGzipBody(encoding: String) async throws {
        let harness = try Harness()
        let compressed = try RequestBodyReader.compress(Array(Self.body.utf8))
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: intakePath, method: .post,
                headers: [.contentType: "application/json", .contentEncoding: encoding], body: compressed
            )
            #expect(response.status == .ok)
            #expect(try response.json.object("checkStates")?.int("created") == 2)
        }
        #expect(try await harness.store.allCheckStates().count == 2)
    }

    @Test func acceptsADeflateBody() async throws {
        let harness = try Harness()
        let compressed = try RequestBodyReader.compress(Array(Self.body.utf8), as: .deflate)
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: intakePath, method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "deflate"], body: compressed
            )
            #expect(response.status == .ok)
        }
    }

    @Test func refusesAGzipBombWithoutInflatingIt() async throws {
        // 64 MiB of spaces compress to about 64 KiB; the limit is 1 MiB.
        let limit = 1 << 20
        let harness = try Harness(configuration: Harness.configuration(maximumBodyBytes: limit))
        let bomb = try RequestBodyReader.compress(
            Array("{\"health\":[".utf8) + [UInt8](repeating: 0x20, count: 64 << 20) + Array("]}".utf8)
        )
        #expect(bomb.readableBytes < limit)
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: intakePath, method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "gzip"], body: bomb
            )
            #expect(response.status == .contentTooLarge)
            let json = try response.json
            #expect(json.string("_type") == "PayloadTooLarge")
            #expect(json.int("limit") == limit)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func inflatesNoMoreThanTheLimitPlusOneByte() throws {
        let limit = 100_000
        var inflater = try RequestBodyReader.Inflater(coding: .gzip, limit: limit)
        var bomb = try RequestBodyReader.compress([UInt8](repeating: 0x20, count: 50 << 20))
        // Feed it in small pieces, as a socket would.
        var refused = false
        while bomb.readableBytes > 0, !refused {
            guard let piece = bomb.readSlice(length: min(1024, bomb.readableBytes)) else { break }
            do {
                try inflater.inflate(piece)
            } catch {
                #expect(error.code == .bodyTooLarge)
                refused = true
            }
        }
        #expect(refused)
        #expect(bomb.readableBytes > 0, "refused before the compressed input ran out")
    }

    @Test func refusesABodyOverTheLimit() async throws {
        let harness = try Harness(configuration: Harness.configuration(maximumBodyBytes: 512))
        let body = Payload.envelope([
            Payload.snapshot(Self.urn, states: (0..<20).map { Payload.checkState("state-\($0)") })
        ])
        #expect(body.utf8.count > 512)
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(body)
            #expect(response.status == .contentTooLarge)
            #expect(try response.json.int("limit") == 512)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func refusesAStreamedBodyOverTheLimitWithoutAContentLength() async throws {
        let reader = RequestBodyReader(limit: 1000)
        let chunks = (0..<10).map { _ in ByteBuffer(repeating: UInt8(ascii: " "), count: 200) }
        let body = RequestBody(asyncSequence: chunks.async)
        let error = await #expect(throws: HealthSyncHTTPError.self) {
            _ = try await reader.read(body, coding: .identity, contentLength: nil)
        }
        #expect(error?.code == .bodyTooLarge)
    }

    @Test func acceptsABodyOfExactlyTheLimit() async throws {
        let body = Payload.envelope([Payload.snapshot(Self.urn, states: [Payload.checkState("a")])])
        let harness = try Harness(configuration: Harness.configuration(maximumBodyBytes: body.utf8.count))
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(body).status == .ok)
        }
    }

    @Test func refusesCorruptGzip() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: intakePath, method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "gzip"],
                body: ByteBuffer(string: "this is not gzip at all")
            )
            #expect(response.status == .badRequest)
            #expect(try response.json.string("_type") == "InvalidContentEncoding")
        }
    }

    @Test func refusesTruncatedGzip() async throws {
        let harness = try Harness()
        var compressed = try RequestBodyReader.compress(Array(Self.body.utf8))
        let truncated = compressed.readSlice(length: compressed.readableBytes - 12) ?? ByteBuffer()
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: intakePath, method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "gzip"], body: truncated
            )
            #expect(response.status == .badRequest)
            #expect(try response.json.string("message")?.contains("truncated") == true)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func refusesDataAfterTheEndOfTheGzipStream() async throws {
        let harness = try Harness()
        var withTrailer = try RequestBodyReader.compress(Array(Self.body.utf8))
        withTrailer.writeString("trailing")
        let compressed = withTrailer
        try await harness.test { client async throws in
            let response = try await client.execute(
                uri: intakePath, method: .post,
                headers: [.contentType: "application/json", .contentEncoding: "gzip"], body: compressed
            )
            #expect(response.status == .badRequest)
        }
    }

    @Test(arguments: ["br", "compress", "gzip, br"])
    func refusesAnUnsupportedContentEncoding(encoding: String) async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.body, headers: [.contentType: "application/json", .contentEncoding: encoding])
            #expect(response.status == .unsupportedMediaType)
            #expect(try response.json.string("_type") == "UnsupportedContentEncoding")
        }
    }

    @Test func acceptsIdentityEncoding() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.body, headers: [.contentType: "application/json", .contentEncoding: "identity"])
            #expect(response.status == .ok)
        }
    }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence (a request body that arrives in chunks).
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
