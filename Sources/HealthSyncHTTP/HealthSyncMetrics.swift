import CoreMetrics
import HealthSync
import Hummingbird
import Metrics
import Prometheus
import Synchronization

/// The HTTP service's metrics, recorded through swift-metrics into a Prometheus registry that `GET /metrics`
/// renders.
///
/// The metrics are made with an explicit factory over ``registry``, so the service needs no global
/// `MetricsSystem.bootstrap` and tests can each use their own registry. An executable may additionally route every
/// other swift-metrics user (such as the processor's own counters) into the same registry with
/// ``bootstrapMetricsSystem()``.
///
/// Every family has a `# HELP` line, the processor's too once bootstrapped; a name the service does not know gets
/// a generic one.
///
/// | name | type | labels |
/// |---|---|---|
/// | `healthsync_intake_envelopes_accepted_total` | counter | |
/// | `healthsync_intake_envelopes_rejected_total` | counter | `reason` |
/// | `healthsync_intake_messages_rejected_total` | counter | |
/// | `healthsync_check_state_changes_total` | counter | `change`: `created`, `updated`, `deleted` |
/// | `healthsync_stream_errors_opened_total` | counter | `code` |
/// | `healthsync_timers_fired_by_service_total` | counter | |
/// | `healthsync_sweeps_total` | counter | `outcome`: `ok`, `failed` |
/// | `healthsync_sweep_lag_seconds` | histogram | |
/// | `healthsync_http_request_duration_seconds` | histogram | `method`, `route`, `status` |
public final class HealthSyncMetrics: Sendable {
    /// Why an envelope was refused (the `reason` label).
    enum RejectionReason: String, CaseIterable {
        case unauthorized
        case conflictingAPIKeys = "conflicting_api_keys"
        case unsupportedMediaType = "unsupported_media_type"
        case unsupportedContentEncoding = "unsupported_content_encoding"
        case invalidContentEncoding = "invalid_content_encoding"
        case invalidBody = "invalid_body"
        case bodyTooLarge = "body_too_large"
        case malformedJSON = "malformed_json"
        case invalidEnvelope = "invalid_envelope"
        case invalidReport = "invalid_report"
        case invalidHeader = "invalid_header"
        case storageUnavailable = "storage_unavailable"
        case storageFailed = "storage_failed"
        case internalError = "internal_error"

        init(_ error: HealthSyncHTTPError) {
            switch error.code.value {
            case .unauthorized: self = .unauthorized
            case .conflictingAPIKeys: self = .conflictingAPIKeys
            case .unsupportedMediaType: self = .unsupportedMediaType
            case .unsupportedContentEncoding: self = .unsupportedContentEncoding
            case .invalidContentEncoding: self = .invalidContentEncoding
            case .invalidBody: self = .invalidBody
            case .bodyTooLarge: self = .bodyTooLarge
            case .invalidEnvelope:
                self = error.payloadError?.code == .malformedJSON ? .malformedJSON : .invalidEnvelope
            case .invalidHeader: self = .invalidHeader
            case .invalidReport:
                self = error.payloadError?.code == .malformedJSON ? .malformedJSON : .invalidReport
            case .storageUnavailable: self = .storageUnavailable
            case .storageFailed: self = .storageFailed
            default: self = .internalError
            }
        }
    }

    private struct RequestKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    /// The registry the metrics live in.
    public let registry: PrometheusCollectorRegistry
    private let factory: DocumentedMetricsFactory
    private let envelopesAccepted: CoreMetrics.Counter
    private let envelopesRejected: [RejectionReason: CoreMetrics.Counter]
    private let messagesRejected: CoreMetrics.Counter
    private let created: CoreMetrics.Counter
    private let updated: CoreMetrics.Counter
    private let deleted: CoreMetrics.Counter
    private let errorsOpened: [StreamErrorCode: CoreMetrics.Counter]
    private let timersFired: CoreMetrics.Counter
    private let sweepsSucceeded: CoreMetrics.Counter
    private let sweepsFailed: CoreMetrics.Counter
    private let sweepLag: CoreMetrics.Timer
    private let requestTimers = Mutex<[RequestKey: CoreMetrics.Timer]>([:])

