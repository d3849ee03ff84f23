import Foundation

/// One push report as a line of a JSON Lines file, so that reports replay on the virtual clock (`healthsync replay`,
/// ``Replayer``):
///
/// ```json
/// {"report": "crisp", "received_at": 1700000000, "service_id": "web", "node_id": "node-1", "body": {"replica_id": "a", "interval": 60}}
/// {"report": "vigil", "received_at": "2023-11-14T22:13:20Z", "service_id": "web", "node_id": "node-1", "body": {"replica": "b", "interval": 60}}
/// {"report": "metrics", "received_at": 1700000030, "body": {"service": "API Gateway", "metrics": {"error_rate": 2.5}}}
/// ```
///
/// `report` comes first on the line (that is how a replay tells a report from an envelope): `crisp`, `vigil` or
/// `metrics`. `received_at` is epoch seconds or ISO-8601 with a zone; it is the time the report is applied at, as an
/// envelope's `collection_timestamp` is. `service_id` and `node_id` are the path ids of a status report. `body` is
/// the request body as the HTTP route takes it (a metric body's `api_key` is ignored).
public struct ReportLine: Sendable, Hashable {
    /// The report of a line.
    public enum Report: Sendable, Hashable {
        /// A status reporter's push.
        case status(StatusReport)
        /// A metric push.
        case metrics(MetricReport)
    }

    /// When the report was received.
    public var receivedAt: Date
    /// The report.
    public var report: Report

    /// Creates a line.
    public init(receivedAt: Date, report: Report) {
        self.receivedAt = receivedAt
        self.report = report
    }

    /// Whether a line is a report: a JSON object whose first key is `report`.
    public static func isReportLine(_ bytes: some Collection<UInt8>) -> Bool {
        var iterator = bytes.lazy.filter { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }.makeIterator()
        for expected in Array("{\"report\"".utf8) {
            guard iterator.next() == expected else { return false }
        }
        return true
    }

    /// Decodes a line.
    /// - Throws: ``PayloadError`` with code ``PayloadError/Code/malformedJSON`` or
    ///   ``PayloadError/Code/invalidReport`` and the JSON path in the line (`$.received_at`, `$.body.interval`).
    public static func decode(_ bytes: some Collection<UInt8>) throws(PayloadError) -> ReportLine {
        let object = try ReportJSON.object(bytes)
        guard case .string(let kind)? = object["report"] else {
            throw ReportJSON.invalid("$.report", "must be \"crisp\", \"vigil\" or \"metrics\"", object["report"])
        }
        let receivedAt = try time(object["received_at"])
        guard case .object(let body)? = object["body"] else {
            throw ReportJSON.invalid("$.body", "must be the report's body, an object", object["body"])
        }
        switch kind {
        case "crisp", "vigil":
            let reporter: StatusReport.ReporterProtocol = kind == "crisp" ? .crisp : .vigil
            let serviceId = try pathId(object, "service_id")
            let nodeId = try pathId(object, "node_id")
            do throws(PayloadError) {
                try StatusReport.checkPathIds(serviceId: serviceId, nodeId: nodeId)
            } catch {
                throw ReportJSON.invalid("$.\(error.path)", error.reason, object[error.path])
            }
            let report = try inBody {
                () throws(PayloadError) in
                try StatusReport.decode(object: body, protocol: reporter, serviceId: serviceId, nodeId: nodeId)
            }
            return ReportLine(receivedAt: receivedAt, report: .status(report))
        case "metrics":
            let report = try inBody { () throws(PayloadError) in try MetricReport.decode(object: body) }
            return ReportLine(receivedAt: receivedAt, report: .metrics(report))
        default:
            throw ReportJSON.invalid("$.report", "must be \"crisp\", \"vigil\" or \"metrics\"", object["report"])
        }
    }

    /// Runs a decoder of the body, placing the paths of its errors in the line (`$.interval` → `$.body.interval`).
    private static func inBody<T>(_ decode: () throws(PayloadError) -> T) throws(PayloadError) -> T {
        do throws(PayloadError) {
            return try decode()
        } catch {
            var placed = error
            placed.path = "$.body" + error.path.dropFirst()
            throw placed
        }
    }

    /// A string path id of a status-report line.
    private static func pathId(_ object: JSONObject, _ key: String) throws(PayloadError) -> String {
        guard let value = object[key] else {
            throw ReportJSON.invalid("$.\(key)", "is required for a status report: the id of its path")
        }
        return try ReportJSON.string(value, at: "$.\(key)")
    }

    /// `received_at`: epoch seconds, or ISO-8601 with a zone.
    private static func time(_ value: JSONValue?) throws(PayloadError) -> Date {
        let expectation = "must be epoch seconds (0 to 253402300799) or ISO-8601 with a zone"
        switch value {
        case .integer(let seconds)? where EnvelopeRules.isValidTimestamp(Double(seconds)):
            return Date(timeIntervalSince1970: Double(seconds))
        case .double(let seconds)? where EnvelopeRules.isValidTimestamp(seconds):
            return Date(timeIntervalSince1970: seconds)
        case .string(let text)?:
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let plain = ISO8601DateFormatter()
            if let date = formatter.date(from: text) ?? plain.date(from: text) { return date }
            throw ReportJSON.invalid("$.received_at", expectation, value)
        case nil:
            throw ReportJSON.invalid("$.received_at", "is required: " + expectation)
        default:
            throw ReportJSON.invalid("$.received_at", expectation, value)
        }
    }
}

/// The translations of every kind of push report, for a replay or an intake that takes them all.
public struct ReportTranslation: Sendable, Hashable {
    /// Status reports (Crisp, Vigil).
    public var status: StatusReportTranslation
    /// Metric pushes.
    public var metrics: MetricTranslation

    /// Creates the translations; the defaults are `serve`'s.
    public init(
        status: StatusReportTranslation = StatusReportTranslation(), metrics: MetricTranslation = MetricTranslation()
    ) {
        self.status = status
        self.metrics = metrics
    }

    /// The envelope of a report line: its message, applied at `received_at` (the envelope's collection timestamp).
    public func envelope(for line: ReportLine) -> Envelope {
        let message: HealthMessage
        switch line.report {
        case .status(let report): message = status.message(for: report)
        case .metrics(let report): message = metrics.message(for: report)
        }
        return Envelope(collectionTimestamp: line.receivedAt, messages: [message])
    }
}
