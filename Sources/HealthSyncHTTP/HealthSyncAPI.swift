import Foundation
import HealthSync
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// The HTTP face of a ``HealthSync/HealthProcessor``: the StackState receiver API (intake), the health-sync status
/// API, operations endpoints and the ``DeadlineSweeper`` that fires timers while the intake is idle.
///
/// Run it as is with ``buildApplication(onServerRunning:)`` (or the free function
/// ``buildApplication(processor:configuration:clock:metrics:logger:onServerRunning:)``), or mount ``routes(context:)``
/// in a router of your own and add ``sweeper`` and ``storeMonitor`` to your service group:
///
/// ```swift
/// let api = try HealthSyncAPI(
///     processor: HealthProcessor(store: try SQLiteHealthStore(path: "health.sqlite")),
///     configuration: HealthSyncHTTPConfiguration(apiKeys: ["secret"]),
///     logger: logger
/// )
/// let router = Router()
/// router.addRoutes(api.routes())
/// let app = Application(router: router, services: api.services, logger: logger)
/// try await app.runService()
/// ```
///
/// | method and path | what |
/// |---|---|
/// | `POST /receiver/stsAgent/intake`, `POST /stsAgent/intake` | apply an intake envelope |
/// | `GET /api/synchronization/health/streams` | list streams |
/// | `GET /api/synchronization/health/streams/{urn}/status` | stream status |
/// | `GET /api/synchronization/health/streams/{urn}/substreams` | list sub-streams |
/// | `GET /api/synchronization/health/streams/{urn}/substreams/{id}/status` | sub-stream status |
/// | `POST /api/synchronization/health/streams/{urn}/clearErrors` | clear a stream's errors (204) |
/// | `DELETE /api/synchronization/health/streams/{urn}` | delete a stream (204) |
/// | `GET /api/health/checkstates` | current check states (`urn`, `subStreamId`, `health` filters) |
/// | `GET /healthz`, `GET /readyz`, `GET /metrics` | liveness, readiness, Prometheus metrics (no key needed) |
/// | `GET /metrics/health` | every check state's health and open errors for Prometheus (no key needed) |
/// | `GET /status`, `/status.json`, `/status/events`, `/badge/{urn}` | status page (``StatusPageConfiguration``) |
public struct HealthSyncAPI<C: Clock>: Sendable where C.Duration == Duration {
    /// The processor envelopes are applied to.
    public let processor: HealthProcessor
    /// The settings.
    public let configuration: HealthSyncHTTPConfiguration
    /// The metrics `GET /metrics` renders.
    public let metrics: HealthSyncMetrics
    /// The service that fires timers at their deadlines; run it next to the routes.
    public let sweeper: DeadlineSweeper<C>
    /// The service that watches whether the store is still fit to acknowledge into; run it next to the routes.
    public let storeMonitor: StoreMonitor
    /// The processor's store, for the status API's listings.
    let queries: any HealthStoreQueries
    let clock: any HealthClock
    let logger: Logger
    let authenticator: APIKeyAuthenticator
    let decoder: EnvelopeDecoder
    let bodyReader: RequestBodyReader
    let batcher: IntakeBatcher
    let connections: ConnectionCounter

    /// The service that applies the intake's envelopes, batch after batch (group commit): the intake answers only
    /// while it runs (otherwise 503). Run it next to the routes, before the server in the service group, so that it
    /// stops after the server has answered its requests.
    public var intakeService: any Service { batcher }

    /// Every service the routes need, in the order to run them before the server: ``intakeService``, ``sweeper``
    /// and ``storeMonitor``.
    public var services: [any Service] { [batcher, sweeper, storeMonitor] }

