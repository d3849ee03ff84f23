import Foundation
import HTTPTypes
import HealthSync
import Hummingbird
import Logging
import NIOCore

extension HealthSyncAPI {
    /// `POST /v1/report/{service_id}/{node_id}` (Crisp) and `POST /reporter/{service_id}/{node_id}` (Vigil), each
    /// with or without a trailing slash.
    func addReporterRoutes<Context: RequestContext>(to routes: some RouterMethods<Context>) {
        let paths: [(String, StatusReport.ReporterProtocol)] = [
            ("/v1/report/:service_id/:node_id", .crisp), ("/reporter/:service_id/:node_id", .vigil),
        ]
        for (path, reporter) in paths {
            routes.post(RouterPath(path)) { request, context in
                try await statusReport(request, context: context, protocol: reporter)
            }
        }
    }

    /// Authenticates (HTTP Basic, the token one of the API keys), decodes the report with
    /// ``HealthSync/StatusReport/decode(_:protocol:serviceId:nodeId:)``, applies its translation
    /// (``HealthSyncHTTPConfiguration/reporters``) as the intake applies an envelope (group commit, 200 after the
    /// commit) and answers `{"health": "CLEAR", "appliedAt": …}`. A bad report is a 400 `InvalidReport` naming the
    /// JSON path and the reason, and applies nothing.
    func statusReport(
        _ request: Request,
        context: some RequestContext,
        protocol reporter: StatusReport.ReporterProtocol
    ) async throws -> Response {
        let receivedAt = clock.now
        do {
            try authenticator.authorizeBasic(request)
            let body = try await reportBody(request)
            let report: StatusReport
            do {
                report = try StatusReport.decode(
                    body.readableBytesView, protocol: reporter,
                    serviceId: Self.pathId(context.parameters.get("service_id")),
                    nodeId: Self.pathId(context.parameters.get("node_id")))
            } catch {
                throw Self.reportError(error)
            }
            let translation = configuration.reporters
            let result = try await applyReport(translation.envelope(for: report), receivedAt: receivedAt)
            return try JSONResponse.make(
                StatusReportDocument(
                    health: translation.health(of: report).health.rawValue,
                    appliedAt: result.appliedAt?.timeIntervalSince1970))
        } catch let error as HealthSyncHTTPError {
            metrics.recordRejected(error)
            throw error
        }
    }

    /// The body of a push report: JSON (or no content type), any supported content encoding, within the body limit.
    func reportBody(_ request: Request) async throws -> ByteBuffer {
        try Self.checkContentType(request.headers[.contentType])
        guard let coding = RequestBodyReader.Coding(header: request.headers[.contentEncoding]) else {
            throw HealthSyncHTTPError(
                code: .unsupportedContentEncoding,
                message: "content-encoding \(request.headers[.contentEncoding] ?? "") is not supported; "
                    + "send gzip, deflate or an uncompressed body"
            )
        }
        return try await bodyReader.read(
            request.body, coding: coding, contentLength: request.headers[.contentLength].flatMap { Int($0) })
    }

    /// Applies the envelope of a push report as the intake applies one (batched, the store checked before and after)
    /// and wakes the sweeper for its new deadlines.
    func applyReport(_ envelope: Envelope, receivedAt: Date) async throws -> IntakeResult {
        let result: IntakeResult
        do {
            try storeMonitor.check()
            result = try await batcher.apply(
                HealthProcessor.BatchEntry(envelope, at: clock.now, receivedAt: receivedAt))
        } catch let error as StorageError {
            throw HealthSyncHTTPError(error)
        }
        do {
            try storeMonitor.check()
        } catch {
            throw HealthSyncHTTPError(
                code: .storageUnavailable,
                message: "the report was committed to a database file that is no longer fit (\(error.message)); "
                    + "it may be lost: resend it later",
                storageError: error)
        }
        metrics.recordAccepted(result)
        sweeper.wake()
        return result
    }

    /// A path parameter, percent-decoded (an undecodable one is kept as sent, and the report's checks refuse it).
    static func pathId(_ raw: String?) -> String {
        guard let raw else { return "" }
        return raw.removingPercentEncoding ?? raw
    }

    /// The HTTP error of a report's decoding error: 413 for a body over the limit, else 400 `InvalidReport`.
    static func reportError(_ error: PayloadError) -> HealthSyncHTTPError {
        HealthSyncHTTPError(
            code: error.code == .bodyTooLarge ? .bodyTooLarge : .invalidReport,
            message: "\(error); nothing was applied",
            payloadError: error)
    }
}

/// The body of a 200 status-report answer: the health the report translated to (before any silence) and when it
/// was applied.
struct StatusReportDocument: Encodable {
    var health: String
    var appliedAt: Double?
}
