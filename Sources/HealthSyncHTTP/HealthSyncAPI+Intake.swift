import Foundation
import HTTPTypes
import HealthSync
import Hummingbird
import Logging

extension HealthSyncAPI {
    /// `POST /receiver/stsAgent/intake` and `POST /stsAgent/intake`.
    func addIntakeRoutes<Context: RequestContext>(to routes: some RouterMethods<Context>) {
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
    ///
    /// The ``StoreMonitor`` is asked before the envelope is applied and again before the 200: a store whose file was
    /// deleted, replaced or found damaged answers 503, so that nothing is acknowledged into a lost file.
    ///
    /// A request with an `Idempotency-Key` header is not batched: its envelope is applied alone by
    /// ``HealthSync/HealthProcessor/apply(_:at:receivedAt:receipt:)`` with the receipt
    /// ``receipt(forIdempotencyKey:apiKey:)``, committed with the envelope. A repeat of a key whose envelope was
    /// committed under the same API key applies nothing and answers 200 with `"alreadyApplied": true`; the same
    /// `Idempotency-Key` sent with another API key is another request.
    func intake(_ request: Request, context: some RequestContext) async throws -> Response {
        let receivedAt = clock.now
        do {
            let apiKey = try authenticator.authorize(request)
            try Self.checkContentType(request.headers[.contentType])
            let idempotencyKey = try Self.idempotencyKey(request.headers[values: .idempotencyKey])
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
                try storeMonitor.check()
                if let idempotencyKey {
                    result = try await processor.apply(
                        envelope, at: clock.now, receivedAt: receivedAt,
                        receipt: Self.receipt(forIdempotencyKey: idempotencyKey, apiKey: apiKey)
                    )
                } else {
                    result = try await batcher.apply(
                        HealthProcessor.BatchEntry(envelope, at: clock.now, receivedAt: receivedAt)
                    )
                }
            } catch let error as StorageError {
                throw HealthSyncHTTPError(error)
            }
            do {
                try storeMonitor.check()
            } catch {
                // Committed, but into a file that is lost or damaged: not an acknowledgement; the source resends.
                throw HealthSyncHTTPError(
                    code: .storageUnavailable,
                    message: "the envelope was committed to a database file that is no longer fit (\(error.message)); "
                        + "it may be lost: resend it later",
                    storageError: error)
            }
            if result.alreadyApplied {
                context.logger.debug("envelope already applied under its idempotency key")
                return try JSONResponse.make(IntakeDocument(result, keyed: true))
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
            return try JSONResponse.make(IntakeDocument(result, keyed: idempotencyKey != nil))
        } catch let error as HealthSyncHTTPError {
            metrics.recordRejected(error)
            throw error
        }
    }

    /// The longest accepted `Idempotency-Key`, in characters.
    static var maximumIdempotencyKeyLength: Int { 200 }

    /// The `Idempotency-Key` of a request: `nil` without the header, else its one value of 1 to
    /// ``maximumIdempotencyKeyLength`` printable ASCII characters (space to `~`).
    /// - Throws: ``HealthSyncHTTPError/Code/invalidHeader`` naming the header for an empty, too long or non-ASCII
    ///   value, or for the header sent more than once.
    static func idempotencyKey(_ values: [String]) throws(HealthSyncHTTPError) -> String? {
        guard let key = values.first else { return nil }
        let problem: String?
        if values.count > 1 {
            problem = "is sent \(values.count) times; send it once"
        } else if key.isEmpty || key.utf8.count > maximumIdempotencyKeyLength {
            problem = "must be 1 to \(maximumIdempotencyKeyLength) characters long (found \(key.utf8.count) bytes)"
        } else if !key.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) {
            problem = "must be printable ASCII (space to ~)"
        } else {
            problem = nil
        }
        if let problem {
            throw HealthSyncHTTPError(
                code: .invalidHeader, message: "Idempotency-Key \(problem); nothing was applied",
                header: "Idempotency-Key"
            )
        }
        return key
    }

    /// The receipt an envelope posted with `key` is committed with: `http:`, a digest of the API key that sent it
    /// and `:`, then the key (`http:` and the key alone without authentication). The namespace is the intake's own
    /// (`healthsync replay` stores `replay:DIGEST:LINE`), so HTTP keys and replay receipts never collide, and the
    /// digest scopes a key to its API key: two API keys never share a receipt. The API key itself is never stored.
    static func receipt(forIdempotencyKey key: String, apiKey: String?) -> String {
        guard let apiKey else { return idempotencyReceiptPrefix + key }
        return idempotencyReceiptPrefix + PayloadFile.digest(apiKey.utf8) + ":" + key
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
/// `alreadyApplied` is present only when the request carried an `Idempotency-Key`: `false` when the envelope was
/// applied now, `true` when its key was committed before and nothing was applied (`appliedAt` is then absent and the
/// counts are zero; `rejections` and `warnings` are the envelope's own).
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
    var alreadyApplied: Bool?

    /// The answer for `result`; `keyed` when the request carried an `Idempotency-Key`.
    init(_ result: IntakeResult, keyed: Bool = false) {
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
        alreadyApplied = keyed ? result.alreadyApplied : nil
    }
}

/// The namespace of the intake's receipts (`http:` and the `Idempotency-Key`), which the sweeper prunes after
/// ``DeadlineSweeperConfiguration/idempotencyKeyRetention``.
let idempotencyReceiptPrefix = "http:"
