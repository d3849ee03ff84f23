import Foundation

/// A metric a service pushes (Kodo-style `POST /api/v1/metrics/ingest`).
public enum Metric: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// `error_rate`: the share of failed requests in percent, 0 to 100. Thresholded.
    case errorRate = "error_rate"
    /// `response_time_ms`: milliseconds, ≥ 0. Thresholded.
    case responseTimeMs = "response_time_ms"
    /// `cpu_percent`: 0 to 100. Thresholded.
    case cpuPercent = "cpu_percent"
    /// `memory_percent`: 0 to 100. Thresholded.
    case memoryPercent = "memory_percent"
    /// `request_count`: a whole number ≥ 0; with ``errorCount`` it gives ``errorRate`` when that is absent.
    case requestCount = "request_count"
    /// `error_count`: a whole number ≥ 0.
    case errorCount = "error_count"

    /// The metrics that have thresholds and a check state each, in the order the reply lists alerts.
    public static let thresholded: [Metric] = [.errorRate, .responseTimeMs, .cpuPercent, .memoryPercent]

    /// Orders metrics as ``allCases`` lists them.
    public static func < (lhs: Metric, rhs: Metric) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// How a service is doing, from best to worst (Kodo's `health_status`).
public enum ServiceStatus: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// No threshold exceeded.
    case operational
    /// A degraded threshold exceeded.
    case degraded
    /// A partial-outage threshold exceeded.
    case partialOutage = "partial_outage"
    /// A major-outage threshold exceeded.
    case majorOutage = "major_outage"

    /// Orders from ``operational`` to ``majorOutage``.
    public static func < (lhs: ServiceStatus, rhs: ServiceStatus) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }

    /// The check-state health: `CLEAR`, `DEVIATING` (degraded), `CRITICAL` (partial or major outage).
    public var health: Health {
        switch self {
        case .operational: .clear
        case .degraded: .deviating
        case .partialOutage, .majorOutage: .critical
        }
    }
}

/// One push of metrics: `{"api_key": "...", "service": "API Gateway", "metrics": {"error_rate": 2.5, ...}}`.
///
/// Decode a body with ``decode(_:)``, evaluate and translate it with ``MetricTranslation``.
public struct MetricReport: Sendable, Hashable {
    /// `service`: the service's name.
    public var service: String
    /// The known metrics of `metrics`, ``Metric/errorRate`` computed from the counts when it was absent.
    public var values: [Metric: Double]
    /// The keys of `metrics` that are not known metrics, sorted: kept out of the state, named in the reply.
    public var unknownMetrics: [String]

    /// Creates a report.
    public init(service: String, values: [Metric: Double], unknownMetrics: [String] = []) {
        self.service = service
        self.values = values
        self.unknownMetrics = unknownMetrics
    }

    /// The `api_key` of a body, when it is a JSON object with a string there; `nil` otherwise (no error: the key is
    /// read before the body is validated, so that an unauthenticated caller learns nothing of the rules).
    public static func apiKey(in body: some Collection<UInt8>) -> String? {
        guard let object = try? ReportJSON.object(body), case .string(let key)? = object["api_key"] else {
            return nil
        }
        return key
    }

    /// Decodes a metrics body. Keys other than `api_key`, `service` and `metrics` are ignored.
    ///
    /// `error_rate`, `cpu_percent` and `memory_percent` are numbers from 0 to 100, `response_time_ms` a number ≥ 0,
    /// `request_count` and `error_count` whole numbers ≥ 0 (JSON numbers; a string is not numeric). Without
    /// `error_rate`, both counts with `request_count` > 0 give it as `error_count / request_count × 100`.
    /// - Throws: ``PayloadError`` with code ``PayloadError/Code/malformedJSON`` for bytes that are not JSON, else
    ///   ``PayloadError/Code/invalidReport`` with the JSON path (`$.service`, `$.metrics.cpu_percent`) and the
    ///   reason.
    public static func decode(_ body: some Collection<UInt8>) throws(PayloadError) -> MetricReport {
        try decode(object: try ReportJSON.object(body))
    }

