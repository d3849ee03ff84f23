import Foundation
import HealthSyncTesting
import Testing

@testable import HealthSync

/// `EnvelopeDecoder.decodeCommonEnvelope` (the decoder's path without a value tree) against the full decoder: where it
/// decodes an envelope, the result is the full decoder's; where the envelope is unusual it declines.
@Suite struct EnvelopeFastPathTests {
    /// The full decoder alone: the value tree, then the envelope.
    static func full(_ bytes: [UInt8], _ decoder: EnvelopeDecoder) -> Result<Envelope, PayloadError> {
        do {
            let value = try JSONParser(maximumDepth: decoder.configuration.maximumDepth).parse(bytes)
            return .success(try decoder.decode(value))
        } catch let error as PayloadError {
            return .failure(error)
        } catch {
            return .failure(PayloadError(code: .malformedJSON, path: "$", reason: "\(error)"))
        }
    }

    static func common(_ bytes: [UInt8], _ decoder: EnvelopeDecoder, texts: TextInterner? = nil) -> Envelope? {
        bytes.withUnsafeBytes { decoder.decodeCommonEnvelope($0, interning: texts) }
    }

    /// Expects the common path (through `texts` when given) to decline or to agree with the full decoder; returns
    /// whether it decoded.
    @discardableResult
    static func expectAgreement(
        _ bytes: [UInt8], _ decoder: EnvelopeDecoder, _ context: Comment, texts: TextInterner? = nil
    ) -> Bool {
        guard let fast = common(bytes, decoder, texts: texts) else { return false }
        let expected = full(bytes, decoder)
        #expect(expected == .success(fast), context)
        // The full decoder would have reported nothing: the common path is only taken for a clean envelope.
        if case .success(let envelope) = expected {
            #expect(envelope.rejections.isEmpty && envelope.warnings.isEmpty, context)
        }
        return true
    }

    @Test(arguments: [false, true])
    func generatedEnvelopesAreDecodedAsTheFullDecoderDoesOrLeftToIt(_ strict: Bool) {
        let decoder = EnvelopeDecoder(strict: strict)
        var (taken, total) = (0, 0)
        for seed in 0..<40 {
            var generator = SequenceGenerator(seed: UInt64(31_000 + seed))
            for step in 0..<60 {
                guard case .envelope(let text, _) = generator.nextAction() else { continue }
                total += 1
                if Self.expectAgreement(Array(text.utf8), decoder, "seed \(seed), step \(step): \(text)") { taken += 1 }
            }
        }
        // The generator mixes valid messages with invalid check states and increments: both paths run often.
        #expect(taken > total / 10 && taken < total, "\(taken) of \(total)")
    }

    /// Decodes `count` envelopes of the sequence generator seeded `seed` on both paths (the common one through
    /// `texts` when given), mutating (seeded `seed - 1`) those whose number `mutates` picks; returns how many the common
    /// path took.
    static func agreement(
        onGenerated count: Int, seed: UInt64, texts: TextInterner? = nil, mutates: (Int) -> Bool
    ) -> Int {
        let decoder = EnvelopeDecoder()
        var random = SeededRandom(seed: seed - 1)
        var generator = SequenceGenerator(seed: seed)
        var (taken, total) = (0, 0)
        while total < count {
            guard case .envelope(let text, _) = generator.nextAction() else { continue }
            var bytes = Array(text.utf8)
            if mutates(total) { FuzzTests.mutate(&bytes, &random) }
            total += 1
            let context: Comment = "\(total): \(String(decoding: bytes, as: UTF8.self))"
            if Self.expectAgreement(bytes, decoder, context, texts: texts) { taken += 1 }
        }
        return taken
    }

    /// A replay's decoder keeps the texts it decoded in a table and hands them out again: through a small table (its
    /// buckets overflow, texts replace each other), generated and mutated envelopes decode as without one.
    @Test func envelopesDecodedThroughATextTableAreDecodedAsTheFullDecoderDoes() {
        let texts = TextInterner(capacity: 32, longest: 128)
        let taken = Self.agreement(onGenerated: 3_000, seed: 92, texts: texts) { $0 % 2 == 1 }
        #expect(taken > 300, "\(taken) of 3,000")
        #expect(texts.count > 0 && texts.count <= 32)
    }

    @Test func mutatedEnvelopesAreDecodedAsTheFullDecoderDoesOrLeftToIt() {
        let taken = Self.agreement(onGenerated: 3_000, seed: 78) { _ in true }
        #expect(taken > 50, "\(taken) of 3,000")
    }

