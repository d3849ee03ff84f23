import Foundation
import HealthSyncTestSupport
import Testing

/// What an operator installs from Docs/deploy and Docs/operations.md: the systemd unit and the shell completions.
///
/// A test that needs an outside tool (`systemd-analyze`, `bash`) is skipped, with the reason, when the tool is missing
/// on a developer's machine, and fails when the `CI` environment variable is set: CI installs the tools
/// (.ci/run), so a skip there would hide a broken unit.
@Suite struct DeploymentTests {
    /// The repository's root directory.
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Whether the tests run in CI, where a missing tool is a failure.
    static let inCI = ProcessInfo.processInfo.environment["CI"] != nil

    /// The executable `name` on `PATH` (or the usual system directories); `nil` when there is none.
    static func tool(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        return directories.lazy.map { URL(fileURLWithPath: $0).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs `tool` with `arguments` and waits for it (holding no thread); standard output and error go through files in `directory`.
    /// `input`, when given, is the file standard input reads; `environment`, when given, replaces the test process's.
    static func run(
        _ tool: URL, _ arguments: [String], in directory: URL, input: URL? = nil, environment: [String: String]? = nil
    ) async throws -> (status: Int32, output: String, errors: String) {
        let id = UUID().uuidString
        let outputURL = directory.appendingPathComponent("stdout-\(id)")
        let errorsURL = directory.appendingPathComponent("stderr-\(id)")
        defer { for url in [outputURL, errorsURL] { try? FileManager.default.removeItem(at: url) } }
        for url in [outputURL, errorsURL] {
            try #require(FileManager.default.createFile(atPath: url.path, contents: nil))
        }
        let outputHandle = try FileHandle(forWritingTo: outputURL)
        let errorsHandle = try FileHandle(forWritingTo: errorsURL)
        let process = ChildProcess()
        process.executableURL = tool
        process.arguments = arguments
        process.currentDirectoryURL = directory
        if let environment { process.environment = environment }
        let inputHandle = try input.map { try FileHandle(forReadingFrom: $0) }
        defer { try? inputHandle?.close() }
        process.standardInput = inputHandle ?? FileHandle.nullDevice
        process.standardOutput = outputHandle
        process.standardError = errorsHandle
        let status = try await process.runToExit()
        try? outputHandle.close()
        try? errorsHandle.close()
        return (
            status, try String(contentsOf: outputURL, encoding: .utf8),
            try String(contentsOf: errorsURL, encoding: .utf8)
        )
    }

    @Test func theSystemdUnitHasWhatTheServiceNeeds() throws {
        let unit = try String(
            contentsOf: Self.repository.appendingPathComponent("Docs/deploy/healthsync.service"), encoding: .utf8)
        let lines = Set(unit.split(separator: "\n").map(String.init))
        for line in [
            "Restart=on-failure", "KillSignal=SIGTERM", "StateDirectory=healthsync", "DynamicUser=yes",
            "LoadCredential=api-key:/etc/healthsync/api-key", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "RestartPreventExitStatus=2",
        ] {
            let present = lines.contains(line)
            #expect(present, "\(line)")
        }
        let execStart = try #require(lines.first { $0.hasPrefix("ExecStart=") })
        #expect(execStart.contains("--api-keys-file %d/api-key"), "the key comes from the credential")
        #expect(execStart.contains("--db /var/lib/healthsync/"), "the database is in the state directory")
        #expect(!execStart.contains("--api-key "), "no key on the command line")
    }

    @Test(
        .enabled(
            if: tool("systemd-analyze") != nil || inCI,
            "systemd-analyze is not installed (Debian package systemd); CI fails instead of skipping")
    )
    func systemdAnalyzeVerifiesTheUnit() async throws {
        let analyze = try #require(Self.tool("systemd-analyze"), "CI installs systemd for systemd-analyze")
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            // `verify` checks that ExecStart's program exists: the copy runs the built executable.
            let unit = try String(
                contentsOf: Self.repository.appendingPathComponent("Docs/deploy/healthsync.service"), encoding: .utf8)
            let copy = try workspace.write(
                "healthsync.service", unit.replacingOccurrences(of: "/usr/local/bin/healthsync", with: binary.path))
            let result = try await Self.run(analyze, ["verify", copy], in: workspace.directory)
            #expect(result.status == 0, "\(result.errors)")
            // verify only warns about a misspelt key or value: any line about the unit fails the test.
            let complaints = (result.output + result.errors).split(separator: "\n")
                .filter { $0.contains("healthsync.service") }
            #expect(complaints.isEmpty, "\(complaints)")
        }
    }

    @Test(
        .enabled(if: tool("bash") != nil || inCI, "bash is not installed; CI fails instead of skipping")
    )
    func printsABashCompletionScriptThatBashAccepts() async throws {
        let bash = try #require(Self.tool("bash"), "CI has bash")
        try await Workspace.with { workspace in
            let result = try await Executable.run(
                ["--generate-completion-script", "bash"], in: workspace.directory)
            #expect(result.status == 0, "\(result.errors)")
            for subcommand in ["serve", "replay", "state", "audit"] {
                #expect(result.output.contains(subcommand), "\(subcommand)")
            }
            #expect(result.output.contains("--api-keys-file"), "the options of serve are completed")
            let script = try workspace.write("healthsync.bash", result.output)
            let check = try await Self.run(bash, ["-n", script], in: workspace.directory)
            #expect(check.status == 0, "\(check.errors)")
        }
    }

    @Test(arguments: ["zsh", "fish"])
    func printsTheOtherShellsCompletionScripts(shell: String) async throws {
        try await Workspace.with { workspace in
            let result = try await Executable.run(["--generate-completion-script", shell], in: workspace.directory)
            #expect(result.status == 0, "\(result.errors)")
            #expect(result.output.contains("serve"))
        }
    }
}
