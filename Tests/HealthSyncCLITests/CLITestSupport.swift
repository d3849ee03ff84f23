import ArgumentParser
import Foundation
import Synchronization
import Testing

@testable import HealthSyncCLI

/// Collects what a command writes.
final class CapturedOutput: TextOutput {
    private let buffer = Mutex("")

    func write(_ text: String) {
        buffer.withLock { $0 += text }
    }

    /// Everything written so far.
    var text: String { buffer.withLock { $0 } }
}

/// What one command run printed and how it ended.
struct CLIResult {
    /// The exit status: 0 when `run` returned, else the `ExitCode` it threw.
    var status: Int32
    /// Standard output.
    var output: String
    /// Standard error.
    var errors: String

    /// Standard error split into lines.
    var errorLines: [Substring] { errors.split(separator: "\n") }
}

/// A scratch directory with a database path in it, removed when the test ends.
struct Workspace {
    /// The directory.
    let directory: URL

    /// The database file (not created until a command creates it).
    var database: String { directory.appendingPathComponent("health.sqlite").path }

    /// Runs `body` with a fresh workspace and removes it afterwards.
    static func with<T>(_ body: (Workspace) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("healthsync-cli-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(Workspace(directory: directory))
    }

    /// Writes a payload file and returns its path.
    func write(_ name: String, _ contents: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        return url.path
    }

    /// Parses `arguments` as the command line (after `healthsync`), adds `--db` and runs the command with
    /// captured output.
    func run(_ arguments: String...) async throws -> CLIResult {
        try await CLI.run(arguments + ["--db", database])
    }
}

enum CLI {
    /// Parses `arguments` and runs the command with captured output. Parse errors are thrown.
    static func run(_ arguments: [String]) async throws -> CLIResult {
        let parsed = try HealthSyncCommand.parseAsRoot(arguments)
        let command = try #require(parsed as? any ConsoleCommand, "\(arguments) is not a console command")
        let output = CapturedOutput()
        let errors = CapturedOutput()
        var status: Int32 = 0
        do {
            try await command.run(console: Console(output: output, errors: errors))
        } catch let exit as ExitCode {
            status = exit.rawValue
        }
        return CLIResult(status: status, output: output.text, errors: errors.text)
    }
}

/// The built `healthsync` executable, run as a process, for what only a real process shows: the current directory,
/// standard input, a crash of the argument parser.
enum Executable {
    /// Runs `healthsync` with `arguments` in `directory`, with `input` as standard input (empty when `nil`), and waits
    /// for it to exit. Standard output and error go through files in `directory`, so a large output cannot block.
    /// `launcher`, when given, runs the executable (its path appended to the launcher's arguments): `setpriv` to
    /// run it as another user. `environment`, when given, replaces the test process's.
    static func run(
        _ arguments: [String], in directory: URL, input: Data? = nil, launcher: [String] = [],
        environment: [String: String]? = nil
    ) async throws -> CLIResult {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        let inputURL = directory.appendingPathComponent("stdin-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: inputURL) }
        try (input ?? Data()).write(to: inputURL)
        let tool = launcher.first.map { URL(fileURLWithPath: $0) } ?? binary
        let toolArguments = launcher.isEmpty ? arguments : launcher.dropFirst() + [binary.path] + arguments
        let result = try await DeploymentTests.run(
            tool, toolArguments, in: directory, input: inputURL, environment: environment)
        return CLIResult(status: result.status, output: result.output, errors: result.errors)
    }
}
