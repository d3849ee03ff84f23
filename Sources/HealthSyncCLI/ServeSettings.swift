import Configuration
import Foundation
import HealthSync
import HealthSyncHTTP
import HealthSyncSQLite
import Logging

/// The options of `healthsync serve` after every source is read: the command line, then `HEALTHSYNC_…` environment
/// variables, then a configuration file (`--config FILE` or `HEALTHSYNC_CONFIG`), then the built-in defaults
/// (Docs/operations.md, "Configuration").
///
/// ``resolve(commandLine:configFile:environment:)`` is the one place that reads them. Each source is checked as the
/// command line is, with the same expectations, before anything is opened or bound; a value from the environment
/// names its variable, one from the file names the file, the line and the key. The API keys are the exception to the
/// precedence: the keys of every source are accepted together.
struct ServeSettings: Sendable, Equatable {
    var db = DatabaseOptions.defaultPath
    var contextCache = SQLiteHealthStore.defaultContextCacheCapacity
    var host = "127.0.0.1"
    var port = 7077
    var apiKeys: [String] = []
    var apiKeysFile: String?
    var insecureNoAuth = false
    var maxBodyBytes = 8 << 20
    var maxBatchCheckStates = 10_000
    var lateGrace: Double = 0
    var strict = false
    var retainEvents = DurationArgument.defaultRetention
    var retainIdempotencyKeys = DurationArgument(seconds: 86_400)
    var idleTimeout = DurationArgument(seconds: 30)
    var headerTimeout = DurationArgument(seconds: 10)
    var bodyTimeout = DurationArgument(seconds: 60)
    var maxConnections = 512
    var logLevel = Logger.Level.info
    var statusPage = StatusPageConfiguration.Access.public
    var statusTitle = StatusPageConfiguration().title
    var statusStreams: [String] = []
    var reporterCpuSickAbove = StatusReportTranslation().cpuSickAbove
    var reporterRamSickAbove = StatusReportTranslation().ramSickAbove
    var reporterDeadGrace = StatusReportTranslation().deadGrace
    var thresholds: String?
    var metricsInterval = MetricTranslation().interval

    /// The prefix of every environment variable `serve` reads.
    static let environmentPrefix = "HEALTHSYNC"

    /// The environment variable that names the configuration file when `--config` is not given.
    static let configVariable = "HEALTHSYNC_CONFIG"

    /// One setting: its key in a configuration file (the long option's name), its option and environment variable.
    enum Key: String, CaseIterable, Sendable {
        case db
        case contextCache = "context-cache"
        case host
        case port
        case apiKeys = "api-keys"
        case apiKeysFile = "api-keys-file"
        case insecureNoAuth = "insecure-no-auth"
        case maxBodyBytes = "max-body-bytes"
        case maxBatchCheckStates = "max-batch-check-states"
        case lateGrace = "late-grace"
        case strict
        case retainEvents = "retain-events"
        case retainIdempotencyKeys = "retain-idempotency-keys"
        case idleTimeout = "idle-timeout"
        case headerTimeout = "header-timeout"
        case bodyTimeout = "body-timeout"
        case maxConnections = "max-connections"
        case logLevel = "log-level"
        case statusPage = "status-page"
        case statusTitle = "status-title"
        case statusStreams = "status-streams"
        case reporterCpuSickAbove = "reporter-cpu-sick-above"
        case reporterRamSickAbove = "reporter-ram-sick-above"
        case reporterDeadGrace = "reporter-dead-grace"
        case thresholds
        case metricsInterval = "metrics-interval"

        /// The command-line option: `--port`; `--api-key` (repeatable) for ``apiKeys``.
        var option: String { self == .apiKeys ? "--api-key" : "--\(rawValue)" }

        /// The environment variable: `HEALTHSYNC_` and the key in capitals with `_` for `-` (`HEALTHSYNC_MAX_BODY_BYTES`),
        /// as swift-configuration's `EnvironmentVariablesProvider` spells the key `healthsync.max-body-bytes`.
        var environmentVariable: String {
            "\(ServeSettings.environmentPrefix)_" + rawValue.uppercased().replacingOccurrences(of: "-", with: "_")
        }

        /// The key as swift-configuration reads it.
        var configKey: ConfigKey { ConfigKey([rawValue]) }

