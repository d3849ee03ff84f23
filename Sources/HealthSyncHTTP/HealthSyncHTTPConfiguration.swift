import HealthSync

/// Settings of the HTTP intake service: where it listens, who may call it and how much it accepts.
///
/// API keys are secrets: ``description`` shows how many there are, never the keys.
///
/// ```swift
/// var configuration = HealthSyncHTTPConfiguration(apiKeys: ["secret"])
/// configuration.port = 8080
/// try configuration.validate()
/// ```
public struct HealthSyncHTTPConfiguration: Sendable, CustomStringConvertible {
    /// The address to bind, such as `127.0.0.1` (the default) or `0.0.0.0`.
    public var host: String
    /// The port to bind (default 7077, the StackState receiver port); `0` picks a free port.
    public var port: Int
    /// The accepted API keys. A request must carry one of them in the `api_key` query parameter or the
    /// `sts-api-key` header, unless ``insecureNoAuth`` is set.
    public var apiKeys: [String]
    /// Accept requests without an API key. Only for local experiments.
    public var insecureNoAuth: Bool
    /// The largest accepted intake body in bytes, as sent and after decompression (default 8 MiB).
    public var maximumBodyBytes: Int
    /// Strict decoding: report unknown keys and reject non-main sub-streams without expiry (SPEC §2, §3).
    public var strict: Bool
    /// The `server` response header; `nil` sends none.
    public var serverName: String?
    /// How the deadline sweeper sleeps, coalesces wake-ups and retries.
    public var sweeper: DeadlineSweeperConfiguration
    /// Group commit: the most check states one intake batch takes (default 10,000). Requests that arrive while a
    /// batch commits are applied together in the next one, up to this many check states (but always at least one
    /// envelope, however large); a value below 1 is read as 1.
    public var maximumBatchCheckStates: Int
    /// How long a connection may stay open without a request: from its accept, or from the end of its last
    /// answer, until the first byte of the next request (default 30 s). The connection is closed after that.
    public var idleTimeout: Duration
    /// How long the head of a request (request line and headers) may take, from its first byte to its last
    /// (default 10 s). The connection is closed after that.
    public var headerTimeout: Duration
    /// How long the body of a request may take, from the end of its head to its last byte, however it is framed
    /// (default 60 s). The connection is closed after that; a request whose body was cut short is answered 400 when
    /// the connection can still take the answer.
    public var bodyTimeout: Duration
    /// The most connections open at once (default 512). A connection beyond it is answered 503 with
    /// `connection: close` and closed at once, without reading its request; the service resumes as soon as open
    /// connections close (at the latest after ``idleTimeout``). `healthsync serve` checks it against the
    /// descriptor limit (`RLIMIT_NOFILE`) at start.
    public var maximumConnections: Int
    /// How often the ``StoreMonitor`` probes the store's file (its header against its size) besides the per-request
    /// check of its path (default 2 s; at least 1 ms). A damaged file is answered 503 within two intervals.
    public var storeProbeInterval: Duration = .seconds(2)
    /// The status page (`GET /status`, `/status.json`, `/status/events`, `/badge/{urn}`): who sees it (public by
    /// default), its title and which streams it shows.
    public var statusPage = StatusPageConfiguration()
    /// How status reports (`POST /v1/report/…`, `POST /reporter/…`) become health: the sick thresholds, the dead
    /// grace and the expiry (`serve --reporter-cpu-sick-above`, `--reporter-ram-sick-above`, `--reporter-dead-grace`).
    public var reporters = StatusReportTranslation()
    /// How metric pushes (`POST /api/v1/metrics/ingest`) become health: thresholds by service, the interval and
    /// grace of the `service` check state (`serve --thresholds FILE`, `--metrics-interval`, `--reporter-dead-grace`).
    public var metricReports = MetricTranslation()

    /// Creates a configuration.
    /// - Parameters:
    ///   - host: the address to bind.
    ///   - port: the port to bind; `0` picks a free port.
    ///   - apiKeys: the accepted API keys.
    ///   - insecureNoAuth: accept requests without a key.
    ///   - maximumBodyBytes: the largest accepted intake body, compressed or not.
    ///   - strict: strict decoding.
    ///   - serverName: the `server` response header.
    ///   - sweeper: the deadline sweeper's settings.
    ///   - maximumBatchCheckStates: the most check states one intake batch (group commit) takes.
    ///   - idleTimeout: how long a connection may wait for a request.
    ///   - headerTimeout: how long a request's head may take.
    ///   - bodyTimeout: how long a request's body may take.
    ///   - maximumConnections: the most connections open at once.
    public init(
        host: String = "127.0.0.1",
        port: Int = 7077,
        apiKeys: [String] = [],
        insecureNoAuth: Bool = false,
        maximumBodyBytes: Int = 8 << 20,
        strict: Bool = false,
        serverName: String? = "healthsync",
        sweeper: DeadlineSweeperConfiguration = DeadlineSweeperConfiguration(),
        maximumBatchCheckStates: Int = 10_000,
        idleTimeout: Duration = .seconds(30),
        headerTimeout: Duration = .seconds(10),
        bodyTimeout: Duration = .seconds(60),
        maximumConnections: Int = 512
    ) {
        self.host = host
        self.port = port
        self.apiKeys = apiKeys
        self.insecureNoAuth = insecureNoAuth
        self.maximumBodyBytes = maximumBodyBytes
        self.strict = strict
        self.serverName = serverName
        self.sweeper = sweeper
        self.maximumBatchCheckStates = maximumBatchCheckStates
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maximumConnections = maximumConnections
    }

