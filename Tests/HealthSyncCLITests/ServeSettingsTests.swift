import ArgumentParser
import Foundation
import HealthSyncHTTP
import Logging
import Testing

@testable import HealthSyncCLI

@Suite struct ServeSettingsTests {
    /// Resolves the settings of `serve ARGUMENTS` with `environment` and, when given, a configuration file `name`
    /// holding `file`; returns the settings or the error message.
    static func resolve(
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        file: (name: String, contents: String)? = nil
    ) async throws -> Result<ServeSettings, ServeSettingsError> {
        try await Workspace.with { workspace in
            let command = try ServeCommandTests.parse(arguments)
            let path = try file.map { try workspace.write($0.name, $0.contents) }
            do throws(ServeSettingsError) {
                let settings = try await ServeSettings.resolve(
                    commandLine: try command.commandLineValues(), configFile: command.config ?? path,
                    environment: environment)
                return .success(settings)
            } catch {
                return .failure(error)
            }
        }
    }

    /// The message of a failed resolution, without the workspace's directory; `nil` when it succeeded.
    static func message(_ result: Result<ServeSettings, ServeSettingsError>) -> String? {
        guard case .failure(let error) = result else { return nil }
        return error.description.replacingOccurrences(
            of: #"^.*/healthsync-cli-[^/]+/"#, with: "", options: .regularExpression)
    }

    @Test func commandLineBeatsEnvironmentBeatsFileBeatsDefault() async throws {
        let result = try await Self.resolve(
            ["--port", "1003", "--no-strict"],
            environment: ["HEALTHSYNC_PORT": "1002", "HEALTHSYNC_MAX_CONNECTIONS": "200", "HEALTHSYNC_STRICT": "yes"],
            file: (
                "healthsync.yaml",
                """
                port: 1001
                max-connections: 100
                host: 0.0.0.0
                log-level: debug
                """
            )
        )
        let settings = try result.get()
        #expect(settings.port == 1003, "the command line beats the environment and the file")
        #expect(!settings.strict, "--no-strict beats HEALTHSYNC_STRICT")
        #expect(settings.maxConnections == 200, "the environment beats the file")
        #expect(settings.host == "0.0.0.0", "the file beats the default")
        #expect(settings.logLevel == .debug)
        #expect(settings.bodyTimeout == DurationArgument(seconds: 60), "the default is left")
    }

    @Test func namesEveryVariableAfterItsOption() {
        #expect(ServeSettings.Key.port.environmentVariable == "HEALTHSYNC_PORT")
        #expect(ServeSettings.Key.db.environmentVariable == "HEALTHSYNC_DB")
        #expect(ServeSettings.Key.maxBodyBytes.environmentVariable == "HEALTHSYNC_MAX_BODY_BYTES")
        #expect(ServeSettings.Key.apiKeysFile.environmentVariable == "HEALTHSYNC_API_KEYS_FILE")
        #expect(ServeSettings.Key.apiKeys.environmentVariable == ServeCommand.apiKeysVariable)
        #expect(ServeSettings.Key.apiKeys.option == "--api-key")
        #expect(ServeSettings.Key.retainIdempotencyKeys.option == "--retain-idempotency-keys")
        let variables = ServeSettings.Key.allCases.map(\.environmentVariable)
        #expect(Set(variables).count == variables.count)
        #expect(!variables.contains(ServeSettings.configVariable))
    }

    @Test func everyOptionHasAKeyAndEveryKeyAnOption() throws {
        let help = ServeCommand.helpMessage()
        for key in ServeSettings.Key.allCases {
            #expect(help.contains(key.option), "\(key.option)")
            #expect(help.contains(key.environmentVariable), "\(key.environmentVariable)")
        }
    }

    @Test func readsEveryKeyFromTheEnvironment() async throws {
        let environment = [
            "HEALTHSYNC_DB": "/var/lib/healthsync/healthsync.sqlite", "HEALTHSYNC_CONTEXT_CACHE": "0",
            "HEALTHSYNC_HOST": "0.0.0.0", "HEALTHSYNC_PORT": "8080", "HEALTHSYNC_API_KEYS": "a, b",
            "HEALTHSYNC_API_KEYS_FILE": "/run/credentials/healthsync.service/api-key",
            "HEALTHSYNC_INSECURE_NO_AUTH": "TRUE", "HEALTHSYNC_MAX_BODY_BYTES": "1024",
            "HEALTHSYNC_MAX_BATCH_CHECK_STATES": "50", "HEALTHSYNC_LATE_GRACE": "2.5", "HEALTHSYNC_STRICT": "1",
            "HEALTHSYNC_RETAIN_EVENTS": "12h", "HEALTHSYNC_RETAIN_IDEMPOTENCY_KEYS": "2d",
            "HEALTHSYNC_IDLE_TIMEOUT": "5", "HEALTHSYNC_HEADER_TIMEOUT": "3s", "HEALTHSYNC_BODY_TIMEOUT": "2m",
            "HEALTHSYNC_MAX_CONNECTIONS": "64", "HEALTHSYNC_LOG_LEVEL": "warning",
            "HEALTHSYNC_STATUS_PAGE": "Private", "HEALTHSYNC_STATUS_TITLE": "Shop",
            "HEALTHSYNC_STATUS_STREAMS": "urn:health:shop:, urn:health:jobs:",
            "HEALTHSYNC_REPORTER_CPU_SICK_ABOVE": "3.5", "HEALTHSYNC_REPORTER_RAM_SICK_ABOVE": "0.9",
            "HEALTHSYNC_REPORTER_DEAD_GRACE": "45", "HEALTHSYNC_THRESHOLDS": "/etc/healthsync/thresholds.yaml",
            "HEALTHSYNC_METRICS_INTERVAL": "30",
        ]
        #expect(environment.count == ServeSettings.Key.allCases.count)
        let settings = try await Self.resolve(environment: environment).get()
        var expected = ServeSettings()
        expected.db = "/var/lib/healthsync/healthsync.sqlite"
        expected.contextCache = 0
        expected.host = "0.0.0.0"
        expected.port = 8080
        expected.apiKeys = ["a", "b"]
        expected.apiKeysFile = "/run/credentials/healthsync.service/api-key"
        expected.insecureNoAuth = true
        expected.maxBodyBytes = 1024
        expected.maxBatchCheckStates = 50
        expected.lateGrace = 2.5
        expected.strict = true
        expected.retainEvents = DurationArgument(seconds: 43_200)
        expected.retainIdempotencyKeys = DurationArgument(seconds: 172_800)
        expected.idleTimeout = DurationArgument(seconds: 5)
        expected.headerTimeout = DurationArgument(seconds: 3)
        expected.bodyTimeout = DurationArgument(seconds: 120)
        expected.maxConnections = 64
        expected.logLevel = .warning
        expected.statusPage = .private
        expected.statusTitle = "Shop"
        expected.statusStreams = ["urn:health:shop:", "urn:health:jobs:"]
        expected.reporterCpuSickAbove = 3.5
        expected.reporterRamSickAbove = 0.9
        expected.reporterDeadGrace = 45
        expected.thresholds = "/etc/healthsync/thresholds.yaml"
        expected.metricsInterval = 30
        #expect(settings == expected)
    }

    @Test(arguments: [
        ("HEALTHSYNC_PORT", "abc", "HEALTHSYNC_PORT: expected a port 0…65535, found 'abc'"),
        ("HEALTHSYNC_STATUS_PAGE", "open", "HEALTHSYNC_STATUS_PAGE: expected public, private or off, found 'open'"),
        ("HEALTHSYNC_PORT", "70000", "HEALTHSYNC_PORT: expected a port 0…65535, found '70000'"),
        ("HEALTHSYNC_MAX_BODY_BYTES", "0", "HEALTHSYNC_MAX_BODY_BYTES: expected a whole number ≥ 1, found '0'"),
        ("HEALTHSYNC_CONTEXT_CACHE", "-1", "HEALTHSYNC_CONTEXT_CACHE: expected a whole number ≥ 0, found '-1'"),
        (
            "HEALTHSYNC_LATE_GRACE", "-1",
            "HEALTHSYNC_LATE_GRACE: expected 0 or a duration such as 30, 30s, 5m or 1h, at most 1w, found '-1'"
        ),
        (
            "HEALTHSYNC_LATE_GRACE", "2w",
            "HEALTHSYNC_LATE_GRACE: expected 0 or a duration such as 30, 30s, 5m or 1h, at most 1w, found '2w'"
        ),
        ("HEALTHSYNC_STRICT", "maybe", "HEALTHSYNC_STRICT: expected true or false, found 'maybe'"),
        (
            "HEALTHSYNC_REPORTER_CPU_SICK_ABOVE", "-0.5",
            "HEALTHSYNC_REPORTER_CPU_SICK_ABOVE: expected a number ≥ 0, found '-0.5'"
        ),
        (
            "HEALTHSYNC_REPORTER_DEAD_GRACE", "soon",
            "HEALTHSYNC_REPORTER_DEAD_GRACE: expected a whole number ≥ 0, found 'soon'"
        ),
        (
            "HEALTHSYNC_RETAIN_EVENTS", "-1d",
            "HEALTHSYNC_RETAIN_EVENTS: expected a positive duration such as 90, 90m, 12h, 30d or 2w, found '-1d'"
        ),
        (
            "HEALTHSYNC_LOG_LEVEL", "loud",
            "HEALTHSYNC_LOG_LEVEL: expected trace, debug, info, notice, warning, error or critical, found 'loud'"
        ),
        ("HEALTHSYNC_DB", "", "HEALTHSYNC_DB: expected a non-empty path, found ''"),
    ])
    func refusesAnEnvironmentValueNamingTheVariable(variable: String, value: String, message: String) async throws {
        let result = try await Self.resolve(["--api-key", "k"], environment: [variable: value])
        #expect(Self.message(result) == message)
    }

    @Test(arguments: [
        (["--port", "70000"], "--port: expected a port 0…65535, found '70000'"),
        (["--max-connections", "0"], "--max-connections: expected a whole number ≥ 1, found '0'"),
        (
            ["--log-level", "loud"],
            "--log-level: expected trace, debug, info, notice, warning, error or critical, found 'loud'"
        ),
        (["--api-key", " "], "--api-key: expected API keys that are not blank, found ' '"),
    ])
    func refusesACommandLineValueNamingTheOption(arguments: [String], message: String) {
        #expect {
            try ServeCommandTests.parse(arguments)
        } throws: { error in
            HealthSyncCommand.message(for: error) == message
        }
    }

