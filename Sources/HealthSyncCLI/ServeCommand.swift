import ArgumentParser
import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncConsole
import HealthSyncHTTP
import HealthSyncPostgres
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `healthsync serve`: the HTTP intake service on the SQLite store (Docs/http.md).
struct ServeCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP intake service: the StackState receiver API and the health-sync status API.",
        discussion: """
            Agents POST intake envelopes to /receiver/stsAgent/intake (or /stsAgent/intake) with a key in the \
            api_key query parameter or the sts-api-key header. Keys come from --api-key (repeatable), \
            --api-keys-file (one per line, # starts a comment) and HEALTHSYNC_API_KEYS (comma-separated); \
            without any key the service refuses to start (exit status 2) unless --insecure-no-auth is given. \
            The status API is under /api/synchronization/health; /healthz, /readyz and /metrics need no key.

            Every option may also come from an environment variable (HEALTHSYNC_ and the option's name in capitals, \
            such as HEALTHSYNC_PORT) or from a JSON or YAML file (--config FILE or HEALTHSYNC_CONFIG) whose keys \
            are the long options' names (port, max-body-bytes, api-keys…). The command line wins over the \
            environment, which wins over the file, which wins over the defaults; API keys of every source are \
            accepted together. A value that is not acceptable, an unknown key or a file that cannot be parsed \
            refuses to start (exit status 2), naming the option, the variable or the file and its line.

            SIGTERM and SIGINT stop the service gracefully: it stops accepting connections, finishes the \
            requests in flight (each acknowledged envelope is committed before its answer) and exits 0. \
            Logs go to standard error. Events older than --retain-events are pruned once an hour, keeping what \
            `state --at` needs inside the retained window; so are the Idempotency-Key receipts older than \
            --retain-idempotency-keys. The service runs at wall time: on a database whose clock is further behind \
            than --retain-events (one a replay left in the past) it logs a warning at start, then its first sweep \
            fires the timers due in between and prunes that history.

            Hostile clients: a connection is closed when it waits for a request longer than --idle-timeout, when a \
            request head takes longer than --header-timeout or a body longer than --body-timeout; at most \
            --max-connections are open at once (more are answered 503 and closed). The cap must stay below the \
            descriptor limit (ulimit -n) with room for the database: if it does not, it is lowered at start, with \
            a log line saying so, or the service refuses to start when the limit is too small for any.

            A database file deleted, replaced or truncated under the service, or a -shm file that cannot be \
            written, makes the intake answer 503 and /readyz not ready, with the reason logged; a -shm that \
            cannot be written at start refuses to start (exit status 2).
            """
    )

    /// The environment variable with comma-separated API keys.
    static let apiKeysVariable = "HEALTHSYNC_API_KEYS"

    /// The metrics of this process: the executable routes swift-metrics into them once (see ``run()``).
    static let processMetrics = HealthSyncMetrics()

    /// The options that a configuration file or the environment may give too (``ServeSettings``): none has a
    /// default here, so that an option not given leaves the value to the other sources.
    @Option(
        help: ArgumentHelp(
            Key.db.help("The database file, or a PostgreSQL URL (postgres://user:password@host:port/database)."),
            valueName: "path-or-url"))
    var db: String?

    @Option(
        help: ArgumentHelp(
            Key.contextCache.help(
                "How many check states of the streams lately written to keep in memory, so that their next messages "
                    + "read nothing from the database (about 500 to 700 bytes each); 0 turns the cache off."),
            valueName: "count")
    )
    var contextCache: Int?

    @Option(
        help: ArgumentHelp(
            "A configuration file, .json or .yaml/.yml, of these options by long name (\(ServeSettings.configVariable)).",
            valueName: "file")
    )
    var config: String?

    @Option(
        help: ArgumentHelp(
            Key.host.help("The address to listen on (0.0.0.0 for every interface)."), valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp(Key.port.help("The port to listen on; 0 picks a free one."), valueName: "port"))
    var port: Int?

    @Option(
        name: .customLong("api-key"),
        help: ArgumentHelp(
            Key.apiKeys.help("An accepted API key (repeatable; comma-separated in the variable)."), valueName: "key"))
    var apiKeys: [String] = []

    @Option(
        help: ArgumentHelp(
            Key.apiKeysFile.help("A file of accepted API keys, one per line; # starts a comment."), valueName: "file"))
    var apiKeysFile: String?

    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(Key.insecureNoAuth.help("Accept requests without an API key (local experiments only).")))
    var insecureNoAuth: Bool?

    @Option(
        help: ArgumentHelp(
            Key.maxBodyBytes.help("The largest accepted body in bytes, as sent and after decompression."),
            valueName: "bytes")
    )
    var maxBodyBytes: Int?

    @Option(
        help: ArgumentHelp(
            Key.maxBatchCheckStates.help(
                "Group commit: the most check states of concurrent requests committed in one transaction."),
            valueName: "count")
    )
    var maxBatchCheckStates: Int?

    @Option(
        help: ArgumentHelp(
            Key.lateGrace.help(
                "Extra time a source gets past its repeat interval before it is late (30s, 5m, 1h; a bare number "
                    + "is seconds; at most 1w)."),
            valueName: "duration"),
        transform: LateGraceArgument.parse
    )
    var lateGrace: LateGraceArgument?

    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(
            Key.strict.help("Report unknown keys as warnings and reject non-main sub-streams without expiry."))
    )
    var strict: Bool?

    @Option(
        help: ArgumentHelp(
            Key.retainEvents.help(
                "Keep events for DURATION before the clock (90m, 12h, 30d, 2w; a bare number is seconds); pruned hourly."
            ),
            valueName: "duration")
    )
    var retainEvents: DurationArgument?

    @Option(
        help: ArgumentHelp(
            Key.retainIdempotencyKeys.help(
                "Remember an Idempotency-Key for DURATION before the clock; a re-send after that is applied again "
                    + "(pruned hourly)."),
            valueName: "duration")
    )
    var retainIdempotencyKeys: DurationArgument?

    @Option(
        help: ArgumentHelp(
            Key.idleTimeout.help(
                "Close a connection that waits longer than DURATION for a request (a bare number is seconds)."),
            valueName: "duration")
    )
    var idleTimeout: DurationArgument?

    @Option(
        help: ArgumentHelp(
            Key.headerTimeout.help(
                "Close a connection whose request head (request line and headers) takes longer than DURATION."),
            valueName: "duration")
    )
    var headerTimeout: DurationArgument?

    @Option(
        help: ArgumentHelp(
            Key.bodyTimeout.help(
                "Close a connection whose request body takes longer than DURATION from the end of its head."),
            valueName: "duration")
    )
    var bodyTimeout: DurationArgument?

    @Option(
        help: ArgumentHelp(
            Key.maxConnections.help(
                "The most connections open at once; more are answered 503 and closed. Lowered at start to stay "
                    + "\(Self.reservedDescriptors) descriptors below the descriptor limit."),
            valueName: "count")
    )
    var maxConnections: Int?

    @Option(
        help: ArgumentHelp(
            Key.logLevel.help("Log level: trace, debug, info, notice, warning, error or critical."), valueName: "level")
    )
    var logLevel: String?

    @Option(
        help: ArgumentHelp(
            Key.statusPage.help(
                "Who sees the status page (GET /status, /status.json, /badge/{urn}): public, without an API key, "
                    + "like /healthz (it shows check-state names, elements and messages); private, with an API key; "
                    + "off (404)."),
            valueName: "public|private|off")
    )
    var statusPage: String?

    @Option(help: ArgumentHelp(Key.statusTitle.help("The status page's title."), valueName: "title"))
    var statusTitle: String?

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            Key.statusStreams.help(
                "Only the streams whose URN starts with one of these prefixes on the status page (comma-separated "
                    + "in the variable; default every stream)."),
            valueName: "prefix")
    )
    var statusStreams: [String] = []

    @Option(
        help: ArgumentHelp(
            Key.reporterCpuSickAbove.help(
                "A status reporter's replica whose load.cpu (a load average) is above this is sick (DEVIATING)."),
            valueName: "load")
    )
    var reporterCpuSickAbove: Double?

    @Option(
        help: ArgumentHelp(
            Key.reporterRamSickAbove.help(
                "A status reporter's replica whose load.ram (0 to 1) is above this is sick (DEVIATING)."),
            valueName: "share")
    )
    var reporterRamSickAbove: Double?

    @Option(
        help: ArgumentHelp(
            Key.reporterDeadGrace.help(
                "Seconds past its interval after which a silent status reporter's replica is dead (CRITICAL)."),
            valueName: "seconds")
    )
    var reporterDeadGrace: Int?

    @Option(
        help: ArgumentHelp(
            Key.thresholds.help(
                "A YAML or JSON file of metric thresholds by service name for POST /api/v1/metrics/ingest "
                    + "(Docs/metrics.md); a bad file stops serve with the file's line."),
            valueName: "file")
    )
    var thresholds: String?

    @Option(
        help: ArgumentHelp(
            Key.metricsInterval.help(
                "Seconds a service pushing metrics promises between pushes: its service check state is CRITICAL "
                    + "after this plus --reporter-dead-grace of silence."),
            valueName: "seconds")
    )
    var metricsInterval: Int?

    /// A setting's key.
    typealias Key = ServeSettings.Key

    /// The options given on the command line, each checked as the environment and a configuration file are.
    /// - Throws: ``ServeSettingsError`` naming the option of the first value that is not acceptable.
    func commandLineValues() throws(ServeSettingsError) -> [Key: ServeSettings.Value] {
        var given: [Key: String] = [:]
        given[.db] = db
        given[.contextCache] = contextCache.map { "\($0)" }
        given[.host] = host
        given[.port] = port.map { "\($0)" }
        given[.apiKeysFile] = apiKeysFile
        given[.insecureNoAuth] = insecureNoAuth.map { "\($0)" }
        given[.maxBodyBytes] = maxBodyBytes.map { "\($0)" }
        given[.maxBatchCheckStates] = maxBatchCheckStates.map { "\($0)" }
        given[.lateGrace] = lateGrace.map { "\($0.seconds)" }
        given[.strict] = strict.map { "\($0)" }
        given[.maxConnections] = maxConnections.map { "\($0)" }
        given[.logLevel] = logLevel
        given[.statusPage] = statusPage
        given[.statusTitle] = statusTitle
        given[.reporterCpuSickAbove] = reporterCpuSickAbove.map { "\($0)" }
        given[.reporterRamSickAbove] = reporterRamSickAbove.map { "\($0)" }
        given[.reporterDeadGrace] = reporterDeadGrace.map { "\($0)" }
        given[.thresholds] = thresholds
        given[.metricsInterval] = metricsInterval.map { "\($0)" }
        var values: [Key: ServeSettings.Value] = [:]
        for (key, text) in given {
            guard let value = key.kind.value(ofText: text) else {
                throw ServeSettings.invalid(key.kind, found: text, in: key.option)
            }
            values[key] = value
        }
        // The argument parser checked the durations; they are numbers of seconds here.
        let durations: [Key: DurationArgument?] = [
            .retainEvents: retainEvents, .retainIdempotencyKeys: retainIdempotencyKeys, .idleTimeout: idleTimeout,
            .headerTimeout: headerTimeout, .bodyTimeout: bodyTimeout,
        ]
        for case (let key, let duration?) in durations { values[key] = .number(duration.seconds) }
        if let blank = apiKeys.first(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ServeSettings.invalid(.keys, found: blank, in: Key.apiKeys.option)
        }
        if !apiKeys.isEmpty { values[.apiKeys] = .keys(apiKeys) }
        if !statusStreams.isEmpty { values[.statusStreams] = .list(statusStreams) }
        return values
    }

    func validate() throws {
        do {
            _ = try commandLineValues()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The settings of every source (``ServeSettings``).
    /// - Throws: `ExitCode(2)` after printing which value is not acceptable.
    func settings(environment: [String: String], console: Console) async throws -> ServeSettings {
        do {
            return try await ServeSettings.resolve(
                commandLine: try commandLineValues(), configFile: config, environment: environment)
        } catch {
            console.printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    /// The executable's entry: logs to standard error at the configured level and routes swift-metrics into
    /// ``processMetrics``, once per process, then serves.
    mutating func run() async throws {
        let level = try await settings(environment: ProcessInfo.processInfo.environment, console: .standard).logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        Self.processMetrics.bootstrapMetricsSystem()
        try await run(console: .standard)
    }

    func execute(console: Console) async throws {
        let settings = try await settings(environment: ProcessInfo.processInfo.environment, console: console)
        var configuration = try Self.makeConfiguration(settings, console: console)
        var logger = Logger(label: "healthsync")
        logger.logLevel = settings.logLevel
        configuration.maximumConnections = try Self.connectionCap(
            requested: configuration.maximumConnections, descriptorLimit: Self.descriptorLimit(), logger: logger,
            console: console
        )

        let database = try DatabaseOptions.parse(["--db=\(settings.db)"])
        let cache = try CacheOptions.parse(["--context-cache", "\(settings.contextCache)"])
        let (store, lock) = try await database.openWriter(
            command: "serve", creating: true, console: console, cache: cache)
        // The writer lock is held until the command returns, the store closed first (once the service stopped).
        defer { DatabaseOptions.close(store, releasing: lock, console: console) }
        let processor = HealthProcessor(
            store: store, configuration: HealthProcessor.Configuration(lateGrace: settings.lateGrace), logger: logger
        )
        let clock = await Self.processorClock(of: store, logger: logger)
        let api = try HealthSyncAPI(
            processor: processor, configuration: configuration, clock: clock, metrics: Self.processMetrics,
            logger: logger
        )
        if configuration.apiKeys.isEmpty {
            logger.warning("serving WITHOUT authentication (--insecure-no-auth): any caller may post and delete")
        }
        logger.info(
            "starting",
            metadata: [
                "db": "\(DatabaseOptions.displayName(of: settings.db))", "configuration": "\(configuration)",
            ])
        try await warnOfClockJump(store: store, now: clock.now, settings: settings, logger: logger)
        do {
            try await api.runService()
        } catch let error as ListenError {
            console.printError("error: \(error)")
            throw ExitCode(2)
        } catch {
            console.printError("error: the service stopped: \(error)")
            throw ExitCode(1)
        }
        logger.info("stopped")
    }

    /// The clock the service runs at: wall time on SQLite; on PostgreSQL the database server's clock
    /// (``PostgresServerClock``), sampled once here and then every ten seconds in the command's services, so that
    /// every replica sharing the database runs on one clock.
    static func processorClock(of store: any HealthStore, logger: Logger) async -> any HealthClock {
        guard let store = store as? PostgresHealthStore else { return SystemClock() }
        let clock = PostgresServerClock(store: store, logger: logger)
        do {
            let sample = try await clock.synchronize()
            logger.info(
                "processor time follows the database server's clock",
                metadata: ["offset": "\(sample.offset)", "roundTrip": "\(sample.roundTrip)"])
        } catch {
            logger.warning(
                "cannot read the database server's clock yet; wall time until it can be read",
                metadata: ["error": "\(error)"])
        }
        do {
            try StoreServices.run(clock)
        } catch {
            logger.error("the database server's clock is not resampled", metadata: ["error": "\(error)"])
        }
        return clock
    }

    /// Logs a warning when the stored clock is further behind wall time than the event retention: the service runs
    /// at wall time, so its first sweep fires every timer due in between and prunes the history recorded so far
    /// (a database a replay left in the past, such as the README's). The service starts anyway, so that it comes
    /// back after a long outage; an operator who wants to keep a replayed history serves another `--db`.
    func warnOfClockJump(store: any HealthStore, now: Date, settings: ServeSettings, logger: Logger) async throws {
        let retainEvents = settings.retainEvents
        let jump = ClockJump(
            from: try await store.clock(), to: now, wallTime: now,
            retention: retainEvents.retention)
        guard let from = jump.from, jump.distance > retainEvents.seconds else { return }
        let stored = TimeArgument.format(from)
        let retention = DurationText.format(retainEvents.seconds)
        let cutoff = TimeArgument.format(retainEvents.retention.cutoff(at: jump.to))
        let message: String =
            "the stored clock \(stored) is \(ClockJump.describe(jump.distance)) behind wall time, more than the "
            + "event retention (\(retention)): the first sweep advances it to wall time, fires every timer due in "
            + "between and prunes the events before \(cutoff), the history recorded so far; to keep it, stop now "
            + "and serve a copy or another --db"
        logger.warning(
            "\(message)",
            metadata: ["db": "\(DatabaseOptions.displayName(of: settings.db))"])
    }

    /// The service configuration of `settings`, with the keys of ``ServeSettings/apiKeysFile`` added.
    /// - Throws: `ExitCode(2)` after printing why, when the keys file cannot be read or no key is configured
    ///   without `--insecure-no-auth`.
    static func makeConfiguration(_ settings: ServeSettings, console: Console) throws -> HealthSyncHTTPConfiguration {
        var keys = settings.apiKeys
        if let apiKeysFile = settings.apiKeysFile {
            let contents: String
            do {
                contents = try String(contentsOfFile: apiKeysFile, encoding: .utf8)
            } catch {
                console.printError("error: cannot read API keys file \(apiKeysFile): \(error.localizedDescription)")
                throw ExitCode(2)
            }
            keys += Self.keys(inFile: contents)
        }
        var seen = Set<String>()
        var configuration = HealthSyncHTTPConfiguration(
            host: settings.host, port: settings.port, apiKeys: keys.filter { seen.insert($0).inserted },
            insecureNoAuth: settings.insecureNoAuth, maximumBodyBytes: settings.maxBodyBytes, strict: settings.strict,
            sweeper: DeadlineSweeperConfiguration(
                eventRetention: settings.retainEvents.seconds,
                idempotencyKeyRetention: settings.retainIdempotencyKeys.seconds),
            maximumBatchCheckStates: settings.maxBatchCheckStates,
            idleTimeout: .seconds(settings.idleTimeout.seconds),
            headerTimeout: .seconds(settings.headerTimeout.seconds),
            bodyTimeout: .seconds(settings.bodyTimeout.seconds), maximumConnections: settings.maxConnections
        )
        configuration.statusPage = StatusPageConfiguration(
            access: settings.statusPage, title: settings.statusTitle, streamPrefixes: settings.statusStreams)
        configuration.reporters = StatusReportTranslation(
            cpuSickAbove: settings.reporterCpuSickAbove, ramSickAbove: settings.reporterRamSickAbove,
            deadGrace: settings.reporterDeadGrace)
        var serviceThresholds: [String: [Metric: MetricLevels]] = [:]
        if let file = settings.thresholds {
            do {
                serviceThresholds = try ThresholdsFile.read(file)
            } catch {
                console.printError("error: \(error)")
                throw ExitCode(2)
            }
        }
        configuration.metricReports = MetricTranslation(
            serviceThresholds: serviceThresholds, interval: settings.metricsInterval, grace: settings.reporterDeadGrace)
        do {
            try configuration.validate()
        } catch  where error.code == .noAPIKey {
            console.printError(
                "error: no API key is configured: give --api-key KEY, --api-keys-file FILE, "
                    + "\(Self.apiKeysVariable)=KEY1,KEY2 or api-keys in the --config file, or allow unauthenticated "
                    + "access with --insecure-no-auth"
            )
            throw ExitCode(2)
        } catch {
            console.printError("error: \(error)")
            throw ExitCode(2)
        }
        return configuration
    }

    /// The descriptors kept apart from connections: the database and its WAL and index files, the listener, standard
    /// streams, the event loops' own descriptors and what the runtime opens.
    static let reservedDescriptors = 64

    /// The soft descriptor limit (`RLIMIT_NOFILE`) of this process; `nil` when unlimited (`RLIM_INFINITY`) or unknown.
    static func descriptorLimit() -> Int? {
        var limit = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    /// The connection cap to serve with: `requested` when it stays ``reservedDescriptors`` below `descriptorLimit`,
    /// else lowered to that, with a warning that says so.
    /// - Throws: `ExitCode(2)` after printing why, when the limit leaves no room for even
    ///   ``minimumConnections`` connections.
    static func connectionCap(
        requested: Int,
        descriptorLimit: Int?,
        logger: Logger,
        console: Console
    ) throws -> Int {
        guard let descriptorLimit else { return requested }
        let room = descriptorLimit - reservedDescriptors
        if requested <= room { return requested }
        guard room >= minimumConnections else {
            console.printError(
                "error: the descriptor limit (ulimit -n, RLIMIT_NOFILE) is \(descriptorLimit): too small to serve; "
                    + "\(reservedDescriptors) descriptors are kept for the database and the runtime, and at least "
                    + "\(minimumConnections) connections are needed. Raise the limit."
            )
            throw ExitCode(2)
        }
        let message =
            "lowering the connection cap from \(requested) to \(room): the descriptor limit (RLIMIT_NOFILE) is "
            + "\(descriptorLimit) and \(reservedDescriptors) descriptors are kept for the database and the runtime"
        logger.warning(
            "\(message)",
            metadata: ["connections.maximum": "\(room)", "descriptors.limit": "\(descriptorLimit)"]
        )
        return room
    }

    /// The fewest connections `serve` starts with.
    static let minimumConnections = 8

    /// The keys of a keys file: one per line, surrounding blanks trimmed; blank lines and `#` comments skipped.
    static func keys(inFile contents: String) -> [String] {
        contents.split(whereSeparator: \.isNewline).compactMap { line in
            let text = (line.firstIndex(of: "#").map { line[..<$0] } ?? line).trimmingCharacters(in: .whitespaces)
            return text.isEmpty ? nil : text
        }
    }

    /// The keys of ``apiKeysVariable``: comma-separated, surrounding blanks trimmed, empty entries skipped.
    static func keys(inVariable value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