    /// Decodes the parsed body.
    static func decode(object: JSONObject) throws(PayloadError) -> MetricReport {
        guard let serviceValue = ReportJSON.member(object, "service") else {
            throw ReportJSON.invalid("$.service", "is required: the service's name")
        }
        let service = try ReportJSON.string(serviceValue, at: "$.service")
        if MetricTranslation.slug(service).isEmpty || service.utf8.count > 256 {
            throw ReportJSON.invalid(
                "$.service", "must be at most 256 bytes with at least one letter or digit (a-z, 0-9)", serviceValue)
        }
        guard let metricsValue = ReportJSON.member(object, "metrics") else {
            throw ReportJSON.invalid("$.metrics", "is required: an object of metric names to numbers")
        }
        guard case .object(let metrics) = metricsValue else {
            throw ReportJSON.invalid("$.metrics", "must be an object of metric names to numbers", metricsValue)
        }
        var values: [Metric: Double] = [:]
        var unknown: Set<String> = []
        // In the order of the body (the first bad metric is the one named), each key once (its last value).
        var seen: Set<String> = []
        for key in metrics.keys where seen.insert(key).inserted {
            guard let value = metrics[key] else { continue }
            let path = ReportJSON.path("$.metrics", key)
            guard let metric = Metric(rawValue: key) else {
                unknown.insert(key)
                continue
            }
            let number: Double
            switch value {
            case .integer(let integer): number = Double(integer)
            case .double(let double) where double.isFinite: number = double
            default: throw ReportJSON.invalid(path, "\(key) must be a number", value)
            }
            switch metric {
            case .errorRate, .cpuPercent, .memoryPercent:
                guard (0...100).contains(number) else {
                    throw ReportJSON.invalid(path, "\(key) must be from 0 to 100 (percent)", value)
                }
            case .responseTimeMs:
                guard number >= 0 else { throw ReportJSON.invalid(path, "\(key) must be ≥ 0 (milliseconds)", value) }
            case .requestCount, .errorCount:
                guard number >= 0, number.rounded() == number else {
                    throw ReportJSON.invalid(path, "\(key) must be a whole number ≥ 0", value)
                }
            }
            values[metric] = number
        }
        if values[.errorRate] == nil, let requests = values[.requestCount], let errors = values[.errorCount],
            requests > 0
        {
            values[.errorRate] = min(100, errors / requests * 100)
        }
        return MetricReport(service: service, values: values, unknownMetrics: unknown.sorted())
    }
}

/// The thresholds of one metric: the value strictly above which the service is degraded, in a partial outage, in a
/// major outage; a level without a threshold is never reached.
public struct MetricLevels: Sendable, Hashable {
    /// Above this: degraded.
    public var degraded: Double?
    /// Above this: partial outage.
    public var partialOutage: Double?
    /// Above this: major outage.
    public var majorOutage: Double?

    /// Creates thresholds.
    public init(degraded: Double? = nil, partialOutage: Double? = nil, majorOutage: Double? = nil) {
        self.degraded = degraded
        self.partialOutage = partialOutage
        self.majorOutage = majorOutage
    }

    /// The worst level whose threshold `value` exceeds, with that threshold; `nil` when none.
    public func exceeded(by value: Double) -> (status: ServiceStatus, threshold: Double)? {
        let levels: [(ServiceStatus, Double?)] = [
            (.majorOutage, majorOutage), (.partialOutage, partialOutage), (.degraded, degraded),
        ]
        for case (let status, let threshold?) in levels where value > threshold {
            return (status, threshold)
        }
        return nil
    }
}

/// One alert of a metric report: a metric above a threshold, with the highest threshold it exceeds.
public struct MetricAlert: Sendable, Hashable {
    /// The metric.
    public var metric: Metric
    /// Its value.
    public var value: Double
    /// The highest threshold it exceeds.
    public var threshold: Double
    /// The level of that threshold.
    public var severity: ServiceStatus

    /// Creates an alert.
    public init(metric: Metric, value: Double, threshold: Double, severity: ServiceStatus) {
        self.metric = metric
        self.value = value
        self.threshold = threshold
        self.severity = severity
    }
}

/// What a metric report says about its service: the worst level and the alerts that caused it.
public struct MetricEvaluation: Sendable, Hashable {
    /// The worst level of the report's thresholded metrics (``ServiceStatus/operational`` without alerts).
    public var status: ServiceStatus
    /// One alert per metric above a threshold, in the order of ``Metric/thresholded``.
    public var alerts: [MetricAlert]
}

/// Turns metric reports into health messages: thresholds by service, the liveness of the service check state.
///
/// A report for service `API Gateway` becomes a REPEAT_STATES message on stream `urn:health:metrics:api-gateway`
/// (``slug(_:)``), main sub-stream, with one check state per thresholded metric it carries (`checkStateId` the
/// metric name) and a check state `service` with the worst level, live (``Liveness``) with ``interval`` and
/// ``grace``. Health: `CLEAR` (operational), `DEVIATING` (degraded), `CRITICAL` (partial or major outage); the
/// message of a metric above a threshold keeps the level, the value and the threshold.
public struct MetricTranslation: Sendable, Hashable {
    /// The thresholds of a service without its own: error rate 1 / 10 / 50 %, response time 1,000 / 3,000 /
    /// 10,000 ms, CPU and memory 70 / 85 / 95 %.
    public static let defaultThresholds: [Metric: MetricLevels] = [
        .errorRate: MetricLevels(degraded: 1, partialOutage: 10, majorOutage: 50),
        .responseTimeMs: MetricLevels(degraded: 1_000, partialOutage: 3_000, majorOutage: 10_000),
        .cpuPercent: MetricLevels(degraded: 70, partialOutage: 85, majorOutage: 95),
        .memoryPercent: MetricLevels(degraded: 70, partialOutage: 85, majorOutage: 95),
    ]