    @Test func readsEveryKeyFromAYAMLFile() async throws {
        let settings = try await Self.resolve(
            file: (
                "healthsync.yml",
                """
                # every key
                db: /var/lib/healthsync/healthsync.sqlite
                context-cache: 0
                host: "::1"
                port: 8080
                api-keys: [a, "b"]
                api-keys-file: /etc/healthsync/keys
                insecure-no-auth: yes
                max-body-bytes: 1024
                max-batch-check-states: 50
                late-grace: 5m
                strict: true
                retain-events: 12h
                retain-idempotency-keys: 2d
                idle-timeout: 5
                header-timeout: 3s
                body-timeout: 2m
                max-connections: 64
                log-level: warning
                status-page: off
                status-title: "Shop <status>"
                status-streams: ["urn:health:shop:"]
                """
            )
        ).get()
        #expect(settings.db == "/var/lib/healthsync/healthsync.sqlite")
        #expect(settings.contextCache == 0)
        #expect(settings.host == "::1")
        #expect(settings.port == 8080)
        #expect(settings.apiKeys == ["a", "b"])
        #expect(settings.apiKeysFile == "/etc/healthsync/keys")
        #expect(settings.insecureNoAuth)
        #expect(settings.maxBodyBytes == 1024)
        #expect(settings.maxBatchCheckStates == 50)
        #expect(settings.lateGrace == 300, "a duration, as on the command line")
        #expect(settings.strict)
        #expect(settings.retainEvents.seconds == 43_200)
        #expect(settings.retainIdempotencyKeys.seconds == 172_800)
        #expect(settings.idleTimeout.seconds == 5)
        #expect(settings.headerTimeout.seconds == 3)
        #expect(settings.bodyTimeout.seconds == 120)
        #expect(settings.maxConnections == 64)
        #expect(settings.logLevel == .warning)
        #expect(settings.statusPage == .off)
        #expect(settings.statusTitle == "Shop <status>")
        #expect(settings.statusStreams == ["urn:health:shop:"])
    }

