import Foundation
import HealthSync
import HealthSyncTesting
import Testing

/// SPEC §2: the three validation levels, strict mode, and the documentation examples.
@Suite struct EnvelopeDecoderTests {
    let decoder = EnvelopeDecoder()
    let urn = "urn:health:test:decoder"

    private func decode(_ text: String, strict: Bool = false) throws -> Envelope {
        try EnvelopeDecoder(strict: strict).decode(Array(text.utf8))
    }

    private func envelopeError(_ text: String) -> PayloadError? {
        do {
            _ = try decode(text)
            return nil
        } catch {
            return error as? PayloadError
        }
    }

    /// The repository's `Fixtures/`, which holds byte-identical copies of the StackState documentation examples.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    @Test func decodesTheCorrectedDocumentationExample() throws {
        let bytes = try Data(
            contentsOf: Self.fixtures.appendingPathComponent("scenarios/00-documentation-example/payload.json"))
        let envelope = try decoder.decode(bytes)
        // Published as 1548857167; stamped next to the other scenarios (Fixtures/README.md).
        #expect(envelope.collectionTimestamp?.timeIntervalSince1970 == 1_700_000_000)
        #expect(envelope.internalHostname == "localdocker.test")
        let message = try #require(envelope.messages.first)
        #expect(message.stream == .main("urn:health:sourceId:streamId"))
        #expect(message.consistencyModel == .repeatSnapshots)
        #expect(message.startSnapshot == Intervals(repeatInterval: 300))
        #expect(message.stopSnapshot)
        #expect(
            message.checkStates == [
                .upsert(
                    CheckState(
                        checkStateId: "checkStateId1", name: "Disk Usage", health: .deviating,
                        topologyElementIdentifier: "server-1", message: "Server Running out of disk space")),
                .upsert(
                    CheckState(
                        checkStateId: "checkStateId2", name: "Health Monitor", health: .critical,
                        topologyElementIdentifier: "server-2",
                        message: "Provisioning failed. [Learn more](https://www.any-link.com)")),
            ])
    }

    @Test func rejectsTheBroken44ExampleWithLineColumnAndTheDefect() throws {
        let bytes = try Data(
            contentsOf: Self.fixtures.appendingPathComponent("invalid/01-documentation-4.4-broken/payload.json"))
        #expect(throws: PayloadError.self) { try decoder.decode(bytes) }
        do {
            _ = try decoder.decode(bytes)
        } catch {
            #expect(error.code == .malformedJSON)
            #expect(error.line == 25)
            #expect(error.column == 9)

            #expect(error.reason.contains("documentation defect"))
            #expect(error.description.hasPrefix("line 25, column 9: $: expected ',' or '}'"))
        }
    }

    @Test func rejectsHealthAsAListOfListsAsTheDocumentationDefect() throws {
        let envelope = try decode(#"{"health":[[{"stream":{"urn":"urn:health:a:b"}}]]}"#)
        #expect(envelope.messages.isEmpty)
        let rejection = try #require(envelope.rejections.first)
        #expect(rejection.code == .invalidMessage && rejection.path == "health[0]")
        #expect(rejection.reason.contains("documentation defect"))
    }

    static let envelopeLevelCases: [(String, String, PayloadError.Code)] = [
        ("not json", "$", .malformedJSON),
        ("[]", "$", .invalidEnvelope),
        (#"{"health":{}}"#, "health", .invalidEnvelope),
        (#"{"health":"x"}"#, "health", .invalidEnvelope),
        (#"{"collection_timestamp":"yesterday","health":[]}"#, "collection_timestamp", .invalidEnvelope),
        (#"{"collection_timestamp":-1,"health":[]}"#, "collection_timestamp", .invalidEnvelope),
        (#"{"collection_timestamp":1e300,"health":[]}"#, "collection_timestamp", .invalidEnvelope),
        ("", "$", .malformedJSON),
    ]

    @Test(arguments: envelopeLevelCases)
    func rejectsUndecodableEnvelopesAsAWhole(text: String, path: String, code: PayloadError.Code) throws {
        let error = try #require(envelopeError(text))
        #expect(error.code == code)
        #expect(error.path == path)
        #expect(error.code.rejectsEnvelope)
    }

    @Test func rejectsOversizedBodies() throws {
        let small = EnvelopeDecoder(configuration: .init(maximumBodyBytes: 10))
        #expect(throws: PayloadError.self) { try small.decode(Array(#"{"health":[]}"#.utf8)) }
        do {
            _ = try small.decode(Array(#"{"health":[]}"#.utf8))
        } catch {
            #expect(error.code == .bodyTooLarge)
        }
    }

    @Test func acceptsEnvelopesWithoutHealth() throws {
        let envelope = try decode(#"{"collection_timestamp":5,"topologies":[]}"#)
        #expect(envelope.messages.isEmpty && envelope.rejections.isEmpty)
    }

    static let messageLevelCases: [(String, String)] = [
        (#""oops""#, "health[0]"),
        (#"{"check_states":[]}"#, "health[0].stream"),
        (#"{"stream":{}}"#, "health[0].stream.urn"),
        (#"{"stream":{"urn":42}}"#, "health[0].stream.urn"),
        (#"{"stream":{"urn":"not-a-urn"}}"#, "health[0].stream.urn"),
        (#"{"stream":{"urn":"urn:health:a b"}}"#, "health[0].stream.urn"),
        (#"{"stream":{"urn":"urn:health:a:b","sub_stream_id":7}}"#, "health[0].stream.sub_stream_id"),
        (#"{"stream":{"urn":"urn:health:a:b"},"consistency_model":"SOMETIMES"}"#, "health[0].consistency_model"),
        (#"{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{}}"#, "health[0].start_snapshot.repeat_interval_s"),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":-1}}"#,
            "health[0].start_snapshot.repeat_interval_s"
        ),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":1.5}}"#,
            "health[0].start_snapshot.repeat_interval_s"
        ),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":"60"}}"#,
            "health[0].start_snapshot.repeat_interval_s"
        ),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":60,"expiry_interval_s":-5}}"#,
            "health[0].start_snapshot.expiry_interval_s"
        ),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":99999999999}}"#,
            "health[0].start_snapshot.repeat_interval_s"
        ),
        (#"{"stream":{"urn":"urn:health:a:b"},"stop_snapshot":true}"#, "health[0].stop_snapshot"),
        (#"{"stream":{"urn":"urn:health:a:b"},"check_states":{}}"#, "health[0].check_states"),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"consistency_model":"REPEAT_STATES","expiry":{"expiry_interval_s":5}}"#,
            "health[0].expiry.repeat_interval_s"
        ),
        (#"{"stream":{"urn":"urn:health:a:b"},"consistency_model":"TRANSACTIONAL_INCREMENTS"}"#, "health[0].increment"),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"consistency_model":"TRANSACTIONAL_INCREMENTS","increment":{"checkpoint":{"offset":-1}}}"#,
            "health[0].increment.checkpoint.offset"
        ),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"consistency_model":"TRANSACTIONAL_INCREMENTS","increment":{"checkpoint":{"offset":1,"batch_index":"x"}}}"#,
            "health[0].increment.checkpoint.batch_index"
        ),
        (
            #"{"stream":{"urn":"urn:health:a:b"},"consistency_model":"TRANSACTIONAL_INCREMENTS","increment":{"checkpoint":{"offset":2},"previous_checkpoint":5}}"#,
            "health[0].increment.previous_checkpoint"
        ),
    ]

    @Test(arguments: messageLevelCases)
    func rejectsUnattributableMessagesAndKeepsTheOthers(message: String, path: String) throws {
        let good = Payload.snapshot(urn)
        let envelope = try decode(#"{"health":[\#(message),\#(good)]}"#)
        #expect(envelope.rejections.map(\.path) == [path])
        #expect(envelope.rejections.first?.code == .invalidMessage)
        #expect(envelope.messages.map(\.path) == ["health[1]"], "the valid message is still decoded")
    }

    static let checkStateLevelCases: [(String, String, String?)] = [
        (#""x""#, "health[0].check_states[0]", nil),
        (
            #"{"name":"n","health":"CLEAR","topologyElementIdentifier":"e"}"#, "health[0].check_states[0].checkStateId",
            nil
        ),
        (
            #"{"checkStateId":"","name":"n","health":"CLEAR","topologyElementIdentifier":"e"}"#,
            "health[0].check_states[0].checkStateId", nil
        ),
        (
            #"{"checkStateId":"a","health":"CLEAR","topologyElementIdentifier":"e"}"#, "health[0].check_states[0].name",
            "a"
        ),
        (#"{"checkStateId":"a","name":"n","topologyElementIdentifier":"e"}"#, "health[0].check_states[0].health", "a"),
        (
            #"{"checkStateId":"a","name":"n","health":"GREEN","topologyElementIdentifier":"e"}"#,
            "health[0].check_states[0].health", "a"
        ),
        (
            #"{"checkStateId":"a","name":"n","health":1,"topologyElementIdentifier":"e"}"#,
            "health[0].check_states[0].health", "a"
        ),
        (
            #"{"checkStateId":"a","name":"n","health":"CLEAR"}"#, "health[0].check_states[0].topologyElementIdentifier",
            "a"
        ),
        (
            #"{"checkStateId":"a","name":"n","health":"CLEAR","topologyElementIdentifier":"e","message":5}"#,
            "health[0].check_states[0].message", "a"
        ),
    ]

    @Test(arguments: checkStateLevelCases)
    func dropsInvalidCheckStatesWithPathAndReadableId(entry: String, path: String, id: String?) throws {
        let envelope = try decode(Payload.envelope([Payload.snapshot(urn, states: [entry, Payload.checkState("ok")])]))
        let message = try #require(envelope.messages.first)
        #expect(message.checkStates.count == 2)
        guard case .invalid(let readableId, let problem) = message.checkStates[0] else {
            Issue.record("expected an invalid entry, got \(message.checkStates[0])")
            return
        }
        #expect(readableId == id)
        #expect(problem.path == path && problem.code == .invalidCheckState)
        #expect(message.checkStates[1].checkStateId == "ok")
    }

    @Test func quotesTheOffendingValueCut() throws {
        let long = String(repeating: "G", count: 500)
        let envelope = try decode(
            Payload.envelope([Payload.snapshot(urn, states: [Payload.checkState("a", health: long)])]))
        guard case .invalid(_, let problem)? = envelope.messages.first?.checkStates.first else {
            Issue.record("expected an invalid entry")
            return
        }
        let value = try #require(problem.value)
        #expect(value.count <= 60 && value.hasPrefix("\"GGG"))
        #expect(problem.description.contains("health[0].check_states[0].health: expected CLEAR, DEVIATING or CRITICAL"))
    }

    @Test(arguments: ["clear", "Deviating", "CRITICAL", "cRiTiCaL"])
    func healthIsCaseInsensitiveAndStoredUpperCase(value: String) throws {
        #expect(Health(wireValue: value)?.rawValue == value.uppercased())
    }

    @Test func applyOrderIsSetupThenCheckStatesThenStopWhateverTheKeyOrder() throws {
        let text =
            #"{"health":[{"stop_snapshot":{},"check_states":[],"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":5}}]}"#
        let message = try #require(try decode(text).messages.first)
        #expect(message.startSnapshot != nil && message.stopSnapshot)
    }

    @Test func emptyOrNullSubStreamIdIsTheMainSubStream() throws {
        let text =
            #"{"health":[{"stream":{"urn":"urn:health:a:b","sub_stream_id":""}},{"stream":{"urn":"urn:health:a:b","sub_stream_id":null}}]}"#
        #expect(try decode(text).messages.map(\.stream.isMain) == [true, true])
    }

    @Test func checkStatesMissingMeansNone() throws {
        let text = #"{"health":[{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":5}}]}"#
        #expect(try decode(text).messages.first?.checkStates == [])
    }

    @Test func strictModeReportsUnknownKeysWithTheirPaths() throws {
        let text =
            #"{"extra":1,"health":[{"stream":{"urn":"urn:health:a:b","shard":2},"colour":"red","check_states":[{"checkStateId":"a","name":"n","health":"CLEAR","topologyElementIdentifier":"e","tags":[]}]}]}"#
        #expect(try decode(text).warnings.isEmpty, "ignored silently when not strict")
        let strict = try decode(text, strict: true)
        #expect(
            strict.warnings.map(\.path).sorted() == [
                "extra", "health[0].check_states[0].tags", "health[0].colour", "health[0].stream.shard",
            ])
        #expect(strict.warnings.allSatisfy { $0.code == .unknownKey })
        #expect(strict.messages.count == 1)
    }

    @Test func deleteEntriesOnlyInTransactionalIncrements() throws {
        let deletion = Payload.deletion("a")
        let snapshot = try #require(
            try decode(Payload.envelope([Payload.snapshot(urn, states: [deletion])])).messages.first)
        if case .invalid = snapshot.checkStates.first {
        } else {
            Issue.record("a bare delete is invalid in REPEAT_SNAPSHOTS")
        }
        let increment = try #require(
            try decode(
                Payload.envelope([
                    Payload.increment(urn, checkpoint: Checkpoint(offset: 1), states: [deletion])
                ])
            ).messages.first)
        #expect(increment.checkStates == [.delete(checkStateId: "a")])
    }

    @Test func payloadFilesAreOneEnvelopeOrJSONLines() throws {
        let lines = Array("{\"a\":1}\n\n{\"b\":2}\n".utf8)
        #expect(PayloadFile.entries(in: lines).map(\.line) == [1, 3])
        let pretty = Array("{\n  \"health\": []\n}\n".utf8)
        #expect(PayloadFile.entries(in: pretty).map(\.line) == [1])
        #expect(PayloadFile.entries(in: Array("  \n".utf8)).isEmpty)
        let brokenLine = Array("{\"a\":1}\n[1,2]\nnot json\n{\"b\":2}".utf8)
        #expect(PayloadFile.entries(in: brokenLine).map(\.line) == [1, 2, 3, 4], "a bad line is its own envelope")
        let brokenFirst = Array("{\"a\":\n{\"b\":2}\n".utf8)
        #expect(PayloadFile.entries(in: brokenFirst).map(\.line) == [1], "a broken first line: one document")
        #expect(PayloadFile.entries(in: brokenFirst, jsonLines: true).map(\.line) == [1, 2], "unless named .jsonl")
    }

    @Test func jsonLinesAreSplitAtEveryLineFeedAndTrimmed() {
        let text = "\r\n {\"a\":1}\r\n\t\n{\"b\":2}\n\n\n{\"c\":3}"
        let entries = PayloadFile.entries(in: Array(text.utf8), jsonLines: true)
        #expect(entries.map(\.line) == [2, 4, 7], "blank lines count, and the last line needs no line feed")
        #expect(entries.map { String(decoding: $0.bytes, as: UTF8.self) } == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(PayloadFile.entries(in: [], jsonLines: true).isEmpty)
        #expect(PayloadFile.entries(in: Array("\n\n".utf8), jsonLines: true).isEmpty)
        let one = PayloadFile.entries(in: Array("{}\n".utf8), jsonLines: true)
        #expect(one.map(\.line) == [1] && one.first?.bytes.count == 2)
    }
}
