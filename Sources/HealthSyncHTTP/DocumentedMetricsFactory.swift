import CoreMetrics
import Prometheus

/// A swift-metrics factory over a Prometheus registry that gives every family a `# HELP` line.
///
/// swift-prometheus's own factory registers every metric without help text; this one registers each with the text
/// ``help`` holds for its name, or a generic one for a name it does not know, so `GET /metrics` documents every
/// family (one `# HELP` and one `# TYPE` per name, as the registry keeps one family per name).
struct DocumentedMetricsFactory: CoreMetrics.MetricsFactory {
    let registry: PrometheusCollectorRegistry
    /// Histogram buckets by metric name; others get ``defaultDurationBuckets``.
    var durationBuckets: [String: [Duration]] = [:]
    var defaultDurationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    var defaultValueBuckets: [Double] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    /// The help text of each metric HealthSync makes, the service's and the processor's.
    static let help: [String: String] = [
        "healthsync_intake_envelopes_accepted_total": "Intake envelopes applied (not repeats of an idempotency key).",
        "healthsync_intake_envelopes_rejected_total": "Intake envelopes refused, by reason.",
        "healthsync_intake_messages_rejected_total": "Level-2 message rejections inside applied intake envelopes.",
        "healthsync_check_state_changes_total": "Check states created, updated and deleted by envelopes and timers.",
        "healthsync_stream_errors_opened_total": "Stream error records opened by envelopes and timers, by code.",
        "healthsync_timers_fired_by_service_total": "Timers the deadline sweeper fired.",
        "healthsync_sweeps_total": "Deadline sweeps that fired timers, and failed sweeps.",
        "healthsync_sweep_lag_seconds": "How long after the earliest due deadline the sweep ran.",
        "healthsync_http_request_duration_seconds": "HTTP request latency by method, route pattern and status.",
        "healthsync_envelopes_applied_total": "Envelopes the processor applied.",
        "healthsync_messages_rejected_total": "Messages the processor rejected.",
        "healthsync_check_states_created_total": "Check states the processor created.",
        "healthsync_check_states_updated_total": "Check states the processor updated.",
        "healthsync_check_states_deleted_total": "Check states the processor deleted.",
        "healthsync_errors_opened_total": "Stream error records the processor opened.",
        "healthsync_timers_fired_total": "Timers the processor fired.",
    ]

    static func help(for name: String) -> String {
        help[name] ?? "\(name), recorded through swift-metrics."
    }

    /// The name as is (no namespace, no unit suffix added) with its help text.
    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help(for: name))
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else {
            return registry.makeGauge(descriptor: Self.descriptor(label), labels: dimensions)
        }
        return registry.makeValueHistogram(
            descriptor: Self.descriptor(label), labels: dimensions, buckets: defaultValueBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: Self.descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            descriptor: Self.descriptor(label), labels: dimensions,
            buckets: durationBuckets[label] ?? defaultDurationBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge {
            registry.unregisterGauge(gauge)
        } else if let histogram = handler as? Histogram<Double> {
            registry.unregisterValueHistogram(histogram)
        }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Histogram<Duration> { registry.unregisterDurationHistogram(histogram) }
    }
}