    @Test func readsTheStatusPageOptionsFromEverySource() async throws {
        let given = try await Self.resolve(
            ["--status-page", "private", "--status-title", "Ops", "--status-streams", "urn:a:", "urn:b:"]
        ).get()
        #expect(given.statusPage == .private)
        #expect(given.statusTitle == "Ops")
        #expect(given.statusStreams == ["urn:a:", "urn:b:"])
        let defaults = try await Self.resolve().get()
        #expect(defaults.statusPage == .public)
        #expect(defaults.statusTitle == "HealthSync status")
        #expect(defaults.statusStreams.isEmpty)
        let json = try await Self.resolve(
            file: ("s.json", #"{"status-page": "off", "status-streams": ["urn:x:"], "status-title": "X"}"#)
        ).get()
        #expect(json.statusPage == .off)
        #expect(json.statusStreams == ["urn:x:"])
        let yamlString = try await Self.resolve(file: ("s.yaml", "status-streams: \"urn:y:, urn:z:\"\n")).get()
        #expect(yamlString.statusStreams == ["urn:y:", "urn:z:"])
    }

    @Test func readsTheReporterSettingsFromEverySource() async throws {
        let defaults = try await Self.resolve().get()
        #expect(defaults.reporterCpuSickAbove == 0.99 && defaults.reporterRamSickAbove == 0.99)
        #expect(defaults.reporterDeadGrace == 20)
        let given = try await Self.resolve([
            "--reporter-cpu-sick-above", "4", "--reporter-ram-sick-above", "0.8", "--reporter-dead-grace", "0",
        ]).get()
        #expect(given.reporterCpuSickAbove == 4 && given.reporterRamSickAbove == 0.8 && given.reporterDeadGrace == 0)
        let json = try await Self.resolve(
            file: ("r.json", #"{"reporter-cpu-sick-above": 2.5, "reporter-dead-grace": 30}"#)
        ).get()
        #expect(json.reporterCpuSickAbove == 2.5 && json.reporterDeadGrace == 30)
        let yaml = try await Self.resolve(file: ("r.yaml", "reporter-ram-sick-above: 0.75\n")).get()
        #expect(yaml.reporterRamSickAbove == 0.75)
        let bad = try await Self.resolve(file: ("r.json", "{\n  \"reporter-ram-sick-above\": -1\n}"))
        #expect(Self.message(bad) == "r.json:2: reporter-ram-sick-above: expected a number ≥ 0, found '-1'")
    }

    @Test func readsAJSONFileWithDurationsAsNumbersOrText() async throws {
        let settings = try await Self.resolve(
            file: (
                "healthsync.json",
                """
                {
                  "port": 8080,
                  "host": "0.0.0.0",
                  "api-keys": ["a"],
                  "strict": true,
                  "late-grace": 1,
                  "idle-timeout": 5,
                  "retain-events": "12h"
                }
                """
            )
        ).get()
        #expect(settings.port == 8080)
        #expect(settings.host == "0.0.0.0")
        #expect(settings.apiKeys == ["a"])
        #expect(settings.strict)
        #expect(settings.lateGrace == 1)
        #expect(settings.idleTimeout.seconds == 5)
        #expect(settings.retainEvents.seconds == 43_200)
    }

    @Test func acceptsTheKeysOfEverySourceTogether() async throws {
        let settings = try await Self.resolve(
            ["--api-key", "flag"], environment: ["HEALTHSYNC_API_KEYS": "env1,env2"],
            file: ("c.yaml", "api-keys:\n  - file\n")
        ).get()
        #expect(settings.apiKeys == ["flag", "env1", "env2", "file"])
    }

    @Test func findsTheFileThroughTheVariableUnlessTheOptionNamesOne() async throws {
        try await Workspace.with { workspace in
            let variableFile = try workspace.write("variable.yaml", "port: 1001\n")
            let optionFile = try workspace.write("option.json", #"{"port": 1002}"#)
            let fromVariable = try await ServeSettings.resolve(
                commandLine: [:], configFile: nil, environment: ["HEALTHSYNC_CONFIG": variableFile])
            #expect(fromVariable.port == 1001)
            let fromOption = try await ServeSettings.resolve(
                commandLine: [:], configFile: optionFile, environment: ["HEALTHSYNC_CONFIG": variableFile])
            #expect(fromOption.port == 1002)
        }
    }

    @Test(arguments: [
        // A parse error: the line JSONSerialization points at.
        ("bad.json", "{\n  \"port\": 8080,\n  \"host\" \"0.0.0.0\"\n}\n", "bad.json:3: not valid JSON"),
        // An unexpected end of the file: its last line.
        ("cut.json", "{\n  \"port\": 8080,\n  \"api-keys\": [\"a\",\n", "cut.json:3: not valid JSON"),
        // Yams stops where the unclosed sequence of line 2 meets a mapping.
        ("bad.yaml", "port: 8080\nhost: [0.0.0.0\nstrict: true\n", "bad.yaml:3: not valid YAML"),
        ("tabs.yaml", "port: 8080\n\thost: x\n", "tabs.yaml:2: not valid YAML"),
        ("top.json", "[1, 2]", "top.json:1: the file holds one JSON object"),
        ("twice.json", "{\n  \"port\": 1,\n  \"port\": 2\n}", "twice.json:3: duplicate key 'port' (first on line 2)"),
        ("twice.yaml", "port: 1\nhost: x\nport: 2\n", "twice.yaml:3: not valid YAML: duplicate key port"),
        ("top.yaml", "- port\n", "top.yaml:1: the file holds one YAML mapping"),
    ])
    func refusesAFileThatDoesNotParseNamingTheLine(name: String, contents: String, prefix: String) async throws {
        let result = try await Self.resolve(file: (name, contents))
        let message = try #require(Self.message(result))
        #expect(message.hasPrefix(prefix), "\(message)")
    }

    @Test(arguments: [
        ("typo.json", "{\n  \"port\": 8080,\n  \"max-conections\": 10\n}", "typo.json:3: unknown key 'max-conections'"),
        ("typo.yaml", "port: 8080\n\nmax-conections: 10\n", "typo.yaml:3: unknown key 'max-conections'"),
        ("nested.yaml", "http:\n  port: 8080\n", "nested.yaml:1: unknown key 'http'"),
    ])
    func refusesAnUnknownKeyNamingItsLine(name: String, contents: String, prefix: String) async throws {
        let result = try await Self.resolve(file: (name, contents))
        let message = try #require(Self.message(result))
        #expect(message.hasPrefix(prefix), "\(message)")
        #expect(message.contains("max-connections"), "the message lists the keys")
    }

    @Test(arguments: [
        (
            "a.json", "{\n  \"host\": \"x\",\n  \"port\": \"abc\"\n}",
            "a.json:3: port: expected a port 0…65535, found '\"abc\"'"
        ),
        ("b.json", "{\"port\": 70000}", "b.json:1: port: expected a port 0…65535, found '70000'"),
        ("c.json", "{\n\"strict\": 1}", "c.json:2: strict: expected true or false, found '1'"),
        ("d.json", "{\"port\": 80.5}", "d.json:1: port: expected a port 0…65535, found '80.5'"),
        ("e.json", "{\"api-keys\": \"k\"}", "e.json:1: api-keys: expected API keys that are not blank, found '\"k\"'"),
        ("f.json", "{\"host\": null}", "f.json:1: host: expected a non-empty address, found 'null'"),
        ("a.yaml", "host: x\nport: abc\n", "a.yaml:2: port: expected a port 0…65535, found 'abc'"),
        ("b.yaml", "max-body-bytes: 0\n", "b.yaml:1: max-body-bytes: expected a whole number ≥ 1, found '0'"),
        ("c.yaml", "strict: maybe\n", "c.yaml:1: strict: expected true or false, found 'maybe'"),
        (
            "d.yaml", "\nretain-events: -1d\n",
            "d.yaml:2: retain-events: expected a positive duration such as 90, 90m, 12h, 30d or 2w, found '-1d'"
        ),
        ("e.yaml", "host:\n", "e.yaml:1: host: expected a non-empty address, found ''"),
        ("f.yaml", "port:\n  nested: 1\n", "f.yaml:1: port: expected a port 0…65535, found 'a mapping'"),
        (
            "g.yaml", "log-level: loud\n",
            "g.yaml:1: log-level: expected trace, debug, info, notice, warning, error or critical, found 'loud'"
        ),
    ])
    func refusesAFileValueNamingTheLineAndKey(name: String, contents: String, message: String) async throws {
        let result = try await Self.resolve(file: (name, contents))
        #expect(Self.message(result) == message)
    }

    @Test func refusesAFileOfAnUnknownFormatOrThatIsMissing() async throws {
        let result = try await Self.resolve(file: ("healthsync.toml", "port = 1"))
        let format = try #require(Self.message(result))
        #expect(format == "healthsync.toml: a configuration file ends in .json, .yaml or .yml, which says its format")
        let missing = try await Self.resolve(environment: ["HEALTHSYNC_CONFIG": "/nonexistent/healthsync.yaml"])
        let message = try #require(Self.message(missing))
        #expect(message.hasPrefix("cannot read configuration file /nonexistent/healthsync.yaml"), "\(message)")
    }

    @Test func acceptsAnEmptyYAMLFile() async throws {
        let settings = try await Self.resolve(file: ("empty.yaml", "# nothing yet\n")).get()
        #expect(settings == ServeSettings())
    }

    /// The repository's Docs/deploy directory.
    static let deployDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs/deploy")

    @Test(arguments: ["healthsync.yaml", "healthsync.json"])
    func acceptsTheExampleFilesOfTheDocs(name: String) async throws {
        let path = Self.deployDirectory.appendingPathComponent(name).path
        let settings = try await ServeSettings.resolve(commandLine: [:], configFile: path, environment: [:])
        #expect(settings.db == "/var/lib/healthsync/healthsync.sqlite")
        #expect(settings.port == 7077)
        #expect(settings.apiKeysFile != nil)
    }

    @Test func theJSONAndYAMLExamplesSayTheSame() async throws {
        func settings(_ name: String) async throws -> ServeSettings {
            try await ServeSettings.resolve(
                commandLine: [:], configFile: Self.deployDirectory.appendingPathComponent(name).path, environment: [:])
        }
        let yaml = try await settings("healthsync.yaml")
        #expect(try await settings("healthsync.json") == yaml)
        #expect(yaml.host == "0.0.0.0")
        #expect(yaml.idleTimeout.seconds == 30)
        #expect(yaml.retainIdempotencyKeys.seconds == 86_400)
    }

    @Test func theExecutableRefusesABadFileWithStatus2AndTheLineBeforeOpeningAnything() async throws {
        try await Workspace.with { workspace in
            let file = try workspace.write("healthsync.yaml", "port: 8080\nhost: 127.0.0.1\nmax-conections: 10\n")
            let result = try await Executable.run(
                ["serve", "--config", file, "--db", workspace.database], in: workspace.directory)
            #expect(result.status == 2)
            #expect(result.errors.contains("healthsync.yaml:3: unknown key 'max-conections'"), "\(result.errors)")
            #expect(!FileManager.default.fileExists(atPath: workspace.database), "nothing was opened")
        }
    }
}
