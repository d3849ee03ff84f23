import Foundation
import HTTPTypes
import HealthSync
import Hummingbird
import Logging
import NIOCore

extension HealthSyncAPI {
    /// `POST /api/v1/metrics/ingest` (Kodo-style metric pushes).
    func addMetricRoutes<Context: RequestContext>(to routes: some RouterMethods<Context>) {
        routes.post("/api/v1/metrics/ingest") { request, context in
            try await metricReport(request, context: context)
        }
    }

    /// Authenticates (the body's `api_key`, or the `sts-api-key` header, for callers that cannot set headers),
    /// decodes the report with ``HealthSync/MetricReport/decode(_:)``, applies its translation
    /// (``HealthSyncHTTPConfiguration/metricReports``) as the intake applies an envelope and answers
    /// `{"success": true, "received_at", "health_status", "alerts"}` (with `warnings` naming unknown metrics).
    ///
    /// Every refusal is `{"success": false, "error": …}` with the status of the matching ``HealthSyncHTTPError``
    /// (and `type`, plus `path` and `reason` for a bad report); nothing of a refused report is applied.
    func metricReport(_ request: Request, context: some RequestContext) async throws -> Response {
        let receivedAt = clock.now
        do {
            let body = try await reportBody(request)
            try authorizeMetrics(request, body: body)
            let report: MetricReport
            do {
                report = try MetricReport.decode(body.readableBytesView)
            } catch {
                throw Self.reportError(error)
            }
            let translation = configuration.metricReports
            _ = try await applyReport(translation.envelope(for: report), receivedAt: receivedAt)
            return try JSONResponse.make(
                MetricReplyDocument(
                    receivedAt: receivedAt, evaluation: translation.evaluate(report),
                    warnings: report.unknownMetrics))
        } catch let error as HealthSyncHTTPError {
            metrics.recordRejected(error)
            return try JSONResponse.make(
                MetricRefusalDocument(error), status: error.status, headers: error.headers)
        }
    }

    /// Checks the keys of a metric push: every key given (the body's `api_key`, the `sts-api-key` header) must be
    /// one of the API keys, and at least one must be given.
    func authorizeMetrics(_ request: Request, body: ByteBuffer) throws(HealthSyncHTTPError) {
        guard !configuration.insecureNoAuth else { return }
        var candidates = request.headers[values: .stsAPIKey]
        if let key = MetricReport.apiKey(in: body.readableBytesView) { candidates.append(key) }
        guard !candidates.isEmpty else {
            throw HealthSyncHTTPError(
                code: .unauthorized,
                message: "an API key is required: send it as api_key in the body or in the sts-api-key header")
        }
        guard candidates.allSatisfy(authenticator.accepts) else {
            throw HealthSyncHTTPError(code: .unauthorized, message: "the API key is not valid")
        }
    }
}

/// The 200 answer to a metric push (Kodo's reply).
struct MetricReplyDocument: Encodable {
    struct Alert: Encodable {
        var metric: String
        var value: Double
        var threshold: Double
        var severity: String
    }

    var success = true
    var receivedAt: String
    var healthStatus: String
    var alerts: [Alert]
    var warnings: [String]?

    enum CodingKeys: String, CodingKey {
        case success
        case receivedAt = "received_at"
        case healthStatus = "health_status"
        case alerts
        case warnings
    }

    init(receivedAt: Date, evaluation: MetricEvaluation, warnings: [String]) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        self.receivedAt = formatter.string(from: receivedAt)
        healthStatus = evaluation.status.rawValue
        alerts = evaluation.alerts.map {
            Alert(metric: $0.metric.rawValue, value: $0.value, threshold: $0.threshold, severity: $0.severity.rawValue)
        }
        self.warnings = warnings.isEmpty ? nil : warnings.map { "unknown metric \($0) was ignored" }
    }
}

/// The answer to a refused metric push: `{"success": false, "error": "...", "type": "Unauthorized"}`, with the
/// `path` and `reason` of a bad report.
struct MetricRefusalDocument: Encodable {
    var success = false
    var error: String
    var type: String
    var path: String?
    var reason: String?

    init(_ error: HealthSyncHTTPError) {
        self.error = error.message
        type = error.code.typeName
        path = error.payloadError?.path
        reason = error.payloadError?.reason
    }
}