    @Test func aWholeSnapshotOfAHundredCheckStatesTakesTheCommonPath() throws {
        let states = (0..<100).map {
            Payload.checkState(
                "check-\($0)", health: ["CLEAR", "deviating", "Critical"][$0 % 3], name: "Disk usage \($0) – ünïcode",
                message: $0 % 2 == 0 ? "Usage above 80 % on volume \($0)" : nil)
        }
        let messages = [
            Payload.snapshot("urn:health:fast:one", repeatInterval: 60, expiryInterval: 120, states: states),
            Payload.snapshot(
                "urn:health:fast:one", subStream: "east", repeatInterval: 30, expiryInterval: 90, states: states),
            Payload.repeatStates(
                "urn:health:fast:two", repeatInterval: 60, expiryInterval: 120, setup: true, states: states),
        ]
        for strict in [false, true] {
            let decoder = EnvelopeDecoder(strict: strict)
            let bytes = Array(Payload.envelope(at: 1_700_000_000, messages).utf8)
            #expect(Self.common(bytes, decoder) != nil, "strict: \(strict)")
            Self.expectAgreement(bytes, decoder, "strict: \(strict)")
            #expect(try decoder.decode(bytes).messages.map(\.checkStates.count) == [100, 100, 100])
        }
    }

    @Test(arguments: [
        // An escape in a string, a fraction, an exponent, a duplicate key, an increment, an unknown health, a nested
        // `health` (the documentation defect), a byte order mark, trailing text, invalid UTF-8 (below).
        #"{"health":[{"stream":{"urn":"urn:health:a:b"},"check_states":[{"checkStateId":"a","name":"x\n","health":"CLEAR","topologyElementIdentifier":"e"}]}]}"#,
        #"{"collection_timestamp":1.5,"health":[]}"#,
        #"{"collection_timestamp":1e3,"health":[]}"#,
        #"{"health":[],"health":[]}"#,
        #"{"health":[{"stream":{"urn":"urn:health:a:b"},"consistency_model":"TRANSACTIONAL_INCREMENTS","increment":{"checkpoint":{"offset":1}}}]}"#,
        #"{"health":[{"stream":{"urn":"urn:health:a:b"},"check_states":[{"checkStateId":"a","name":"x","health":"PURPLE","topologyElementIdentifier":"e"}]}]}"#,
        #"{"health":[[{"stream":{"urn":"urn:health:a:b"}}]]}"#,
        "\u{FEFF}{\"health\":[]}",
        #"{"health":[]} x"#,
        #"{"health":[{"stream":{"urn":"not a urn"}}]}"#,
        #"{"health":[{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":0}}]}"#,
    ])
    func unusualEnvelopesAreLeftToTheFullDecoder(_ text: String) throws {
        let decoder = EnvelopeDecoder()
        #expect(Self.common(Array(text.utf8), decoder) == nil)
    }

    /// Each shared rule at its bounds: both paths accept the value on the valid side (the common path decodes it as
    /// the full decoder does), and on the other side the full decoder rejects it and the common path declines.
    @Test(arguments: [
        (#"{"collection_timestamp":253402300799,"health":[]}"#, #"{"collection_timestamp":253402300800,"health":[]}"#),
        (
            #"{"health":[{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":1}}]}"#,
            #"{"health":[{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":0}}]}"#
        ),
        (
            #"{"health":[{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":315360000}}]}"#,
            #"{"health":[{"stream":{"urn":"urn:health:a:b"},"start_snapshot":{"repeat_interval_s":315360001}}]}"#
        ),
        (
            #"{"health":[{"stream":{"urn":"urn:health:a:b"},"consistency_model":"REPEAT_STATES","expiry":{"repeat_interval_s":5,"expiry_interval_s":315360000}}]}"#,
            #"{"health":[{"stream":{"urn":"urn:health:a:b"},"consistency_model":"REPEAT_STATES","expiry":{"repeat_interval_s":5,"expiry_interval_s":315360001}}]}"#
        ),
    ])
    func sharedRulesDrawTheSameLineOnBothPaths(valid: String, invalid: String) {
        let decoder = EnvelopeDecoder()
        #expect(Self.expectAgreement(Array(valid.utf8), decoder, "valid side"), "the common path decodes \(valid)")
        #expect(Self.common(Array(invalid.utf8), decoder) == nil)
        let rejected: Bool
        switch Self.full(Array(invalid.utf8), decoder) {
        case .failure: rejected = true
        case .success(let envelope): rejected = !envelope.rejections.isEmpty
        }
        #expect(rejected, "the full decoder rejects \(invalid)")
    }

    @Test func invalidUTF8AndStrictUnknownKeysAreLeftToTheFullDecoder() {
        var bytes = Array(#"{"internalHostname":"host-"#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#"","health":[]}"#.utf8)
        #expect(Self.common(bytes, EnvelopeDecoder()) == nil)
        #expect(Self.full(bytes, EnvelopeDecoder()).isFailure)

        let unknown = Array(#"{"health":[],"extra":1}"#.utf8)
        #expect(Self.common(unknown, EnvelopeDecoder(strict: false)) != nil)
        #expect(Self.common(unknown, EnvelopeDecoder(strict: true)) == nil)
    }
}

extension Result {
    fileprivate var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