        /// What the setting accepts.
        var kind: Kind {
            switch self {
            case .db, .apiKeysFile, .thresholds: .path
            case .host: .address
            case .port: .port
            case .contextCache, .reporterDeadGrace: .count(minimum: 0)
            case .maxBodyBytes, .maxBatchCheckStates, .maxConnections, .metricsInterval: .count(minimum: 1)
            case .lateGrace: .grace
            case .insecureNoAuth, .strict: .flag
            case .retainEvents, .retainIdempotencyKeys, .idleTimeout, .headerTimeout, .bodyTimeout: .duration
            case .logLevel: .logLevel
            case .apiKeys: .keys
            case .statusPage: .access
            case .statusTitle: .title
            case .statusStreams: .prefixes
            case .reporterCpuSickAbove, .reporterRamSickAbove: .threshold
            }
        }

        /// The help of the option: `summary`, then the environment variable and the default, so that
        /// `serve --help` shows every source.
        func help(_ summary: String) -> String {
            let fallback = ServeSettings().text(of: self).map { ", default \($0)" } ?? ""
            return "\(summary) (\(environmentVariable)\(fallback))"
        }
    }

    /// The values a setting accepts.
    enum Kind: Sendable, Equatable {
        case path
        case address
        case port
        case count(minimum: Int)
        case grace
        case flag
        case duration
        case logLevel
        case keys
        case access
        case title
        case prefixes
        case threshold

        /// What an error message says is expected.
        var expectation: String {
            switch self {
            case .path: "a non-empty path"
            case .address: "a non-empty address"
            case .port: "a port 0…65535"
            case .count(let minimum): "a whole number ≥ \(minimum)"
            case .grace: "0 or a duration such as 30, 30s, 5m or 1h, at most 1w"
            case .flag: "true or false"
            case .duration: "a positive duration such as 90, 90m, 12h, 30d or 2w"
            case .logLevel: "trace, debug, info, notice, warning, error or critical"
            case .keys: "API keys that are not blank"
            case .access: "public, private or off"
            case .title: "a non-empty title"
            case .prefixes: "URN prefixes (comma-separated in a variable)"
            case .threshold: "a number ≥ 0"
            }
        }

        /// Parses `text` as the command line and the environment spell the value; `nil` when it is not acceptable.
        func value(ofText text: String) -> Value? {
            switch self {
            case .path, .address:
                return text.isEmpty ? nil : .text(text)
            case .port, .count:
                return Int(text).flatMap { accepts(integer: $0) ? .integer($0) : nil }
            case .grace:
                return (try? LateGraceArgument.parse(text)).map { .number($0.seconds) }
            case .flag:
                // The spellings of swift-configuration's EnvironmentVariablesProvider.
                switch text.lowercased() {
                case "true", "yes", "1": return .flag(true)
                case "false", "no", "0": return .flag(false)
                default: return nil
                }
            case .duration:
                return DurationArgument(argument: text).map { _ in .text(text) }
            case .logLevel:
                return Logger.Level(rawValue: text).map { _ in .text(text) }
            case .keys:
                let keys = ServeCommand.keys(inVariable: text)
                return .keys(keys)
            case .access:
                return StatusPageConfiguration.Access(rawValue: text.lowercased()).map { .text($0.rawValue) }
            case .title:
                return text.trimmingCharacters(in: .whitespaces).isEmpty ? nil : .text(text)
            case .prefixes:
                return .list(Self.prefixes(inText: text))
            case .threshold:
                return Double(text).flatMap { $0.isFinite && $0 >= 0 ? .number($0) : nil }
            }
        }

        /// The prefixes of a comma-separated list, trimmed, blanks left out.
        static func prefixes(inText text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        /// Whether `integer` is in range.
        func accepts(integer: Int) -> Bool {
            switch self {
            case .port: (0...65535).contains(integer)
            case .count(let minimum): integer >= minimum
            default: false
            }
        }
    }

    /// A checked value of one setting.
    enum Value: Sendable, Equatable {
        case text(String)
        case integer(Int)
        case number(Double)
        case flag(Bool)
        case keys([String])
        case list([String])

        /// The value as swift-configuration holds it.
        var configValue: ConfigValue {
            switch self {
            case .text(let text): ConfigValue(.string(text), isSecret: false)
            case .integer(let integer): ConfigValue(.int(integer), isSecret: false)
            case .number(let number): ConfigValue(.double(number), isSecret: false)
            case .flag(let flag): ConfigValue(.bool(flag), isSecret: false)
            case .keys(let keys): ConfigValue(.stringArray(keys), isSecret: true)
            case .list(let list): ConfigValue(.stringArray(list), isSecret: false)
            }
        }
    }

