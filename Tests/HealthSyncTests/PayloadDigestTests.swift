import HealthSync
import HealthSyncTesting
import Testing

/// ``PayloadFile/Digest``: the digest fed in parts is the digest of the whole, so that a file can be digested while it
/// is read and its envelopes' receipts stay what they were.
@Suite struct PayloadDigestTests {
    @Test func theDigestIsFNV1aOfSixtyFourBits() {
        // The published FNV-1a 64 test vectors.
        #expect(PayloadFile.digest([UInt8]()) == "cbf29ce484222325")
        #expect(PayloadFile.digest(Array("a".utf8)) == "af63dc4c8601ec8c")
        #expect(PayloadFile.digest(Array("foobar".utf8)) == "85944171f73967e8")
    }

    @Test func partsInAnySplitMakeTheDigestOfTheWhole() {
        var generator = SeededRandom(seed: 7)
        let bytes = (0..<50_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let whole = PayloadFile.digest(bytes)
        for _ in 0..<20 {
            var digest = PayloadFile.Digest()
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int(generator.next() % 9_000))
                if generator.next() % 2 == 0 {
                    bytes[start..<end].withUnsafeBytes { digest.update($0) }
                } else {
                    digest.update(bytes[start..<end])
                }
                start = end
            }
            #expect(digest.hex == whole)
        }
    }

    @Test func aSequenceWithoutContiguousStorageDigestsAsItsBytes() {
        let bytes = Array("urn:health:sourceId:streamId".utf8)
        var digest = PayloadFile.Digest()
        digest.update(bytes.lazy.map { $0 })
        digest.update("".utf8)
        #expect(digest.hex == PayloadFile.digest(bytes))
        #expect(PayloadFile.digest(bytes.lazy.map { $0 }) == PayloadFile.digest(bytes))
    }
}
