import Foundation
import HealthSyncTesting
import Testing

@testable import HealthSync

/// A check state's text fields (`checkStateId`, `name`, `topologyElementIdentifier`, `message`): control characters
/// and sizes (Docs/wire-format.md, "Text fields"). Each case runs through the decoder's entry point (the fast path
/// first) and through the full decoder alone, which must agree.
@Suite struct CheckStateTextFieldTests {
    static let urn = "urn:health:test:text"

    /// One check state with its fields as given, in a snapshot, as bytes.
    static func envelope(id: String = "a", name: String = "n", element: String = "e", message: String? = nil) -> [UInt8]
    {
        let state = Payload.checkState(id, name: name, element: element, message: message)
        return Array(Payload.envelope([Payload.snapshot(urn, states: [state, Payload.checkState("ok")])]).utf8)
    }

    /// The first check state as the decoder's entry point decodes it, after checking that the full decoder alone
    /// decodes the same envelope and that the fast path either declines or agrees.
    static func decodeFirst(_ bytes: [UInt8]) throws -> CheckStateInput {
        let decoder = EnvelopeDecoder()
        let envelope = try decoder.decode(bytes)
        let full = try decoder.decode(JSONParser(maximumDepth: decoder.configuration.maximumDepth).parse(bytes))
        #expect(envelope == full)
        if let fast = bytes.withUnsafeBytes({ decoder.decodeCommonEnvelope($0) }) {
            #expect(fast == full)
        }
        let message = try #require(envelope.messages.first)
        #expect(message.checkStates.last?.checkStateId == "ok", "the sibling is applied")
        return try #require(message.checkStates.first)
    }

    static let long = 1_025
    static let rejected: [(bytes: [UInt8], path: String, readableId: String?, reason: String)] = [
        (envelope(id: "a\u{0}x"), "checkStateId", nil, "control characters"),
        (envelope(id: "a\nx"), "checkStateId", nil, "control characters"),
        (envelope(id: "a\u{7F}x"), "checkStateId", nil, "control characters"),
        (envelope(id: String(repeating: "i", count: long)), "checkStateId", nil, "at most 1024 bytes, found 1025"),
        (envelope(name: "n\u{0}x"), "name", "a", "control characters other than tab"),
        (envelope(name: "n\u{1B}[31m"), "name", "a", "control characters"),
        (envelope(name: String(repeating: "é", count: 513)), "name", "a", "at most 1024 bytes, found 1026"),
        (envelope(element: "e\u{0}"), "topologyElementIdentifier", "a", "control characters"),
        (envelope(element: "e\tx"), "topologyElementIdentifier", "a", "control characters"),
        (envelope(element: String(repeating: "e", count: long)), "topologyElementIdentifier", "a", "at most 1024"),
        (envelope(message: "**disk**\u{0}hidden"), "message", "a", "control characters other than tab"),
        (envelope(message: "bell\u{7}"), "message", "a", "control characters"),
        (envelope(message: "del\u{7F}"), "message", "a", "control characters"),
        (envelope(message: String(repeating: "m", count: 65_537)), "message", "a", "at most 65536 bytes, found 65537"),
        (envelope(message: String(repeating: "m", count: 1 << 20)), "message", "a", "at most 65536 bytes"),
    ]

    @Test(arguments: rejected)
    func rejectsControlCharactersAndOversizedTextWithFieldAndPath(
        bytes: [UInt8], field: String, readableId: String?, reason: String
    ) throws {
        guard case .invalid(let id, let problem) = try Self.decodeFirst(bytes) else {
            Issue.record("expected the check state to be rejected")
            return
        }
        #expect(problem.code == .invalidCheckState)
        #expect(problem.path == "health[0].check_states[0].\(field)")
        #expect(problem.reason.contains(reason), "\(problem.reason)")
        #expect(id == readableId)
    }

    @Test func fastPathDeclinesWhatItMustNotAccept() {
        // Raw bytes the JSON grammar allows but the fields do not: DEL, and sizes over the limits.
        for bytes in [
            Self.envelope(id: "a\u{7F}"), Self.envelope(element: String(repeating: "e", count: Self.long)),
            Self.envelope(message: String(repeating: "m", count: 65_537)),
            Self.envelope(name: String(repeating: "n", count: Self.long)),
        ] {
            let decoder = EnvelopeDecoder()
            #expect(bytes.withUnsafeBytes { decoder.decodeCommonEnvelope($0) } == nil)
        }
    }

    static let accepted: [[UInt8]] = [
        envelope(message: "line one\n\n| a\t| b |\r\n"),
        envelope(name: "Disk\tusage\n(host 1)"),
        envelope(id: String(repeating: "i", count: 1_024), element: String(repeating: "é", count: 512)),
        envelope(name: String(repeating: "n", count: 1_024), message: String(repeating: "m", count: 65_536)),
        envelope(id: "ümlaut-ÿ-\u{80}-\u{9F}", message: "C1 controls are not C0: \u{85}"),
    ]

    @Test(arguments: accepted)
    func acceptsLineBreaksInNamesAndMessagesAndTextUpToTheLimits(bytes: [UInt8]) throws {
        guard case .upsert(let state) = try Self.decodeFirst(bytes) else {
            Issue.record("expected the check state to be accepted")
            return
        }
        #expect(!state.checkStateId.isEmpty)
    }

    @Test func fastPathTakesTextAtTheLimits() {
        let decoder = EnvelopeDecoder()
        let bytes = Self.envelope(
            id: String(repeating: "i", count: 1_024), name: String(repeating: "n", count: 1_024),
            message: String(repeating: "m", count: 65_536))
        let fast = bytes.withUnsafeBytes { decoder.decodeCommonEnvelope($0) }
        #expect(fast?.messages.first?.checkStates.first?.checkStateId?.utf8.count == 1_024)
    }
}
