import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct IdempotencyKeyTests {
    static let urn = "urn:health:sourceId:streamId"

    static func headers(key: String) -> HTTPFields {
        [.contentType: "application/json", .idempotencyKeyForTests: key]
    }

    /// The receipt of `key` sent with the test API key: scoped to a digest of the API key.
    static func receipt(_ key: String) -> String {
        "http:\(PayloadFile.digest(Harness.key.utf8)):\(key)"
    }

    static func snapshot(_ health: String) -> String {
        Payload.envelope([
            Payload.snapshot(urn, states: [Payload.checkState("disk", health: health), Payload.checkState("cpu")])
        ])
    }

    @Test func appliesAKeyedEnvelopeOnceAndStoresItsReceipt() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(Self.snapshot("CRITICAL"), headers: Self.headers(key: "k-1"))
            #expect(response.status == .ok)
            let json = try response.json
            #expect(json["alreadyApplied"] as? Bool == false)
            #expect(json.int("messagesApplied") == 1)
            #expect(json.object("checkStates")?.int("created") == 2)
            #expect(json["appliedAt"] as? Double == Harness.start.timeIntervalSince1970)
        }
        #expect(try await harness.store.allCheckStates().map(\.checkStateId) == ["cpu", "disk"])
        #expect(try await harness.store.hasReceipt(Self.receipt("k-1")))
    }

    /// A repeat of a committed key applies nothing, even after the stream moved on: a re-applied envelope would
    /// set `disk` back to CRITICAL and write events.
    @Test func aRepeatedKeyIsNotAppliedAgainAndSaysSo() async throws {
        let harness = try Harness()
        let keyed = Self.snapshot("CRITICAL")
        let store = harness.store
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(keyed, headers: Self.headers(key: "k-1")).status == .ok)
            harness.clock.advance(by: 1)
            #expect(try await client.postEnvelope(Self.snapshot("CLEAR")).status == .ok)
            let states = try await store.allCheckStates()
            let events = try await store.events(EventQuery())
            let clock = try await store.clock()
            #expect(states.first { $0.checkStateId == "disk" }?.checkState.health == .clear)

            harness.clock.advance(by: 1)
            let response = try await client.postEnvelope(keyed, headers: Self.headers(key: "k-1"))
            #expect(response.status == .ok)
            let json = try response.json
            #expect(json["alreadyApplied"] as? Bool == true)
            #expect(json["appliedAt"] == nil)
            #expect(json.int("messagesApplied") == 0)
            #expect(json.object("checkStates")?.int("created") == 0)
            #expect(json.object("checkStates")?.int("updated") == 0)
            #expect(json.object("checkStates")?.int("deleted") == 0)

            #expect(try await store.allCheckStates() == states, "check states unchanged by the repeat")
            #expect(try await store.events(EventQuery()) == events, "no event written by the repeat")
            #expect(try await store.clock() == clock, "the clock does not move for a repeat")
        }
    }

    @Test func concurrentPostsOfOneKeyApplyTheEnvelopeOnce() async throws {
        let harness = try Harness()
        let body = Payload.envelope([
            Payload.increment(
                Self.urn, checkpoint: Checkpoint(offset: 1), previous: nil, states: [Payload.checkState("a")])
        ])
        let answers = try await harness.test { client async throws in
            try await withThrowingTaskGroup(of: (Int, Bool?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await client.postEnvelope(body, headers: Self.headers(key: "same"))
                        return (response.status.code, try response.json["alreadyApplied"] as? Bool)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(answers.allSatisfy { $0.0 == 200 })
        #expect(answers.filter { $0.1 == false }.count == 1, "one applies it")
        #expect(answers.filter { $0.1 == true }.count == 7, "the others are told it was applied")
        let created = try await harness.store.events(EventQuery()).filter { $0.kind == .checkStateCreated }
        #expect(created.count == 1)
    }

    @Test(arguments: [
        "",
        String(repeating: "k", count: 201),
        "naïve",
        "tab\tinside",
    ])
    func refusesAnInvalidKeyNamingTheHeaderAndAppliesNothing(key: String) async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(Self.snapshot("CLEAR"), headers: Self.headers(key: key))
            #expect(response.status == .badRequest)
            let json = try response.json
            #expect(json.string("_type") == "InvalidHeader")
            #expect(json.string("header") == "Idempotency-Key")
            #expect(json.string("message")?.hasPrefix("Idempotency-Key ") == true)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func refusesAKeySentTwice() async throws {
        let harness = try Harness()
        var twice = Self.headers(key: "a")
        twice.append(HTTPField(name: .idempotencyKeyForTests, value: "b"))
        let headers = twice
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(Self.snapshot("CLEAR"), headers: headers)
            #expect(response.status == .badRequest)
            #expect(try response.json.string("header") == "Idempotency-Key")
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test(arguments: [String(repeating: "k", count: 200), "a", "urn:health:x:y/42 ~!"])
    func acceptsKeysOfPrintableASCII(key: String) async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(Self.snapshot("CLEAR"), headers: Self.headers(key: key))
            #expect(response.status == .ok)
        }
        #expect(try await harness.store.hasReceipt(Self.receipt(key)))
    }

    /// Without the header the answer is the one it always was, byte for byte (Docs/http.md replays it).
    @Test func anEnvelopeWithoutAKeyIsAnsweredAsBefore() async throws {
        let harness = try Harness()
        try await harness.test { client async throws in
            let body = Payload.envelope([Payload.snapshot(Self.urn, states: [Payload.checkState("a")])])
            let first = try await client.postEnvelope(body)
            #expect(first.status == .ok)
            #expect(
                first.text
                    == #"{"appliedAt":1700000000,"checkStates":{"created":1,"deleted":0,"updated":0},"#
                    + #""errorsOpened":{},"messagesApplied":1,"messagesRejected":0,"rejections":[],"#
                    + #""timersFired":0,"warnings":[]}"#
            )
            // The same envelope again, without a key, is applied again (a snapshot of the same state).
            let second = try await client.postEnvelope(body)
            #expect(try second.json["alreadyApplied"] == nil)
            #expect(try second.json.int("messagesApplied") == 1)
        }
        let completed = try await harness.store.events(EventQuery()).filter { $0.kind == .snapshotCompleted }
        #expect(completed.count == 2)
    }

    /// HTTP keys live in a namespace of their own: a key spelled like a `healthsync replay` receipt is a new key.
    @Test func aKeySpelledLikeAReplayReceiptDoesNotCollideWithIt() async throws {
        let harness = try Harness()
        let envelope = try EnvelopeDecoder().decode(Array(Self.snapshot("CLEAR").utf8))
        try await harness.processor.apply(envelope, at: Harness.start, receipt: "replay:abc:1")
        try await harness.test { client async throws in
            let response = try await client.postEnvelope(
                Self.snapshot("CRITICAL"), headers: Self.headers(key: "replay:abc:1"))
            #expect(try response.json["alreadyApplied"] as? Bool == false)
        }
        let disk = try await harness.store.allCheckStates().first { $0.checkStateId == "disk" }
        #expect(disk?.checkState.health == .critical)
    }
}

extension HTTPField.Name {
    // swift-format-ignore: NeverForceUnwrap
    static let idempotencyKeyForTests = HTTPField.Name("Idempotency-Key")!
}