    /// The default of `key` as help shows it; `nil` when there is none.
    func text(of key: Key) -> String? {
        switch key {
        case .db: db
        case .contextCache: "\(contextCache)"
        case .host: host
        case .port: "\(port)"
        case .apiKeys, .apiKeysFile: nil
        case .insecureNoAuth: "\(insecureNoAuth)"
        case .maxBodyBytes: "\(maxBodyBytes)"
        case .maxBatchCheckStates: "\(maxBatchCheckStates)"
        case .lateGrace: LateGraceArgument(seconds: lateGrace).description
        case .strict: "\(strict)"
        case .retainEvents: retainEvents.defaultValueDescription
        case .retainIdempotencyKeys: retainIdempotencyKeys.defaultValueDescription
        case .idleTimeout: idleTimeout.defaultValueDescription
        case .headerTimeout: headerTimeout.defaultValueDescription
        case .bodyTimeout: bodyTimeout.defaultValueDescription
        case .maxConnections: "\(maxConnections)"
        case .logLevel: logLevel.rawValue
        case .statusPage: statusPage.rawValue
        case .statusTitle: statusTitle
        case .statusStreams: nil
        case .reporterCpuSickAbove: "\(reporterCpuSickAbove)"
        case .reporterRamSickAbove: "\(reporterRamSickAbove)"
        case .reporterDeadGrace: "\(reporterDeadGrace)"
        case .thresholds: nil
        case .metricsInterval: "\(metricsInterval)"
        }
    }

    /// The message of a value that `kind` does not accept, from `source` (an option, a variable, `FILE:LINE: key`).
    static func invalid(_ kind: Kind, found: String, in source: String) -> ServeSettingsError {
        ServeSettingsError(description: "\(source): expected \(kind.expectation), found '\(found)'")
    }

