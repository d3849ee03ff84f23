import ArgumentParser
import Foundation
import HealthSyncHTTP
import Testing

@testable import HealthSyncCLI

@Suite struct ServeCommandTests {
    /// Parses `serve` with `arguments`.
    static func parse(_ arguments: [String]) throws -> ServeCommand {
        let parsed = try HealthSyncCommand.parseAsRoot(["serve"] + arguments)
        return try #require(parsed as? ServeCommand)
    }

    /// Builds the configuration as `serve` would, with `environment` and captured output.
    static func configuration(
        _ arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> (HealthSyncHTTPConfiguration?, status: Int32, errors: String) {
        let command = try parse(arguments)
        let errors = CapturedOutput()
        let console = Console(output: CapturedOutput(), errors: errors)
        do {
            let settings = try await command.settings(environment: environment, console: console)
            let configuration = try ServeCommand.makeConfiguration(settings, console: console)
            return (configuration, 0, errors.text)
        } catch let exit as ExitCode {
            return (nil, exit.rawValue, errors.text)
        }
    }

    @Test func refusesToStartWithoutAnyKey() async throws {
        let (configuration, status, errors) = try await Self.configuration([])
        #expect(configuration == nil)
        #expect(status == 2)
        #expect(errors.contains("no API key is configured"))
        #expect(errors.contains("--insecure-no-auth"))
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment[ServeCommand.apiKeysVariable] == nil))
    func exitsWithStatus2WithoutAnyKey() async throws {
        try await Workspace.with { workspace in
            let result = try await workspace.run("serve")
            #expect(result.status == 2)
            #expect(result.errors.contains("no API key is configured"))
            #expect(!FileManager.default.fileExists(atPath: workspace.database), "nothing was opened or bound")
        }
    }

    @Test func startsWithoutKeysOnlyWhenInsecureIsExplicit() async throws {
        let (configuration, status, _) = try await Self.configuration(["--insecure-no-auth"])
        #expect(status == 0)
        #expect(configuration?.insecureNoAuth == true)
        #expect(configuration?.apiKeys == [])
    }

    @Test func collectsKeysFromOptionsFileAndEnvironment() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write(
                "keys.txt",
                """
                # agents
                file-key-1
                  file-key-2   # trailing comment

                shared
                """
            )
            let (configuration, status, _) = try await Self.configuration(
                ["--api-key", "flag-key", "--api-key", "shared", "--api-keys-file", file],
                environment: [ServeCommand.apiKeysVariable: "env-key-1, ,env-key-2,shared"]
            )
            #expect(status == 0)
            #expect(
                configuration?.apiKeys == ["flag-key", "shared", "env-key-1", "env-key-2", "file-key-1", "file-key-2"])
        }
    }

    @Test func reportsAnUnreadableKeysFile() async throws {
        let (configuration, status, errors) = try await Self.configuration(["--api-keys-file", "/nonexistent/keys.txt"])
        #expect(configuration == nil)
        #expect(status == 2)
        #expect(errors.contains("cannot read API keys file /nonexistent/keys.txt"))
    }

    @Test func passesTheOptionsToTheService() async throws {
        let (configuration, _, _) = try await Self.configuration([
            "--api-key", "k", "--host", "0.0.0.0", "--port", "9000", "--max-body-bytes", "1024", "--strict",
            "--max-batch-check-states", "500", "--retain-events", "12h", "--retain-idempotency-keys", "2d",
        ])
        let service = try #require(configuration)
        #expect(service.maximumBatchCheckStates == 500)
        #expect(service.sweeper.eventRetention == 43_200.0)
        #expect(service.sweeper.idempotencyKeyRetention == 172_800.0)
        #expect(service.host == "0.0.0.0")
        #expect(service.port == 9000)
        #expect(service.maximumBodyBytes == 1024)
        #expect(service.strict)
        #expect(!service.insecureNoAuth)
    }

    @Test func usesTheDocumentedDefaults() async throws {
        let service = try #require(try await Self.configuration(["--api-key", "k"]).0)
        #expect(service.host == "127.0.0.1")
        #expect(service.port == 7077)
        #expect(service.maximumBodyBytes == 8 << 20)
        #expect(!service.strict)
        #expect(service.maximumBatchCheckStates == 10_000)
        #expect(service.sweeper.eventRetention == 2_592_000.0)
        #expect(service.sweeper.idempotencyKeyRetention == 86_400.0)
    }

    @Test(arguments: [
        ["--max-body-bytes", "0"], ["--port", "70000"], ["--late-grace", "-1"], ["--late-grace", "8d"],
        ["--log-level", "loud"],
        ["--api-key", ""], ["--max-batch-check-states", "0"], ["--retain-events", "-1d"],
        ["--retain-idempotency-keys", "-1h"],
    ])
    func rejectsInvalidOptions(arguments: [String]) {
        #expect(throws: (any Error).self) { try Self.parse(arguments) }
    }

    @Test func parsesKeysFilesAndVariables() {
        #expect(ServeCommand.keys(inFile: "a\n#b\n c # d\n\n\r\ne") == ["a", "c", "e"])
        #expect(ServeCommand.keys(inVariable: " a,b ,,c") == ["a", "b", "c"])
    }
}
