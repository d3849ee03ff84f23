import Foundation
import HTTPTypes
import HealthSync
import HealthSyncSQLite
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HealthSyncHTTP

/// Requests that abuse the API rather than the connection: unbounded reads, keys that disagree, idempotency keys
/// reused under another API key.
@Suite struct HostileRequestTests {
    static let urn = "urn:health:pages:one"
    static let otherKey = "other-key"

    static func snapshot(_ ids: [String], health: String = "CLEAR", urn: String = urn) -> String {
        Payload.envelope([Payload.snapshot(urn, states: ids.map { Payload.checkState($0, health: health) })])
    }

    // MARK: Check-state pages

    @Test func pagesCheckStatesWithACursorUntilTheLastPage() async throws {
        let harness = try Harness()
        let ids = (0..<7).map { "check-\($0)" }
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(Self.snapshot(ids)).status == .ok)
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = "limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let json = try await client.get("/api/health/checkstates?\(query)").json
                let page = json.objects("checkStates").compactMap { $0.string("checkStateId") }
                #expect(page.count <= 3)
                seen += page
                cursor = json.string("nextCursor")
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == ids)
        }
    }

    @Test func answersTheDefaultPageWithoutALimitAndNoCursorWhenAllFit() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(Self.snapshot(["a", "b"])).status == .ok)
            let json = try await client.get("/api/health/checkstates").json
            #expect(json.objects("checkStates").count == 2)
            #expect(json["nextCursor"] == nil)
        }
    }

    @Test func filtersEveryPageByHealth() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let critical = Self.snapshot(["a", "b", "c", "d"], health: "CRITICAL")
            #expect(try await client.postEnvelope(critical).status == .ok)
            let other = Self.snapshot(["e", "f"], urn: "urn:health:pages:two")
            #expect(try await client.postEnvelope(other).status == .ok)
            let first = try await client.get("/api/health/checkstates?health=CRITICAL&limit=2").json
            let cursor = try #require(first.string("nextCursor"))
            let second = try await client.get("/api/health/checkstates?health=CRITICAL&limit=2&cursor=\(cursor)").json
            #expect(second.objects("checkStates").compactMap { $0.string("checkStateId") } == ["c", "d"])
            #expect(second["nextCursor"] == nil)
        }
    }

    @Test(arguments: ["limit=0", "limit=10001", "limit=ten", "cursor=not-a-cursor"])
    func refusesABadLimitOrCursor(_ query: String) async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.get("/api/health/checkstates?\(query)")
            #expect(response.status == .badRequest)
            #expect(try response.json.string("_type") == "InvalidQuery")
        }
    }

    /// The SQLite store reads a page from its index; it lists the same check states as the in-memory default.
    @Test func theSQLiteStoreWalksThePagesOfTheDefault() async throws {
        let memory = InMemoryHealthStore()
        let sqlite = try SQLiteHealthStore.inMemory()
        let ids = (0..<9).map { "c\($0)" }
        for store in [memory, sqlite] as [any HealthStoreQueries] {
            let processor = HealthProcessor(store: store, logger: Harness.logger)
            for (index, urn) in ["urn:health:p:b", "urn:health:p:a"].enumerated() {
                let envelope = try EnvelopeDecoder().decode(
                    Array(Self.snapshot(ids, health: index == 0 ? "CLEAR" : "CRITICAL", urn: urn).utf8))
                try await processor.apply(envelope, at: Harness.start)
            }
        }
        for healths in [nil, Set([Health.critical])] {
            var pages: [[[String]]] = []
            for store in [memory, sqlite] as [any HealthStoreQueries] {
                var walked: [[String]] = []
                var position: CheckStatePosition?
                for _ in 0..<20 {
                    let page = try await store.checkStates(
                        urn: nil, subStreamId: nil, healths: healths, after: position, limit: 4)
                    guard let last = page.last else { break }
                    walked.append(page.map { "\($0.key.urn) \($0.checkStateId)" })
                    position = CheckStatePosition(last)
                }
                pages.append(walked)
            }
            #expect(pages[0] == pages[1])
            #expect(pages[0].joined().count == (healths == nil ? 18 : 9))
        }
    }

    // MARK: API keys

    @Test(arguments: [
        (query: HostileRequestTests.otherKey, header: Harness.key),
        (query: Harness.key, header: HostileRequestTests.otherKey),
        (query: "wrong", header: Harness.key),
    ])
    func refusesARequestWhoseTwoKeysDisagree(query: String, header: String) async throws {
        let harness = try Harness(configuration: Harness.configuration(apiKeys: [Harness.key, Self.otherKey]))
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.snapshot(["a"]), path: "/stsAgent/intake?api_key=\(query)",
                headers: [.contentType: "application/json", .stsAPIKeyForTests: header]
            )
            #expect(response.status == .badRequest)
            #expect(try response.json.string("_type") == "ConflictingApiKeys")
            let list = try await client.execute(
                uri: "/api/synchronization/health/streams?api_key=\(query)", method: .get,
                headers: [.stsAPIKeyForTests: header]
            )
            #expect(list.status == .badRequest)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func acceptsTheSameKeyInTheHeaderAndTheQuery() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.snapshot(["a"]), headers: [.contentType: "application/json", .stsAPIKeyForTests: Harness.key]
            )
            #expect(response.status == .ok)
        }
    }

    /// The same `Idempotency-Key` from another API key is another request: it is applied, not answered
    /// `alreadyApplied` for a body it never sent.
    @Test func scopesAnIdempotencyKeyToTheAPIKeyThatSentIt() async throws {
        let harness = try Harness(configuration: Harness.configuration(apiKeys: [Harness.key, Self.otherKey]))
        try await harness.test { client async throws in
            func post(_ body: String, apiKey: String) async throws -> [String: Any] {
                let response = try await client.postEnvelope(
                    body, path: "/stsAgent/intake",
                    headers: [
                        .contentType: "application/json", .stsAPIKeyForTests: apiKey,
                        .idempotencyKeyForTests: "shared",
                    ]
                )
                #expect(response.status == .ok)
                return try response.json
            }
            #expect(try await post(Self.snapshot(["a"]), apiKey: Harness.key)["alreadyApplied"] as? Bool == false)
            let other = Self.snapshot(["b"], urn: "urn:health:pages:other")
            #expect(try await post(other, apiKey: Self.otherKey)["alreadyApplied"] as? Bool == false)
            #expect(try await post(other, apiKey: Self.otherKey)["alreadyApplied"] as? Bool == true)
        }
        #expect(try await harness.store.allCheckStates().map(\.checkStateId).sorted() == ["a", "b"])
    }
}
