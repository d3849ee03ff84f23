import Foundation
import HealthSync
import HealthSyncSQLite
import Testing

@testable import HealthSyncCLI

/// Reading payload files: a large file is digested while it is read, and the digest is the one the replay's receipts
/// have always been made from.
@Suite struct PayloadBytesTests {
    /// Bytes of every value, in no repeating order.
    static func bytes(count: Int) -> [UInt8] {
        var value: UInt32 = 2_463_534_242
        return (0..<count).map { _ in
            value ^= value << 13
            value ^= value >> 17
            value ^= value << 5
            return UInt8(truncatingIfNeeded: value)
        }
    }

    @Test(arguments: [
        0, 1, 4_096, PayloadBytes.digestedPart - 1, PayloadBytes.digestedPart, 2 * PayloadBytes.digestedPart + 12_345,
    ])
    func aFileIsReadWholeWithTheDigestOfItsBytes(size: Int) async throws {
        try await Workspace.with { workspace in
            let expected = Self.bytes(count: size)
            let path = workspace.directory.appendingPathComponent("payload.bin").path
            #expect(FileManager.default.createFile(atPath: path, contents: Data(expected)))

            let (bytes, digest) = try PayloadBytes.readWithDigest(path: path)
            #expect(bytes == expected)
            #expect(digest == PayloadFile.digest(expected))
            #expect(try PayloadBytes.read(path: path) == expected)
        }
    }

    @Test func aMissingFileFailsWithItsErrno() async throws {
        try await Workspace.with { workspace in
            let path = workspace.directory.appendingPathComponent("absent.jsonl").path
            #expect(throws: PayloadBytes.ReadError(code: ENOENT)) { try PayloadBytes.readWithDigest(path: path) }
        }
    }

    @Test func aReplayOfALargeCaptureKeepsItsReceiptsAndSkipsItAllWhenRunAgain() async throws {
        try await Workspace.with { workspace in
            let states = (0..<200).map { Payloads.checkState("check-\($0)", message: "value \($0) within bounds") }
            let lines = (0..<200).map { Payloads.snapshotLine(at: 1_700_000_000 + 60 * $0, states: states) }
            let capture = lines.joined(separator: "\n") + "\n"
            #expect(capture.utf8.count > PayloadBytes.digestedPart, "the file is digested beside its reads")
            let file = try workspace.write("capture.jsonl", capture)

            let first = try await workspace.run("replay", file)
            #expect(first.status == 0)
            #expect(first.output.hasPrefix("200 envelopes applied, 0 rejected"))

            let digest = PayloadFile.digest(Array(capture.utf8))
            let store = try SQLiteHealthStore(path: workspace.database)
            #expect(try await store.hasReceipt("replay:\(digest):1"))
            #expect(try await store.hasReceipt("replay:\(digest):200"))
            #expect(try await !store.hasReceipt("replay:\(digest):201"))

            let again = try await workspace.run("replay", file)
            #expect(again.status == 0)
            #expect(again.output.hasSuffix("200 envelopes skipped as already applied\n"))
        }
    }
}