    /// Creates the API.
    /// - Parameters:
    ///   - processor: the processor envelopes are applied to.
    ///   - configuration: the settings; validated here.
    ///   - clock: processor time: the intake applies envelopes at `clock.now` (wall time in production).
    ///   - sleepClock: the clock the sweeper sleeps on.
    ///   - metrics: where metrics are recorded.
    ///   - logger: where requests, sweeps and failures are logged. API keys are never logged.
    /// - Throws: ``ConfigurationError`` when the configuration is not usable, or with
    ///   ``ConfigurationError/Code/unsupportedStore`` when the store does not adopt ``HealthSync/HealthStoreQueries``
    ///   (or ``HealthSync/HealthStoreRetention`` while a retention is set).
    public init(
        processor: HealthProcessor,
        configuration: HealthSyncHTTPConfiguration,
        clock: some HealthClock,
        sleepClock: C,
        metrics: HealthSyncMetrics = HealthSyncMetrics(),
        logger: Logger
    ) throws(ConfigurationError) {
        try configuration.validate()
        guard let queries = processor.store as? any HealthStoreQueries else {
            throw ConfigurationError(
                code: .unsupportedStore,
                message: "\(type(of: processor.store)) does not answer the status API's queries (HealthStoreQueries)")
        }
        let retains =
            configuration.sweeper.eventRetention != nil || configuration.sweeper.idempotencyKeyRetention != nil
        if retains, !(processor.store is any HealthStoreRetention) {
            throw ConfigurationError(
                code: .unsupportedStore,
                message: "\(type(of: processor.store)) cannot prune (HealthStoreRetention); set no retention")
        }
        self.queries = queries
        self.processor = processor
        self.configuration = configuration
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
        authenticator = APIKeyAuthenticator(keys: configuration.apiKeys, required: !configuration.insecureNoAuth)
        decoder = EnvelopeDecoder(
            configuration: EnvelopeDecoder.Configuration(
                strict: configuration.strict, maximumBodyBytes: configuration.maximumBodyBytes
            )
        )
        bodyReader = RequestBodyReader(limit: configuration.maximumBodyBytes)
        batcher = IntakeBatcher(processor: processor, maximumCheckStates: configuration.maximumBatchCheckStates)
        connections = ConnectionCounter(maximum: configuration.maximumConnections)
        sweeper = DeadlineSweeper(
            processor: processor, clock: clock, sleepClock: sleepClock, configuration: configuration.sweeper,
            metrics: metrics, logger: logger
        )
        storeMonitor = StoreMonitor(
            store: processor.store, interval: max(configuration.storeProbeInterval, .milliseconds(1)),
            logger: logger)
    }

    /// Every route, with the request-id, logging, metrics and error middleware, ready to mount in a router.
    /// - Parameter context: the router's request context.
    public func routes<Context: RequestContext>(
        context: Context.Type = BasicRequestContext.self
    ) -> RouteCollection<Context> {
        recordedRoutes(context: Context.self).collection
    }

    /// Every route, as ``routes(context:)`` makes them, and the table of their methods and paths.
    func recordedRoutes<Context: RequestContext>(context: Context.Type) -> RouteRecorder<Context> {
        let routes = RouteRecorder(RouteCollection(context: Context.self))
        routes.add(middleware: RequestMiddleware<Context>(metrics: metrics))
        addIntakeRoutes(to: routes)
        addReporterRoutes(to: routes)
        addMetricRoutes(to: routes)
        addStatusRoutes(to: routes)
        addOperationsRoutes(to: routes)
        addStatusPageRoutes(to: routes)
        return routes
    }