    /// Thresholds by service name (as ``slug(_:)`` spells it), each replacing the defaults of the metrics and
    /// levels it gives (`serve --thresholds FILE`).
    public var serviceThresholds: [String: [Metric: MetricLevels]]
    /// Seconds a service promises between pushes (`serve --metrics-interval`, 60).
    public var interval: Int
    /// Seconds past ``interval`` after which a silent service's `service` check state is `CRITICAL` (20).
    public var grace: Int
    /// Seconds of silence after which the check states are removed (a day).
    public var expiry: Int

    /// Creates a translation.
    public init(
        serviceThresholds: [String: [Metric: MetricLevels]] = [:],
        interval: Int = 60,
        grace: Int = 20,
        expiry: Int = 86_400
    ) {
        self.serviceThresholds = Dictionary(
            serviceThresholds.map { (Self.slug($0.key), $0.value) }, uniquingKeysWith: { _, last in last })
        self.interval = interval
        self.grace = grace
        self.expiry = expiry
    }

    /// The service name as a URN segment: lower-cased, every run of characters other than `a-z0-9` replaced by `-`,
    /// and `-` trimmed from both ends (`API Gateway` → `api-gateway`).
    public static func slug(_ name: String) -> String {
        var slug = ""
        var pendingDash = false
        for scalar in name.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingDash && !slug.isEmpty { slug.append("-") }
                pendingDash = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        return slug
    }

    /// The stream of a service's metrics: `urn:health:metrics:{slug}`.
    public static func urn(ofService name: String) -> String { "urn:health:metrics:\(slug(name))" }

    /// The thresholds of `metric` for `service`: the service's own levels where given, the defaults elsewhere.
    public func levels(of metric: Metric, for service: String) -> MetricLevels {
        let fallback = Self.defaultThresholds[metric] ?? MetricLevels()
        guard let own = serviceThresholds[Self.slug(service)]?[metric] else { return fallback }
        return MetricLevels(
            degraded: own.degraded ?? fallback.degraded,
            partialOutage: own.partialOutage ?? fallback.partialOutage,
            majorOutage: own.majorOutage ?? fallback.majorOutage)
    }

    /// The worst level and the alerts of a report.
    public func evaluate(_ report: MetricReport) -> MetricEvaluation {
        var alerts: [MetricAlert] = []
        for metric in Metric.thresholded {
            guard let value = report.values[metric],
                let (status, threshold) = levels(of: metric, for: report.service).exceeded(by: value)
            else { continue }
            alerts.append(MetricAlert(metric: metric, value: value, threshold: threshold, severity: status))
        }
        return MetricEvaluation(status: alerts.map(\.severity).max() ?? .operational, alerts: alerts)
    }

    /// The health message of a report.
    public func message(for report: MetricReport) -> HealthMessage {
        let evaluation = evaluate(report)
        let element = "urn:metrics:\(Self.slug(report.service))"
        var states: [CheckStateInput] = []
        for metric in Metric.thresholded {
            guard let value = report.values[metric] else { continue }
            let alert = evaluation.alerts.first { $0.metric == metric }
            states.append(
                .upsert(
                    CheckState(
                        checkStateId: metric.rawValue, name: "\(report.service) \(metric.rawValue)",
                        health: alert?.severity.health ?? .clear, topologyElementIdentifier: element,
                        message: alert.map {
                            "\($0.severity.rawValue): \(metric.rawValue) \(ReportJSON.format(value)) above "
                                + ReportJSON.format($0.threshold)
                        })))
        }
        let worst = evaluation.alerts.filter { $0.severity == evaluation.status }.map(\.metric.rawValue)
        states.append(
            .upsert(
                CheckState(
                    checkStateId: "service", name: report.service, health: evaluation.status.health,
                    topologyElementIdentifier: element,
                    message: worst.isEmpty
                        ? nil : "\(evaluation.status.rawValue): \(worst.joined(separator: ", "))")))
        return HealthMessage(
            stream: StreamKey(urn: Self.urn(ofService: report.service), subStreamId: nil),
            consistencyModel: .repeatStates,
            expiry: Intervals(repeatInterval: interval, expiryInterval: max(expiry, 2 * (interval + grace))),
            checkStates: states,
            path: "report",
            liveness: Liveness(interval: interval, grace: grace, checkStateIds: ["service"])
        )
    }

    /// The envelope of one report, for ``HealthProcessor/apply(_:at:receivedAt:receipt:)``.
    public func envelope(for report: MetricReport) -> Envelope {
        Envelope(messages: [message(for: report)])
    }
}