    /// Reads the settings from every source, in precedence order.
    /// - Parameters:
    ///   - commandLine: the values given on the command line, already checked by the argument parser.
    ///   - configFile: `--config`; when `nil`, ``configVariable`` of `environment` names the file, if any.
    ///   - environment: the process environment; the variables of ``Key/environmentVariable`` are read.
    /// - Throws: ``ServeSettingsError`` naming the source of the first value that is not acceptable, or the file and
    ///   the line that cannot be parsed.
    static func resolve(
        commandLine: [Key: Value],
        configFile: String?,
        environment: [String: String]
    ) async throws(ServeSettingsError) -> ServeSettings {
        for key in Key.allCases {
            guard let text = environment[key.environmentVariable] else { continue }
            if key.kind.value(ofText: text) == nil {
                throw invalid(key.kind, found: text, in: key.environmentVariable)
            }
        }
        let fileName = configFile ?? environment[configVariable]
        var fileProvider: (any ConfigProvider)?
        if let fileName {
            let file = try ConfigurationFile.read(fileName)
            _ = try file.values()
            fileProvider = try await file.provider()
        }

        let environmentProvider = EnvironmentVariablesProvider(
            environmentVariables: environment,
            secretsSpecifier: .specific([Key.apiKeys.environmentVariable, Key.db.environmentVariable])
        ).prefixKeys(with: ConfigKey([environmentPrefix]))
        let commandLineProvider = InMemoryProvider(
            name: "command line",
            values: Dictionary(
                uniqueKeysWithValues: commandLine.map { (AbsoluteConfigKey($0.configKey), $1.configValue) })
        )
        var providers: [any ConfigProvider] = [commandLineProvider, environmentProvider]
        if let fileProvider { providers.append(fileProvider) }
        let reader = ConfigReader(providers: providers)

        var settings = ServeSettings()
        func integer(_ key: Key, _ fallback: Int) -> Int { reader.int(forKey: key.configKey, default: fallback) }
        func flag(_ key: Key, _ fallback: Bool) -> Bool { reader.bool(forKey: key.configKey, default: fallback) }
        func text(_ key: Key, _ fallback: String) -> String { reader.string(forKey: key.configKey, default: fallback) }
        func grace(_ key: Key, _ fallback: TimeInterval) -> TimeInterval {
            // As `duration`, and 0 for none: checked (at most a week) before it is read.
            if let text = reader.string(forKey: key.configKey), let grace = try? LateGraceArgument.parse(text) {
                return grace.seconds
            }
            return reader.double(forKey: key.configKey).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } ?? fallback
        }
        func duration(_ key: Key, _ fallback: DurationArgument) -> DurationArgument {
            // The environment and YAML give text, the command line and JSON may give a number of seconds.
            if let text = reader.string(forKey: key.configKey), let duration = DurationArgument(argument: text) {
                return duration
            }
            let seconds = reader.double(forKey: key.configKey)
            return seconds.flatMap { $0.isFinite && $0 > 0 ? DurationArgument(seconds: $0) : nil } ?? fallback
        }
        settings.db = text(.db, settings.db)
        settings.contextCache = integer(.contextCache, settings.contextCache)
        settings.host = text(.host, settings.host)
        settings.port = integer(.port, settings.port)
        settings.apiKeysFile = reader.string(forKey: Key.apiKeysFile.configKey)
        settings.insecureNoAuth = flag(.insecureNoAuth, settings.insecureNoAuth)
        settings.maxBodyBytes = integer(.maxBodyBytes, settings.maxBodyBytes)
        settings.maxBatchCheckStates = integer(.maxBatchCheckStates, settings.maxBatchCheckStates)
        settings.lateGrace = grace(.lateGrace, settings.lateGrace)
        settings.strict = flag(.strict, settings.strict)
        settings.retainEvents = duration(.retainEvents, settings.retainEvents)
        settings.retainIdempotencyKeys = duration(.retainIdempotencyKeys, settings.retainIdempotencyKeys)
        settings.idleTimeout = duration(.idleTimeout, settings.idleTimeout)
        settings.headerTimeout = duration(.headerTimeout, settings.headerTimeout)
        settings.bodyTimeout = duration(.bodyTimeout, settings.bodyTimeout)
        settings.maxConnections = integer(.maxConnections, settings.maxConnections)
        settings.logLevel = Logger.Level(rawValue: text(.logLevel, settings.logLevel.rawValue)) ?? settings.logLevel
        settings.statusPage =
            StatusPageConfiguration.Access(rawValue: text(.statusPage, settings.statusPage.rawValue).lowercased())
            ?? settings.statusPage
        settings.statusTitle = text(.statusTitle, settings.statusTitle)
        func threshold(_ key: Key, _ fallback: Double) -> Double {
            // Checked (a number ≥ 0) before it is read; the environment and YAML give text.
            if let text = reader.string(forKey: key.configKey), let value = Double(text) { return value }
            return reader.double(forKey: key.configKey) ?? fallback
        }
        settings.reporterCpuSickAbove = threshold(.reporterCpuSickAbove, settings.reporterCpuSickAbove)
        settings.reporterRamSickAbove = threshold(.reporterRamSickAbove, settings.reporterRamSickAbove)
        settings.reporterDeadGrace = integer(.reporterDeadGrace, settings.reporterDeadGrace)
        settings.thresholds = reader.string(forKey: Key.thresholds.configKey)
        settings.metricsInterval = integer(.metricsInterval, settings.metricsInterval)
        // A list from the command line, the environment (comma-separated) or a file's array; a file's string too.
        if let prefixes = reader.stringArray(forKey: Key.statusStreams.configKey) {
            settings.statusStreams = prefixes.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        } else if let prefixes = reader.string(forKey: Key.statusStreams.configKey) {
            settings.statusStreams = Kind.prefixes(inText: prefixes)
        }

        // The keys of every source add up: the command line's, the environment's, then the file's.
        var keys: [String] = []
        if case .keys(let given) = commandLine[.apiKeys] { keys += given }
        keys +=
            ConfigReader(provider: environmentProvider).stringArray(forKey: Key.apiKeys.configKey, isSecret: true)?
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } ?? []
        if let fileProvider {
            keys +=
                ConfigReader(provider: fileProvider).stringArray(forKey: Key.apiKeys.configKey, isSecret: true) ?? []
        }
        settings.apiKeys = keys
        return settings
    }
}

/// A configuration value that is not acceptable, or a configuration file that cannot be read: `serve` prints it and
/// exits with status 2 before it opens or binds anything.
struct ServeSettingsError: Error, CustomStringConvertible, Equatable {
    var description: String
}
