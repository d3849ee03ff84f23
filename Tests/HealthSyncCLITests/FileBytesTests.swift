import Foundation
import Testing

@testable import HealthSyncCLI

/// `FileBytes`, how `replay` and `audit` read payload files: every byte, once, from a file or a pipe, and the POSIX
/// reason when a file cannot be read.
@Suite struct FileBytesTests {
    /// Bytes of every value, more than the 64 KiB a pipe is first read into.
    static let content = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }

    @Test func aFileIsReadWhole() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("filebytes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(Self.content).write(to: url)
        #expect(try FileBytes.contents(of: url.path) == Self.content)
        try Data().write(to: url)
        #expect(try FileBytes.contents(of: url.path) == [])
    }

    @Test func aPipeIsReadToItsEndWhateverItsLength() throws {
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(Self.content))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        // Standard input is read this way (`replay -`); the pipe's read end stands in for it.
        #expect(try FileBytes.contents(ofDescriptor: pipe.fileHandleForReading.fileDescriptor) == Self.content)
    }

    @Test func anUnreadablePathThrowsItsPOSIXReason() throws {
        #expect(throws: POSIXError(.ENOENT)) { try FileBytes.contents(of: "/nonexistent/payload.json") }
        #expect(throws: POSIXError(.EISDIR)) { try FileBytes.contents(of: FileManager.default.temporaryDirectory.path) }
        #expect(ReplayCommand.reason(POSIXError(.ENOENT)) == "No such file or directory")
    }
}
