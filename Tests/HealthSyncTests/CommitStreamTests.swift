import Foundation
import HealthSyncTestSupport
import HealthSyncTesting
import Synchronization
import Testing

@testable import HealthSync

/// A large envelope applied with `apply` is processed in parts that the SQLite store writes while the next part is
/// processed, in one transaction (`PipelinedHealthStore.openCommitStream()`): the results, the stored state and the
/// events are those of one whole commit, and an envelope the parts cannot serve is applied whole.
@Suite struct CommitStreamTests {
    /// The stores with commit streams: SQLite in memory, on a file, without its cache and with a tiny one.
    static let kinds: [StoreKind] = [.sqliteInMemory, .sqliteFile, .sqliteFileUncached, .sqliteFileTinyCache]

    static func decode(_ text: String) throws -> Envelope {
        try EnvelopeDecoder().decode(Array(text.utf8))
    }

    static func states(_ count: Int, from first: Int = 0, health: String = "CLEAR") -> [String] {
        (first..<first + count).map { Payload.checkState("c\($0)", health: health) }
    }

    // MARK: Where an envelope is cut

    @Test func partsAreCutOnlyWhereNoLaterMessageNamesAStreamOfThePart() throws {
        // Twelve streams of 300 check states; stream 1 has a second message (a sub-stream) after stream 6's.
        var messages = (0..<12).map { Payload.snapshot("urn:health:cut:s\($0)", states: Self.states(300)) }
        messages.insert(
            Payload.snapshot("urn:health:cut:s1", subStream: "late", states: Self.states(300)), at: 7)
        let envelope = try Self.decode(Payload.envelope(at: 1_000, messages))
        let parts = HealthProcessor.commitStreamParts(of: envelope.messages)
        #expect(parts.count > 1)
        #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == envelope.messages.count)
        for (earlier, later) in zip(parts, parts.dropFirst()) { #expect(earlier.upperBound == later.lowerBound) }
        var owner: [String: Int] = [:]
        for (number, range) in parts.enumerated() {
            let checkStates = envelope.messages[range].reduce(0) { $0 + $1.checkStates.count }
            if number < parts.count - 1 { #expect(checkStates >= HealthProcessor.commitStreamPartSize) }
            for message in envelope.messages[range] {
                #expect(owner.updateValue(number, forKey: message.stream.urn).map { $0 == number } ?? true)
            }
        }
        // Messages 0 to 7 (stream 1 and its sub-stream) are in one part.
        #expect(parts.contains { $0.contains(1) && $0.contains(7) })
    }

    @Test func anEnvelopeOfFewerCheckStatesIsNotCut() throws {
        // Three streams of half a part each: fewer than two parts' worth.
        let half = HealthProcessor.commitStreamPartSize / 2
        let messages = (0..<3).map { Payload.snapshot("urn:health:cut:s\($0)", states: Self.states(half)) }
        let envelope = try Self.decode(Payload.envelope(at: 1_000, messages))
        #expect(HealthProcessor.commitStreamParts(of: envelope.messages).isEmpty)
        // One stream throughout: never cut, whatever its size.
        let one = (0..<8).map { Payload.snapshot("urn:health:cut:one", subStream: "s\($0)", states: Self.states(half)) }
        #expect(
            HealthProcessor.commitStreamParts(of: try Self.decode(Payload.envelope(at: 1_000, one)).messages).count < 2)
    }

    // MARK: The same outcome as one commit

    /// A large envelope of a generated round: 40 streams of 40 to 110 check states (out of 120, health drawn), a
    /// sub-stream of some streams (repeated every 600 s) in a later message, now and then a REPEAT_STATES stream (whose reads by id a part
    /// cannot make) and rounds far enough apart that timers are due (then the envelope is committed whole).
    static func round(_ number: Int, random: inout SeededRandom) -> String {
        var messages: [String] = []
        var late: [String] = []
        for stream in 0..<40 {
            let urn = "urn:health:big:s\(stream)"
            let ids = (0..<120).filter { _ in random.chance(0.7) }.prefix(40 + random.below(71))
            let states = ids.map { id in
                Payload.checkState(
                    "c\(id)", health: random.element(of: ["CLEAR", "CLEAR", "DEVIATING", "CRITICAL"]),
                    message: random.chance(0.2) ? "round \(number)" : nil)
            }
            messages.append(Payload.snapshot(urn, repeatInterval: 30, states: states))
            if random.chance(0.25) {
                late.append(
                    Payload.snapshot(urn, subStream: "sub", repeatInterval: 600, states: Array(states.prefix(20))))
            }
        }
        messages.insert(contentsOf: late, at: messages.count / 2 + random.below(messages.count / 2))
        if random.chance(0.2) {
            let ids = (0..<30).map { Payload.checkState("r\($0)", health: random.chance(0.3) ? "CRITICAL" : "CLEAR") }
            messages.insert(
                Payload.repeatStates("urn:health:big:states", states: ids), at: random.below(messages.count))
        }
        return Payload.envelope(messages)
    }

    @Test(arguments: kinds)
    func largeEnvelopesInPartsLeaveWhatOneCommitLeaves(_ kind: StoreKind) async throws {
        try await withTemporaryDirectory { directory in
            let serial = HealthProcessor(store: InMemoryHealthStore())
            let subject = HealthProcessor(store: try kind.makeStore(in: directory))
            var random = SeededRandom(seed: 77)
            var time = 1_000.0
            let rounds = 14
            var applied = 0
            for number in 0..<rounds {
                time += random.element(of: [10, 20, 25, 45])
                let envelope = try Self.decode(Self.round(number, random: &random))
                let at = Date(timeIntervalSince1970: time)
                let receipt = "round-\(number)"
                let context = Comment(rawValue: "round \(number)")
                applied += 1
                #expect(
                    try await subject.apply(envelope, at: at, receipt: receipt)
                        == serial.apply(envelope, at: at, receipt: receipt), context)
                if random.chance(0.3) {
                    // Applied again with its receipt: skipped by both.
                    let again = try await subject.apply(envelope, at: at, receipt: receipt)
                    #expect(again.alreadyApplied, context)
                }
                // Without a receipt too (a batch of one).
                if random.chance(0.3) {
                    time += 5
                    applied += 1
                    let later = Date(timeIntervalSince1970: time)
                    #expect(try await subject.apply(envelope, at: later) == serial.apply(envelope, at: later), context)
                }
            }
            let inParts = subject.envelopesCommittedInParts.load(ordering: .relaxed)
            // Most go in parts; those with a REPEAT_STATES read, or timers due in a batch, go whole.
            #expect(inParts >= applied / 2 && inParts < applied, "\(inParts) of \(applied) envelopes in parts")
            let (expected, actual) = (try serial.queries, try subject.queries)
            #expect(try await actual.events(EventQuery()) == expected.events(EventQuery()))
            try await expectSameStateAndDeadlines(actual, expected, "after \(rounds) rounds")
            for stream in try await expected.streams() {
                #expect(try await actual.errors(of: stream.urn) == expected.errors(of: stream.urn))
                #expect(try await actual.subStreams(of: stream.urn) == expected.subStreams(of: stream.urn))
            }
            #expect(try await actual.streams().map(\.urn) == expected.streams().map(\.urn))
        }
    }

