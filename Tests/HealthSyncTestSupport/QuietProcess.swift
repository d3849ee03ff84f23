import Foundation

/// A helper program run for its exit status alone (`mount`, `chattr`, …): its output is discarded. It blocks its
/// thread while the program runs, so it is for programs that end within milliseconds (others: ``ChildProcess`` and ``ProcessExit``).
public enum QuietProcess {
    /// Runs `executable` with `arguments`, waits for it and returns its exit status.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