    /// Checks that the service may start with these settings.
    /// - Throws: ``ConfigurationError`` when no key is configured without ``insecureNoAuth``, a key is empty, the
    ///   body limit is not positive, the port is out of range, a timeout is not positive or the connection cap is
    ///   below 1.
    public func validate() throws(ConfigurationError) {
        if apiKeys.isEmpty, !insecureNoAuth {
            throw ConfigurationError(
                code: .noAPIKey,
                message: "no API key is configured; configure at least one, or allow unauthenticated access explicitly"
            )
        }
        if apiKeys.contains(where: \.isEmpty) {
            throw ConfigurationError(code: .emptyAPIKey, message: "an API key is empty")
        }
        if maximumBodyBytes < 1 {
            throw ConfigurationError(
                code: .invalidBodyLimit, message: "the body limit must be at least 1 byte, not \(maximumBodyBytes)")
        }
        if !(0...65535).contains(port) {
            throw ConfigurationError(code: .invalidPort, message: "the port must be from 0 to 65535, not \(port)")
        }
        for (name, timeout) in [("idle", idleTimeout), ("header", headerTimeout), ("body", bodyTimeout)]
        where timeout <= .zero {
            throw ConfigurationError(
                code: .invalidTimeout, message: "the \(name) timeout must be positive, not \(timeout)")
        }
        if !(reporters.cpuSickAbove >= 0) || !(reporters.ramSickAbove >= 0) || reporters.deadGrace < 0
            || reporters.deadGrace > StatusReport.maximumInterval || reporters.expiry < 1
        {
            throw ConfigurationError(
                code: .invalidReporterSetting,
                message: "the reporter thresholds must be numbers ≥ 0 and the dead grace 0 to "
                    + "\(StatusReport.maximumInterval) seconds (cpu \(reporters.cpuSickAbove), ram "
                    + "\(reporters.ramSickAbove), grace \(reporters.deadGrace))")
        }
        if metricReports.interval < 1 || metricReports.interval > StatusReport.maximumInterval
            || metricReports.grace < 0
        {
            throw ConfigurationError(
                code: .invalidReporterSetting,
                message: "the metrics interval must be 1 to \(StatusReport.maximumInterval) seconds, not "
                    + "\(metricReports.interval)")
        }
        if maximumConnections < 1 {
            throw ConfigurationError(
                code: .invalidConnectionLimit,
                message: "the connection cap must be at least 1, not \(maximumConnections)"
            )
        }
    }

    /// The settings with the API keys redacted.
    public var description: String {
        let keys = insecureNoAuth && apiKeys.isEmpty ? "none (insecure)" : "\(apiKeys.count) (redacted)"
        return "host \(host), port \(port), API keys \(keys), body limit \(maximumBodyBytes) bytes, "
            + "strict \(strict), idle timeout \(idleTimeout), header timeout \(headerTimeout), "
            + "body timeout \(bodyTimeout), connection cap \(maximumConnections)"
    }
}

/// Why a ``HealthSyncHTTPConfiguration`` cannot be used.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Value: String, Sendable, Hashable {
            case noAPIKey
            case emptyAPIKey
            case invalidBodyLimit
            case invalidPort
            case invalidTimeout
            case invalidConnectionLimit
            case unsupportedStore
            case invalidReporterSetting
        }

        let value: Value

        /// No API key is configured and unauthenticated access was not allowed.
        public static let noAPIKey = Code(value: .noAPIKey)
        /// One of the API keys is the empty string.
        public static let emptyAPIKey = Code(value: .emptyAPIKey)
        /// The body limit is below one byte.
        public static let invalidBodyLimit = Code(value: .invalidBodyLimit)
        /// The port is outside 0...65535.
        public static let invalidPort = Code(value: .invalidPort)
        /// A connection timeout is zero or negative.
        public static let invalidTimeout = Code(value: .invalidTimeout)
        /// The connection cap is below 1.
        public static let invalidConnectionLimit = Code(value: .invalidConnectionLimit)
        /// The processor's store lacks a capability the intake needs: ``HealthSync/HealthStoreQueries`` for the
        /// status API, or ``HealthSync/HealthStoreRetention`` when a retention is set.
        public static let unsupportedStore = Code(value: .unsupportedStore)
        /// A status-reporter threshold below 0 (or not a number), or a dead grace outside 0 to a day.
        public static let invalidReporterSetting = Code(value: .invalidReporterSetting)

        /// A readable rendering.
        public var description: String { value.rawValue }
    }

    /// What is wrong.
    public var code: Code
    /// What is wrong, in words.
    public var message: String

    /// Creates a configuration error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