    /// The last message names a stored REPEAT_STATES stream, whose check states a part would read by id: the parts
    /// sent before it are abandoned (rolled back) and the envelope is committed whole, with one commit's outcome.
    @Test func aPartThatWouldReadFromTheStoreSendsTheEnvelopeWhole() async throws {
        try await withTemporaryDirectory { directory in
            let serial = HealthProcessor(store: InMemoryHealthStore())
            let subject = HealthProcessor(store: try StoreKind.sqliteFile.makeStore(in: directory))
            func envelope(_ health: String) throws -> Envelope {
                var messages = (0..<12).map {
                    Payload.snapshot("urn:health:whole:s\($0)", states: Self.states(200, health: health))
                }
                messages.append(
                    Payload.repeatStates("urn:health:whole:states", states: Self.states(20, health: health)))
                return try Self.decode(Payload.envelope(messages))
            }
            for (offset, health) in [(0.0, "CLEAR"), (10, "CRITICAL")] {
                let (envelope, at) = (try envelope(health), Date(timeIntervalSince1970: 1_000 + offset))
                #expect(try await subject.apply(envelope, at: at) == serial.apply(envelope, at: at))
            }
            // The first envelope went in parts (the REPEAT_STATES stream was new: nothing to read); the second whole.
            #expect(subject.envelopesCommittedInParts.load(ordering: .relaxed) == 1)
            let (expected, actual) = (try serial.queries, try subject.queries)
            #expect(try await actual.events(EventQuery()) == expected.events(EventQuery()))
            try await expectSameStateAndDeadlines(actual, expected, "after both envelopes")
        }
    }

    @Test func anEnvelopeOverAStoreWithoutCommitStreamsIsCommittedWhole() async throws {
        let processor = HealthProcessor(store: InMemoryHealthStore())
        var random = SeededRandom(seed: 5)
        let envelope = try Self.decode(Self.round(0, random: &random))
        let result = try await processor.apply(envelope, at: Date(timeIntervalSince1970: 1_000))
        #expect(result.messagesApplied == envelope.messages.count)
        #expect(processor.envelopesCommittedInParts.load(ordering: .relaxed) == 0)
    }
}
