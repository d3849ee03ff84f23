import Foundation
import HealthSyncTestSupport
import Testing

/// A command whose standard output fails: a reader that went away (`healthsync state | head -1`) or a full disk. The
/// process ends as command-line tools end — by `SIGPIPE`, silently, or with a message and status 1 — never with
/// Foundation's crash report.
@Suite struct OutputFailureTests {
    /// A database with the snapshot-timers payload replayed, for `streams` to print.
    static func replayed(_ workspace: Workspace) async throws {
        let replay = try await workspace.run("replay", AuditCLI.snapshotTimers)
        try #require(replay.status == 0, "\(replay.errors)")
    }

    /// Runs `healthsync` with `arguments` and `output` as standard output; returns how it ended and its standard error.
    static func run(
        _ arguments: [String], output: FileHandle, in directory: URL
    ) async throws -> (reason: Process.TerminationReason, status: Int32, errors: String) {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        let errorsURL = directory.appendingPathComponent("stderr-\(UUID().uuidString)")
        try #require(FileManager.default.createFile(atPath: errorsURL.path, contents: nil))
        let errors = try FileHandle(forWritingTo: errorsURL)
        let process = ChildProcess()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        let status = try await process.runToExit()
        try? errors.close()
        return (
            process.terminationReason, status, try String(contentsOf: errorsURL, encoding: .utf8)
        )
    }

    @Test func aReaderThatWentAwayEndsTheCommandBySIGPIPEWithoutACrashReport() async throws {
        try await Workspace.with { workspace in
            try await Self.replayed(workspace)
            // The reading end is closed before the command starts: its first write fails with EPIPE, every time.
            let pipe = Pipe()
            try pipe.fileHandleForReading.close()
            let ended = try await Self.run(
                ["streams", "--db", workspace.database], output: pipe.fileHandleForWriting, in: workspace.directory)
            #expect(ended.reason == .uncaughtSignal)
            #expect(ended.status == SIGPIPE)
            #expect(ended.errors.isEmpty, "nothing on standard error, as `cat` or `grep` in a pipe: \(ended.errors)")
        }
    }

    @Test func aFullDiskIsReportedWithStatusOne() async throws {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"), "Linux has /dev/full")
        defer { try? full.close() }
        try await Workspace.with { workspace in
            try await Self.replayed(workspace)
            let ended = try await Self.run(
                ["streams", "--db", workspace.database], output: full, in: workspace.directory)
            #expect(ended.reason == .exit)
            #expect(ended.status == 1)
            #expect(ended.errors == "error: cannot write to standard output: No space left on device\n")
        }
    }
}
