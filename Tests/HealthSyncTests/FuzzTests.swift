import Foundation
import HealthSync
import HealthSyncSQLite
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// Seeded fuzz and property tests (Docs/reliability.md): the decoder never crashes or hangs on arbitrary bytes,
/// deep nesting, huge numbers or invalid UTF-8, and random valid-looking message sequences leave the in-memory, the
/// SQLite and (when the PostgreSQL tests are enabled) the PostgreSQL store in identical states with identical events.
///
/// The seeds are fixed, so a failure reproduces; `HEALTHSYNC_FUZZ_ITERATIONS` multiplies the work for a longer run
/// and `HEALTHSYNC_FUZZ_SEED` moves every seed, to explore beyond what CI covers.
@Suite struct FuzzTests {
    /// How many times the CI amount of work each test does (default 1).
    static let scale = max(1, ProcessInfo.processInfo.environment["HEALTHSYNC_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1)
    /// Added to every seed (default 0).
    static let seedOffset = ProcessInfo.processInfo.environment["HEALTHSYNC_FUZZ_SEED"].flatMap(UInt64.init) ?? 0

    // MARK: Decoder

    @Test func arbitraryBytesAreDecodedOrRejectedWithAPayloadError() {
        var random = SeededRandom(seed: 1 &+ Self.seedOffset)
        var rejected = 0
        for _ in 0..<(4_000 * Self.scale) {
            let length = random.below(random.chance(0.1) ? 4_096 : 64)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if random.chance(0.5), !bytes.isEmpty { bytes[0] = UInt8(ascii: "{") }
            if Self.outcome(of: bytes) != nil { rejected += 1 }
        }
        #expect(rejected > 0)
    }

    @Test func mutatedEnvelopesAreDecodedOrRejectedWithAPayloadError() {
        var random = SeededRandom(seed: 2 &+ Self.seedOffset)
        let seeds = Self.seedEnvelopes().map { Array($0.utf8) }
        var decoded = 0
        var rejected = 0
        for _ in 0..<(6_000 * Self.scale) {
            var bytes = random.element(of: seeds)
            for _ in 0..<(1 + random.below(4)) { Self.mutate(&bytes, &random) }
            if let error = Self.outcome(of: bytes) {
                rejected += 1
                #expect(!error.path.isEmpty && !error.reason.isEmpty, "\(error)")
                if error.code == .malformedJSON { #expect(error.line != nil && error.column != nil, "\(error)") }
            } else {
                decoded += 1
            }
        }
        #expect(decoded > 0 && rejected > 0, "the mutations reach both outcomes: \(decoded) decoded, \(rejected) not")
    }

    @Test func deepNestingIsRejectedWithoutExhaustingTheStack() {
        let depth = 200_000
        let shapes: [[UInt8]] = [
            Array(String(repeating: "[", count: depth).utf8),
            Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8),
            Array(String(repeating: "{\"health\":", count: depth).utf8),
            Array(("{\"health\":[{\"stream\":" + String(repeating: "{\"a\":[", count: depth / 2)).utf8),
        ]
        for bytes in shapes {
            let error = Self.outcome(of: bytes)
            #expect(error?.code == .malformedJSON, "\(String(describing: error))")
        }
        // Within the limit, nesting in an ignored field is accepted.
        let nested = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(Self.outcome(of: Array("{\"events\":\(nested),\"health\":[]}".utf8)) == nil)
    }

    /// A number literal, named briefly in test output.
    struct NumberLiteral: Sendable, CustomTestStringConvertible {
        var text: String
        var testDescription: String { text.count > 40 ? "\(text.prefix(12))… (\(text.count) characters)" : text }
    }

    static let hugeNumbers: [NumberLiteral] = [
        "1e400", "-1e400", "123456789012345678901234567890", "-9223372036854775809", "9223372036854775808",
        "1e-400", "-0", "0.0000000000000000000000000001", "1.7976931348623157e308", "4.9e-324",
        "1" + String(repeating: "0", count: 400), "1" + String(repeating: "0", count: 5_000),
        "0." + String(repeating: "9", count: 5_000) + "e-99999999999", "1e" + String(repeating: "9", count: 40),
    ].map(NumberLiteral.init)

    @Test(arguments: hugeNumbers)
    func hugeNumbersAreDecodedOrRejectedWhereverTheyAppear(_ literal: NumberLiteral) {
        let number = literal.text
        let places = [
            "{\"collection_timestamp\":\(number),\"health\":[]}",
            "{\"health\":[{\"stream\":{\"urn\":\"urn:health:a:b\"},\"start_snapshot\":{\"repeat_interval_s\":\(number)}}]}",
            "{\"health\":[{\"stream\":{\"urn\":\"urn:health:a:b\"},\"consistency_model\":\"TRANSACTIONAL_INCREMENTS\","
                + "\"increment\":{\"checkpoint\":{\"offset\":\(number),\"batch_index\":\(number)}}}]}",
            "{\"health\":[{\"stream\":{\"urn\":\"urn:health:a:b\"},\"check_states\":[{\"checkStateId\":\(number)}]}]}",
            "{\"metrics\":[\(number)],\"health\":[]}",
        ]
        for text in places {
            _ = Self.outcome(of: Array(text.utf8))
        }
        // A collection timestamp out of range never becomes a date.
        let error = Self.outcome(of: Array("{\"collection_timestamp\":\(number),\"health\":[]}".utf8))
        if let error { #expect(error.code.rejectsEnvelope, "\(error)") }
    }

    @Test func invalidUTF8IsRejectedWhereverItAppears() {
        let sequences: [[UInt8]] = [
            [0xFF], [0xFE], [0x80], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
            [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3],
        ]
        let templates = [
            ("{\"internalHostname\":\"", "\",\"health\":[]}"),
            ("{\"health\":[{\"stream\":{\"urn\":\"urn:health:a:", "\"}}]}"),
            ("{\"health\":[{\"stream\":{\"urn\":\"urn:health:a:b\"},\"check_states\":[{\"checkStateId\":\"", "\"}]}]}"),
            ("{\"", "\":1,\"health\":[]}"),
        ]
        for sequence in sequences {
            for (prefix, suffix) in templates {
                let error = Self.outcome(of: Array(prefix.utf8) + sequence + Array(suffix.utf8))
                #expect(error?.code == .malformedJSON, "\(sequence) in \(prefix): \(String(describing: error))")
            }
            // Outside strings, too.
            #expect(Self.outcome(of: Array("{\"health\":".utf8) + sequence + Array("[]}".utf8))?.code == .malformedJSON)
        }
    }

    // MARK: Processor: in-memory and SQLite agree

    @Test func randomMessageSequencesLeaveEveryStoreInTheSameState() async throws {
        var totals = (envelopes: 0, events: 0, errors: 0)
        for sequence in 0..<(24 * Self.scale) {
            let seed = UInt64(1_000 + sequence) &+ Self.seedOffset
            let outcome = try await Self.replayInEveryStore(seed: seed, steps: 40)
            totals.envelopes += outcome.envelopes
            totals.events += outcome.events
            totals.errors += outcome.errors
        }
        // The generator reaches the processor's branches, not only its happy path.
        #expect(totals.events > 1_000, "\(totals)")
        #expect(totals.errors > 50, "\(totals)")
    }

    /// Applies one random sequence to a processor over each store, comparing every result, and compares every read
    /// of the stores at the end. The SQLite stores run with the default context cache, without one, and with one
    /// so small that it drops entries all the time.
    static func replayInEveryStore(
        seed: UInt64,
        steps: Int
    ) async throws -> (envelopes: Int, events: Int, errors: Int) {
        let memory = HealthProcessor(store: InMemoryHealthStore())
        let sqlites =
            [
                HealthProcessor(store: try SQLiteHealthStore.inMemory()),
                HealthProcessor(store: try SQLiteHealthStore.inMemory(contextCacheCapacity: 0)),
                HealthProcessor(store: try SQLiteHealthStore.inMemory(contextCacheCapacity: 12)),
            ] + (try StoreKind.postgresKinds.map { HealthProcessor(store: try $0.makeStore()) })
        var generator = SequenceGenerator(seed: seed)
        var envelopes = 0
        for step in 0..<steps {
            let action = generator.nextAction()
            let context = Comment(rawValue: "seed \(seed), step \(step): \(action)")
            switch action {
            case .envelope(let text, let time):
                let envelope: Envelope
                do {
                    envelope = try EnvelopeDecoder().decode(Array(text.utf8))
                } catch {
                    continue
                }
                envelopes += 1
                let at = Date(timeIntervalSince1970: time)
                let expected = try await memory.apply(envelope, at: at)
                for sqlite in sqlites {
                    #expect(try await sqlite.apply(envelope, at: at) == expected, context)
                }
            case .advance(let time):
                let at = Date(timeIntervalSince1970: time)
                let expected = try await memory.advance(to: at)
                for sqlite in sqlites {
                    #expect(try await sqlite.advance(to: at) == expected, context)
                }
            case .deleteStream(let urn, let time):
                let at = Date(timeIntervalSince1970: time)
                let expected = try await memory.deleteStream(urn, at: at)
                for sqlite in sqlites {
                    #expect(try await sqlite.deleteStream(urn, at: at) == expected, context)
                }
            case .clearErrors(let urn, let time):
                let at = Date(timeIntervalSince1970: time)
                let expected = try await memory.clearErrors(of: urn, at: at)
                for sqlite in sqlites {
                    #expect(try await sqlite.clearErrors(of: urn, at: at) == expected, context)
                }
            }
        }
        let context = Comment(rawValue: "seed \(seed)")
        let expected = try memory.queries
        let events = try await expected.events(EventQuery())
        var errors = 0
        for actual in try sqlites.map({ try $0.queries }) {
            #expect(try await actual.events(EventQuery()) == events, context)
            try await expectSameStateAndDeadlines(actual, expected, context)
            errors = 0
            for urn in SequenceGenerator.urns {
                let open = try await expected.errors(of: urn)
                errors += open.count
                #expect(try await actual.errors(of: urn) == open, context)
                #expect(try await actual.status(of: urn) == expected.status(of: urn), context)
                #expect(try await actual.subStreams(of: urn) == expected.subStreams(of: urn), context)
            }
        }
        return (envelopes, events.count, events.filter { $0.kind == .errorOpened }.count + errors)
    }

    // MARK: Helpers

    /// Decodes `bytes`: `nil` when they decode, else the error. `decode` throws `PayloadError` only (typed throws),
    /// so this is where a crash or a hang would show.
    static func outcome(of bytes: [UInt8]) -> PayloadError? {
        do {
            let envelope = try EnvelopeDecoder().decode(bytes)
            // Decoding is deterministic, strict mode included.
            #expect(try EnvelopeDecoder().decode(bytes) == envelope)
            _ = try EnvelopeDecoder(strict: true).decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    /// Valid envelopes of every shape to mutate.
    static func seedEnvelopes() -> [String] {
        var generator = SequenceGenerator(seed: 99)
        var envelopes: [String] = []
        while envelopes.count < 40 {
            if case .envelope(let text, _) = generator.nextAction() { envelopes.append(text) }
        }
        return envelopes
    }

    /// One random edit: a flipped, inserted, deleted or duplicated byte range, a truncation, or a JSON token.
    static func mutate(_ bytes: inout [UInt8], _ random: inout SeededRandom) {
        guard !bytes.isEmpty else {
            bytes = [UInt8(ascii: "{")]
            return
        }
        let index = random.below(bytes.count)
        switch random.below(7) {
        case 0: bytes[index] ^= UInt8(1 << random.below(8))
        case 1: bytes[index] = UInt8(truncatingIfNeeded: random.next())
        case 2: bytes.insert(random.element(of: Array("{}[],:\"\\-0123456789eE.tfn ".utf8)), at: index)
        case 3: bytes.removeSubrange(index..<min(bytes.count, index + 1 + random.below(16)))
        case 4: bytes.removeSubrange(index...)
        case 5:
            let end = min(bytes.count, index + 1 + random.below(64))
            bytes.insert(contentsOf: bytes[index..<end], at: random.below(bytes.count))
        default:
            let tokens = [
                "null", "true", "-1", "1e999", "\"\"", "[]", "{}", "\"\\ud800\"", "18446744073709551616", "\"PURPLE\"",
                "\"critical\"", "0.5", "[[[[", "\"urn:health:x:y\"",
            ]
            bytes.insert(contentsOf: Array(random.element(of: tokens).utf8), at: index)
        }
    }
}

/// Random but valid-looking operations on a few streams: all three models, sub-streams, starts, stops and
/// checkpoints in any order, invalid check states, model mismatches, and times that hit deadlines exactly, jump past
/// several of them, or run backwards.
struct SequenceGenerator {
    enum Action: CustomStringConvertible {
        case envelope(String, time: Double)
        case advance(Double)
        case deleteStream(String, time: Double)
        case clearErrors(String, time: Double)

        var description: String {
            switch self {
            case .envelope(let text, let time): "envelope at \(time): \(text)"
            case .advance(let time): "advance to \(time)"
            case .deleteStream(let urn, let time): "delete \(urn) at \(time)"
            case .clearErrors(let urn, let time): "clear errors of \(urn) at \(time)"
            }
        }
    }

    static let urns = ["urn:health:fuzz:alpha", "urn:health:fuzz:beta", "urn:health:fuzz:gamma"]
    static let subStreams: [String?] = [nil, "x", "y"]
    static let ids = ["c0", "c1", "c2", "c3", "c4", "c5"]

    private var random: SeededRandom
    private var time = 1_700_000_000.0
    private var offsets: [String: Int64] = [:]
    /// The check states last sent to each sub-stream (`urn|subStreamId`), which later messages often repeat, as
    /// sources do: a repeat that changes nothing is what the store writes as a refresh.
    private var lastStates: [String: [String]] = [:]
    private let models: [String: Int]

    init(seed: UInt64) {
        random = SeededRandom(seed: seed)
        var models: [String: Int] = [:]
        for urn in Self.urns { models[urn] = random.below(3) }
        self.models = models
    }

    mutating func nextAction() -> Action {
        advanceTime()
        let urn = random.element(of: Self.urns)
        switch random.below(20) {
        case 0: return .deleteStream(urn, time: time)
        case 1: return .clearErrors(urn, time: time)
        case 2, 3: return .advance(time)
        default:
            let messages = (0..<(1 + random.below(3))).map { _ in message() }
            let stamp: Double? = random.chance(0.9) ? time : nil
            return .envelope(Payload.envelope(at: stamp, messages), time: time)
        }
    }

    private mutating func advanceTime() {
        let steps: [Double] = [0, 0, 1, 10, 29, 30, 31, 59, 60, 61, 120, 121, 300, 301, 1_000, 4_000, -30]
        time += random.element(of: steps)
    }

    private mutating func message() -> String {
        let urn = random.element(of: Self.urns)
        let subStream = random.element(of: Self.subStreams)
        // Mostly the stream's own model; sometimes another one, which the model lock ignores.
        let model = random.chance(0.9) ? models[urn] ?? 0 : random.below(3)
        switch model {
        case 0:
            let start = random.chance(0.6)
            let stop = random.chance(0.6)
            return Payload.snapshot(
                urn, subStream: subStream, repeatInterval: random.element(of: [1, 10, 30, 60, 600, 1_801]),
                expiryInterval: random.element(of: [nil, 0, 60, 300, 1_000]), start: start, stop: stop,
                states: repeatedOrNewCheckStates(of: "\(urn)|\(subStream ?? "")"), model: random.chance(0.3)
            )
        case 1:
            return Payload.repeatStates(
                urn, subStream: subStream, repeatInterval: random.element(of: [10, 30, 60, 1_801]),
                expiryInterval: random.element(of: [nil, 60, 120, 300]), setup: random.chance(0.5),
                states: repeatedOrNewCheckStates(of: "\(urn)|\(subStream ?? "")")
            )
        default:
            let key = "\(urn)|\(subStream ?? "")"
            let last = offsets[key]
            let offset = max(0, (last ?? 0) + random.element(of: [1, 1, 1, 0, -1, 2]))
            offsets[key] = max(last ?? 0, offset)
            let batch: Int64? = random.chance(0.2) ? Int64(random.below(3)) : nil
            var previous: Checkpoint?
            switch random.below(4) {
            case 0: previous = nil
            case 1: previous = Checkpoint(offset: max(0, offset - 2))
            default: previous = last.map { Checkpoint(offset: $0) }
            }
            return Payload.increment(
                urn, subStream: subStream, checkpoint: Checkpoint(offset: offset, batchIndex: batch),
                previous: previous, states: checkStates(deletions: true)
            )
        }
    }

    /// The check states last sent to `key` again (sometimes with one of them replaced), or new ones.
    private mutating func repeatedOrNewCheckStates(of key: String) -> [String] {
        var states = checkStates(deletions: false)
        if let last = lastStates[key], !last.isEmpty, random.chance(0.4) {
            let replaced = random.chance(0.3) ? states.first : nil
            states = last
            if let replaced { states[random.below(states.count)] = replaced }
        }
        lastStates[key] = states
        return states
    }

    private mutating func checkStates(deletions: Bool) -> [String] {
        (0..<random.below(5)).map { _ in
            let id = random.element(of: Self.ids)
            switch random.below(12) {
            case 0 where deletions, 1 where deletions: return Payload.deletion(id)
            case 2: return Payload.checkState(id, health: random.element(of: ["PURPLE", "", "clear "]))
            case 3: return "{\"checkStateId\":\(Payload.quote(id)),\"health\":\"CLEAR\"}"
            case 4: return "{\"name\":\"no id\",\"health\":\"CLEAR\",\"topologyElementIdentifier\":\"e\"}"
            default:
                return Payload.checkState(
                    id, health: random.element(of: ["CLEAR", "DEVIATING", "CRITICAL", "critical", "Deviating"]),
                    name: random.chance(0.2) ? "renamed \(id)" : nil,
                    message: random.chance(0.3) ? "message \(random.below(3))" : nil
                )
            }
        }
    }
}
