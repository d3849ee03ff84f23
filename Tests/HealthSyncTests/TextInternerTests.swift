import Foundation
import HealthSyncTesting
import Testing

@testable import HealthSync

/// `TextInterner`: a replay's decoder hands out the string it made before for the same bytes, equal to a new one,
/// and holds a bounded number of them.
@Suite struct TextInternerTests {
    /// Where a string's bytes are stored: the same place for two strings that share their storage.
    static func storage(of text: String) -> UnsafeRawPointer? {
        var copy = text
        return copy.withUTF8 { UnsafeRawPointer($0.baseAddress) }
    }

    static func string(_ texts: TextInterner, _ text: String) -> String? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { texts.string($0, ascii: bytes.allSatisfy { $0 < 0x80 }) }
    }

    @Test func aRepeatedTextIsTheStringMadeTheFirstTime() throws {
        let texts = TextInterner(capacity: 1_024, longest: 128)
        for text in [
            "urn:host:/server-1.example.com", "Disk usage on /var – ünïcode ✓", String(repeating: "x", count: 128),
        ] {
            let first = try #require(Self.string(texts, text))
            let again = try #require(Self.string(texts, text))
            #expect(first == text && again == text)
            #expect(Self.storage(of: first) == Self.storage(of: again), "\(text)")
        }
        #expect(texts.count == 3)
    }

    @Test func shortAndOverlongTextsAreMadeEachTimeAndNotHeld() throws {
        let texts = TextInterner(capacity: 1_024, longest: 40)
        let short = try #require(Self.string(texts, "fifteen bytes!!"))
        #expect(short == "fifteen bytes!!")
        let long = String(repeating: "message ", count: 6)
        let first = try #require(Self.string(texts, long))
        let again = try #require(Self.string(texts, long))
        #expect(first == long && again == long)
        #expect(Self.storage(of: first) != Self.storage(of: again))
        #expect(texts.count == 0)
    }

    @Test func invalidUTF8IsRefusedAndNotHeld() throws {
        let texts = TextInterner(capacity: 1_024, longest: 128)
        let invalid: [UInt8] = Array("a name of twenty bytes ".utf8) + [0xC3, 0x28]
        #expect(invalid.withUnsafeBytes { texts.string($0, ascii: false) } == nil)
        #expect(texts.count == 0)
        // A valid text of the same length after it is made and held as usual.
        let valid = "a name of twenty bytes é"
        #expect(Self.string(texts, valid) == valid)
        #expect(texts.count == 1)
    }

    /// More distinct texts than slots: every answer is still the text's own string, and the table holds no more
    /// than its capacity (the texts of a full bucket replace each other).
    @Test func aFullTableReplacesTextsAndStaysBounded() throws {
        let texts = TextInterner(capacity: 8, longest: 128)
        var random = SeededRandom(seed: 5)
        for step in 0..<5_000 {
            let text = "urn:health:source:stream-\(random.next() % 300)"
            #expect(Self.string(texts, text) == text, "step \(step)")
        }
        #expect(texts.count == 8)
    }
}