    /// A router with ``routes(context:)`` mounted at the root. A request no route takes is answered in JSON, with
    /// its `x-request-id`: 404 `NotFound` for an unknown path, 405 `MethodNotAllowed` with an `Allow` header for a
    /// known path with another method.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let routes = recordedRoutes(context: BasicRequestContext.self)
        router.addRoutes(routes.collection)
        // Router middleware applies to the routes added after it and to the not-found responder: added last, these
        // two wrap only the requests no route takes.
        router.add(middleware: RequestMiddleware(metrics: metrics))
        router.add(middleware: UnmatchedRouteMiddleware(table: routes.table))
        return router
    }

    /// The complete application: the router on ``HealthSyncHTTPConfiguration/host`` and
    /// ``HealthSyncHTTPConfiguration/port``, with ``services`` (the intake's batcher, the ``sweeper`` and the
    /// ``storeMonitor``) in its service group.
    ///
    /// Run it with `runService()` to stop gracefully on SIGTERM and SIGINT: the server stops accepting
    /// connections, finishes the requests in flight (each acknowledged envelope is committed before its 200), then
    /// the other services stop, the batcher last.
    ///
    /// Every connection is guarded by the idle, header and body timeouts and the connection cap of the
    /// configuration (``HealthSyncHTTPConfiguration/idleTimeout``, ``HealthSyncHTTPConfiguration/maximumConnections``).
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public func buildApplication(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let configuration = configuration
        let connections = connections
        let logger = logger
        return Application(
            router: buildRouter(),
            server: .http1(
                configuration: HTTP1Channel.Configuration(
                    additionalChannelHandlers: [
                        ConnectionGuardHandler(configuration: configuration, counter: connections, logger: logger)
                    ]
                )
            ),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: configuration.serverName
            ),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Builds the application and runs it until SIGTERM or SIGINT, then shuts down gracefully (see
    /// ``buildApplication(onServerRunning:)``).
    /// - Throws: ``ListenError`` when the server cannot listen on its address (such as when the port is taken);
    ///   whatever else stopped the service.
    public func runService() async throws {
        do {
            try await buildApplication().runService()
        } catch {
            throw ListenError(error, host: configuration.host, port: configuration.port) ?? error
        }
    }
}

extension HealthSyncAPI where C == ContinuousClock {
    /// Creates the API with a sweeper that sleeps on the continuous clock.
    /// - Parameters:
    ///   - processor: the processor envelopes are applied to.
    ///   - configuration: the settings; validated here.
    ///   - clock: processor time (wall time by default).
    ///   - metrics: where metrics are recorded.
    ///   - logger: where requests, sweeps and failures are logged.
    /// - Throws: ``ConfigurationError`` when the configuration is not usable.
    public init(
        processor: HealthProcessor,
        configuration: HealthSyncHTTPConfiguration,
        clock: some HealthClock = SystemClock(),
        metrics: HealthSyncMetrics = HealthSyncMetrics(),
        logger: Logger
    ) throws(ConfigurationError) {
        try self.init(
            processor: processor, configuration: configuration, clock: clock, sleepClock: ContinuousClock(),
            metrics: metrics, logger: logger
        )
    }
}

/// Builds the HTTP intake service around `processor`: the StackState receiver API, the health-sync status API,
/// operations endpoints and the deadline sweeper, on the address the configuration names.
///
/// ```swift
/// let processor = HealthProcessor(store: try SQLiteHealthStore(path: "health.sqlite"))
/// let app = try buildApplication(
///     processor: processor,
///     configuration: HealthSyncHTTPConfiguration(apiKeys: ["secret"]),
///     logger: Logger(label: "healthsync")
/// )
/// try await app.runService()
/// ```
/// - Parameters:
///   - processor: the processor envelopes are applied to, over any store.
///   - configuration: the settings; validated here.
///   - clock: processor time (wall time by default; a `ManualClock` in tests).
///   - metrics: where metrics are recorded; `GET /metrics` renders its registry.
///   - logger: where requests, sweeps and failures are logged.
///   - onServerRunning: called with the bound port once the server listens.
/// - Returns: the application; run it with `runService()`, or test it with `app.test(.router)`.
/// - Throws: ``ConfigurationError`` when the configuration is not usable (such as no API key).
public func buildApplication(
    processor: HealthProcessor,
    configuration: HealthSyncHTTPConfiguration,
    clock: some HealthClock = SystemClock(),
    metrics: HealthSyncMetrics = HealthSyncMetrics(),
    logger: Logger = Logger(label: "healthsync"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws(ConfigurationError) -> some ApplicationProtocol {
    try HealthSyncAPI(
        processor: processor, configuration: configuration, clock: clock, metrics: metrics, logger: logger
    )
    .buildApplication(onServerRunning: onServerRunning)
}
