import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

@testable import HealthSyncSQLite

/// A check state's text, as the decoder accepts it, reads back from the SQLite store byte for byte: line breaks and
/// tabs in names and messages, multi-byte characters, and text at the size limits (Docs/wire-format.md).
@Suite struct TextRoundTripTests {
    static let urn = "urn:health:test:round-trip"

    static let states: [(id: String, name: String, element: String, message: String?)] = [
        ("plain", "Disk usage", "server-1", "Running out of **disk** space"),
        ("lines", "Disk\tusage\n(host 1)", "server-2", "line one\n\n| a\t| b |\r\nend"),
        ("ümlaut-\u{85}-ÿ", "naïve ✓", "élément-☃", "C1 controls are not C0: \u{85}\u{9F}"),
        (
            String(repeating: "i", count: EnvelopeDecoder.maximumIdentifierBytes),
            String(repeating: "n", count: EnvelopeDecoder.maximumNameBytes),
            String(repeating: "é", count: EnvelopeDecoder.maximumIdentifierBytes / 2),
            String(repeating: "m", count: EnvelopeDecoder.maximumMessageBytes)
        ),
    ]

    @Test(arguments: [0, 40])
    func acceptedTextReadsBackWhole(cacheCapacity: Int) async throws {
        try await withTemporaryDirectory { directory in
            let path = temporaryFile(in: directory)
            let body = Payload.envelope([
                Payload.snapshot(
                    Self.urn,
                    states: Self.states.map {
                        Payload.checkState($0.id, name: $0.name, element: $0.element, message: $0.message)
                    })
            ])
            let envelope = try EnvelopeDecoder().decode(Array(body.utf8))
            #expect(envelope.rejections.isEmpty)
            let store = try SQLiteHealthStore(path: path, contextCacheCapacity: cacheCapacity)
            let result = try await HealthProcessor(store: store).apply(
                envelope, at: Date(timeIntervalSince1970: 1_700_000_000))
            #expect(result.counts.created == Self.states.count)
            // A fresh store reads the rows from the file, through the status API's query and the processor's.
            let reopened = try SQLiteHealthStore(path: path, contextCacheCapacity: 0)
            for stored in [
                try await reopened.checkStates(urn: Self.urn, subStreamId: nil),
                try await reopened.checkStates(of: StreamKey.main(Self.urn)),
            ] {
                let read = Dictionary(uniqueKeysWithValues: stored.map { ($0.checkState.checkStateId, $0.checkState) })
                #expect(read.count == Self.states.count)
                for state in Self.states {
                    let found = try #require(read[state.id], "\(state.id.prefix(20))")
                    #expect(found.name == state.name)
                    #expect(found.topologyElementIdentifier == state.element)
                    #expect(found.message == state.message)
                }
            }
        }
    }
}
