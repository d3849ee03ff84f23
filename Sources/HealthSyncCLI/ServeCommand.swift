import ArgumentParser
import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncConsole
import HealthSyncHTTP
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

    @OptionGroup var database: DatabaseOptions

    @OptionGroup var cache: CacheOptions

    @Option(help: ArgumentHelp("The address to listen on (0.0.0.0 for every interface).", valueName: "address"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("The port to listen on; 0 picks a free one.", valueName: "port"))
    var port = 7077

    @Option(name: .customLong("api-key"), help: ArgumentHelp("An accepted API key (repeatable).", valueName: "key"))
    var apiKeys: [String] = []

    @Option(help: ArgumentHelp("A file of accepted API keys, one per line; # starts a comment.", valueName: "file"))
    var apiKeysFile: String?

    @Flag(help: "Accept requests without an API key (local experiments only).")
    var insecureNoAuth = false

    @Option(
        help: ArgumentHelp("The largest accepted body in bytes, as sent and after decompression.", valueName: "bytes")
    )
    var maxBodyBytes = 8 << 20

    @Option(
        help: ArgumentHelp(
            "Group commit: the most check states of concurrent requests committed in one transaction.",
            valueName: "count")
    )
    var maxBatchCheckStates = 10_000

    @Option(
        help: ArgumentHelp("Extra time a source gets past its repeat interval before it is late.", valueName: "seconds")
    )
    var lateGrace: Double = 0

    @Flag(help: "Report unknown keys as warnings and reject non-main sub-streams without expiry.")
    var strict = false

    @Option(
        help: ArgumentHelp(
            "Keep events for DURATION before the clock (90m, 12h, 30d, 2w; a bare number is seconds); pruned hourly.",
            valueName: "duration")
    )
    var retainEvents = DurationArgument.defaultRetention

    @Option(
        help: ArgumentHelp(
            "Remember an Idempotency-Key for DURATION before the clock; a re-send after that is applied again "
                + "(pruned hourly).",
            valueName: "duration")
    )
    var retainIdempotencyKeys = DurationArgument(seconds: 86_400)

    @Option(
        help: ArgumentHelp(
            "Close a connection that waits longer than DURATION for a request (a bare number is seconds).",
            valueName: "duration")
    )
    var idleTimeout = DurationArgument(seconds: 30)

    @Option(
        help: ArgumentHelp(
            "Close a connection whose request head (request line and headers) takes longer than DURATION.",
            valueName: "duration")
    )
    var headerTimeout = DurationArgument(seconds: 10)

    @Option(
        help: ArgumentHelp(
            "Close a connection whose request body takes longer than DURATION from the end of its head.",
            valueName: "duration")
    )
    var bodyTimeout = DurationArgument(seconds: 60)

    @Option(
        help: ArgumentHelp(
            "The most connections open at once; more are answered 503 and closed. Lowered at start to stay "
                + "\(Self.reservedDescriptors) descriptors below the descriptor limit.",
            valueName: "count")
    )
    var maxConnections = 512

    @Option(
        help: ArgumentHelp(
            "Log level: trace, debug, info, notice, warning, error or critical.", valueName: "level")
    )
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535.") }
        guard maxBodyBytes >= 1 else { throw ValidationError("--max-body-bytes must be at least 1.") }
        guard maxBatchCheckStates >= 1 else { throw ValidationError("--max-batch-check-states must be at least 1.") }
        guard lateGrace.isFinite, lateGrace >= 0 else {
            throw ValidationError("--late-grace must be a non-negative number of seconds.")
        }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1.") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical.")
        }
        if apiKeys.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--api-key must not be empty or blank.")
        }
    }

    /// The executable's entry: logs to standard error and routes swift-metrics into ``processMetrics``, once per
    /// process, then serves.
    mutating func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        Self.processMetrics.bootstrapMetricsSystem()
        try await run(console: .standard)
    }

    func execute(console: Console) async throws {
        var configuration = try makeConfiguration(environment: ProcessInfo.processInfo.environment, console: console)
        var logger = Logger(label: "healthsync")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        configuration.maximumConnections = try Self.connectionCap(
            requested: configuration.maximumConnections, descriptorLimit: Self.descriptorLimit(), logger: logger,
            console: console
        )

        let (store, lock) = try database.openWriter(command: "serve", creating: true, console: console, cache: cache)
        // The writer lock is held until the command returns.
        defer { withExtendedLifetime(lock) {} }
        let processor = HealthProcessor(
            store: store, configuration: HealthProcessor.Configuration(lateGrace: lateGrace), logger: logger
        )
        let api = try HealthSyncAPI(
            processor: processor, configuration: configuration, metrics: Self.processMetrics, logger: logger
        )
        if configuration.apiKeys.isEmpty {
            logger.warning("serving WITHOUT authentication (--insecure-no-auth): any caller may post and delete")
        }
        logger.info("starting", metadata: ["db": "\(database.db)", "configuration": "\(configuration)"])
        try await warnOfClockJump(store: store, logger: logger)
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

    /// Logs a warning when the stored clock is further behind wall time than the event retention: the service runs
    /// at wall time, so its first sweep fires every timer due in between and prunes the history recorded so far
    /// (a database a replay left in the past, such as the README's). The service starts anyway, so that it comes
    /// back after a long outage; an operator who wants to keep a replayed history serves another `--db`.
    func warnOfClockJump(store: any HealthStore, logger: Logger) async throws {
        let jump = ClockJump(
            from: try await store.clock(), to: SystemClock().now, wallTime: SystemClock().now,
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
            metadata: ["db": "\(database.db)"])
    }

    /// The service settings from the options, with the keys of every source.
    /// - Parameter environment: where ``apiKeysVariable`` is looked up.
    /// - Throws: `ExitCode(2)` after printing why, when the keys file cannot be read or no key is configured
    ///   without `--insecure-no-auth`.
    func makeConfiguration(environment: [String: String], console: Console) throws -> HealthSyncHTTPConfiguration {
        var keys = apiKeys
        if let apiKeysFile {
            let contents: String
            do {
                contents = try String(contentsOfFile: apiKeysFile, encoding: .utf8)
            } catch {
                console.printError("error: cannot read API keys file \(apiKeysFile): \(error.localizedDescription)")
                throw ExitCode(2)
            }
            keys += Self.keys(inFile: contents)
        }
        if let variable = environment[Self.apiKeysVariable] {
            keys += Self.keys(inVariable: variable)
        }
        var seen = Set<String>()
        let configuration = HealthSyncHTTPConfiguration(
            host: host, port: port, apiKeys: keys.filter { seen.insert($0).inserted },
            insecureNoAuth: insecureNoAuth, maximumBodyBytes: maxBodyBytes, strict: strict,
            sweeper: DeadlineSweeperConfiguration(
                eventRetention: retainEvents.seconds, idempotencyKeyRetention: retainIdempotencyKeys.seconds),
            maximumBatchCheckStates: maxBatchCheckStates,
            idleTimeout: .seconds(idleTimeout.seconds), headerTimeout: .seconds(headerTimeout.seconds),
            bodyTimeout: .seconds(bodyTimeout.seconds), maximumConnections: maxConnections
        )
        do {
            try configuration.validate()
        } catch  where error.code == .noAPIKey {
            console.printError(
                "error: no API key is configured: give --api-key KEY, --api-keys-file FILE or "
                    + "\(Self.apiKeysVariable)=KEY1,KEY2, or allow unauthenticated access with --insecure-no-auth"
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
