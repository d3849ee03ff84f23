import Foundation
import HTTPTypes
import HealthSync
import Hummingbird
import Logging

extension HealthSyncAPI {
    /// `POST /receiver/stsAgent/intake` and `POST /stsAgent/intake`.
    func addIntakeRoutes<Context: RequestContext>(to routes: RouteCollection<Context>) {
        for path in ["/receiver/stsAgent/intake", "/stsAgent/intake"] {
            routes.post(RouterPath(path)) { request, context in
                try await intake(request, context: context)
            }
        }
    }

    /// Authenticates, reads and decodes the body, applies the envelope and answers with what was applied.
    ///
    /// The envelope goes through the ``IntakeBatcher``: concurrent requests are applied together by
    /// ``HealthSync/HealthProcessor/apply(batch:)``, in one commit (group commit), each with its own result. The 200
    /// is sent only after that commit returned, that is after the envelope's effects were committed. Every refusal
    /// happens before anything is applied, and a failed commit writes nothing (of any envelope of its batch, which
    /// all get the same error), so a request that fails leaves no trace in the store.
    func intake(_ request: Request, context: some RequestContext) async throws -> Response {
        let receivedAt = clock.now
        do {
            try authenticator.authorize(request)
            try Self.checkContentType(request.headers[.contentType])
            guard let coding = RequestBodyReader.Coding(header: request.headers[.contentEncoding]) else {
                throw HealthSyncHTTPError(
                    code: .unsupportedContentEncoding,
                    message: "content-encoding \(request.headers[.contentEncoding] ?? "") is not supported; "
                        + "send gzip, deflate or an uncompressed body"
                )
            }
            let body = try await bodyReader.read(
                request.body, coding: coding, contentLength: request.headers[.contentLength].flatMap { Int($0) }
            )
            let envelope: Envelope
            do {
                envelope = try decoder.decode(body.readableBytesView)
            } catch {
                throw HealthSyncHTTPError(error, limit: configuration.maximumBodyBytes)
            }
            let result: IntakeResult
            do {
                result = try await batcher.apply(
                    HealthProcessor.BatchEntry(envelope, at: clock.now, receivedAt: receivedAt)
                )
            } catch let error as StorageError {
                throw HealthSyncHTTPError(error)
            }
            metrics.recordAccepted(result)
            sweeper.wake()
            if result.messagesRejected > 0 {
                context.logger.info(
                    "envelope applied with rejected messages",
                    metadata: [
                        "messages.applied": "\(result.messagesApplied)",
                        "messages.rejected": "\(result.messagesRejected)",
                    ]
                )
            }
            return try JSONResponse.make(IntakeDocument(result))
        } catch let error as HealthSyncHTTPError {
            metrics.recordRejected(error)
            throw error
        }
    }

    /// Accepts JSON media types (`application/json`, `text/json`, `application/…+json`) and a missing header.
    /// - Throws: ``HealthSyncHTTPError/Code/unsupportedMediaType`` otherwise.
    static func checkContentType(_ header: String?) throws(HealthSyncHTTPError) {
        guard let header else { return }
        let mediaType = header.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard let mediaType else { return }
        let parts = mediaType.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, parts[1] == "json" || parts[1].hasSuffix("+json") else {
            throw HealthSyncHTTPError(
                code: .unsupportedMediaType,
                message: "content-type \(header) is not JSON; send application/json"
            )
        }
    }
}

/// The body of a 200 intake answer.
///
/// ```json
/// {"appliedAt":1700000000.5,"messagesApplied":1,"messagesRejected":1,
///  "checkStates":{"created":2,"updated":0,"deleted":0},"errorsOpened":{},"timersFired":0,
///  "rejections":[{"code":"invalidMessage","path":"health[1].stream.urn","reason":"...","value":"42"}],
///  "warnings":[]}
/// ```
struct IntakeDocument: Encodable {
    struct Counts: Encodable {
        var created: Int
        var updated: Int
        var deleted: Int
    }

    struct Problem: Encodable {
        var code: String
        var path: String
        var reason: String
        var value: String?

        init(_ error: PayloadError) {
            code = error.code.description
            path = error.path
            reason = error.reason
            value = error.value
        }
    }

    var appliedAt: Double?
    var messagesApplied: Int
    var messagesRejected: Int
    var checkStates: Counts
    var errorsOpened: [String: Int]
    var timersFired: Int
    var rejections: [Problem]
    var warnings: [Problem]

    init(_ result: IntakeResult) {
        appliedAt = result.appliedAt?.timeIntervalSince1970
        messagesApplied = result.messagesApplied
        messagesRejected = result.messagesRejected
        checkStates = Counts(
            created: result.counts.created, updated: result.counts.updated, deleted: result.counts.deleted)
        errorsOpened = Dictionary(
            uniqueKeysWithValues: result.counts.errorsOpenedByCode.map { ($0.key.rawValue, $0.value) }
        )
        timersFired = result.timers?.timersFired ?? 0
        rejections = result.rejections.map(Problem.init)
        warnings = result.warnings.map(Problem.init)
    }
}