    /// Creates the metrics in `registry`.
    /// - Parameter registry: where to register them; a fresh one by default.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = DocumentedMetricsFactory(registry: registry)
        factory.durationBuckets["healthsync_sweep_lag_seconds"] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(15), .seconds(60), .seconds(300),
        ]
        factory.durationBuckets["healthsync_http_request_duration_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        envelopesAccepted = CoreMetrics.Counter(label: "healthsync_intake_envelopes_accepted_total", factory: factory)
        envelopesRejected = Dictionary(
            uniqueKeysWithValues: RejectionReason.allCases.map { reason in
                (
                    reason,
                    CoreMetrics.Counter(
                        label: "healthsync_intake_envelopes_rejected_total", dimensions: [("reason", reason.rawValue)],
                        factory: factory
                    )
                )
            }
        )
        messagesRejected = CoreMetrics.Counter(label: "healthsync_intake_messages_rejected_total", factory: factory)
        func change(_ name: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(
                label: "healthsync_check_state_changes_total", dimensions: [("change", name)], factory: factory)
        }
        created = change("created")
        updated = change("updated")
        deleted = change("deleted")
        errorsOpened = Dictionary(
            uniqueKeysWithValues: StreamErrorCode.allCases.map { code in
                (
                    code,
                    CoreMetrics.Counter(
                        label: "healthsync_stream_errors_opened_total", dimensions: [("code", code.rawValue)],
                        factory: factory
                    )
                )
            }
        )
        timersFired = CoreMetrics.Counter(label: "healthsync_timers_fired_by_service_total", factory: factory)
        sweepsSucceeded = CoreMetrics.Counter(
            label: "healthsync_sweeps_total", dimensions: [("outcome", "ok")], factory: factory)
        sweepsFailed = CoreMetrics.Counter(
            label: "healthsync_sweeps_total", dimensions: [("outcome", "failed")], factory: factory)
        sweepLag = CoreMetrics.Timer(label: "healthsync_sweep_lag_seconds", factory: factory)
    }

    /// Routes every swift-metrics user in the process into ``registry``.
    ///
    /// Call it once, from an executable, before creating anything that makes metrics (such as a
    /// `HealthProcessor`). Libraries and tests do not need it.
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(factory)
    }

    /// The registry in the Prometheus text format.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }

    // MARK: Recording

    func recordAccepted(_ result: IntakeResult) {
        envelopesAccepted.increment()
        if result.messagesRejected > 0 { messagesRejected.increment(by: result.messagesRejected) }
        record(result.counts)
        if let timers = result.timers { record(timers) }
    }

    func recordRejected(_ error: HealthSyncHTTPError) {
        envelopesRejected[RejectionReason(error)]?.increment()
    }

    func record(_ sweep: SweepResult) {
        if sweep.timersFired > 0 { timersFired.increment(by: sweep.timersFired) }
        record(sweep.counts)
    }

    func recordSweep(succeeded: Bool, lag: Duration?) {
        (succeeded ? sweepsSucceeded : sweepsFailed).increment()
        if let lag { sweepLag.recordNanoseconds(Int64(lag / .nanoseconds(1))) }
    }

    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let key = RequestKey(method: method, route: route, status: status)
        let timer = requestTimers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(
                label: "healthsync_http_request_duration_seconds",
                dimensions: [("method", method), ("route", route), ("status", String(status))],
                factory: factory
            )
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(Int64(duration / .nanoseconds(1)))
    }

    private func record(_ counts: ChangeCounts) {
        if counts.created > 0 { created.increment(by: counts.created) }
        if counts.updated > 0 { updated.increment(by: counts.updated) }
        if counts.deleted > 0 { deleted.increment(by: counts.deleted) }
        for (code, count) in counts.errorsOpenedByCode where count > 0 {
            errorsOpened[code]?.increment(by: count)
        }
    }
}
