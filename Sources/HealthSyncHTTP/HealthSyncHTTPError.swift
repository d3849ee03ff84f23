import Foundation
import HTTPTypes
import HealthSync
import Hummingbird

/// A request the HTTP layer refuses or cannot serve, with the status it maps to and a JSON body that names what
/// and where.
///
/// This is the only place where errors become HTTP statuses. Every body carries `_type` (the StackState name of the
/// error where StackState has one: `HealthStreamNotFound`, `HealthSubStreamNotFound`, `InvalidUrn`) and `message`,
/// plus the fields of its context:
///
/// ```json
/// {"_type":"InvalidEnvelope","code":"malformedJSON","message":"line 1, column 2: $: ...","path":"$","line":1,"column":2}
/// ```
public struct HealthSyncHTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong; it fixes the status and `_type`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Value: String, Sendable, Hashable, CaseIterable {
            case unauthorized
            case conflictingAPIKeys
            case unsupportedMediaType
            case unsupportedContentEncoding
            case invalidContentEncoding
            case invalidBody
            case bodyTooLarge
            case invalidEnvelope
            case invalidReport
            case invalidURN
            case invalidSubStreamId
            case invalidQuery
            case invalidHeader
            case streamNotFound
            case subStreamNotFound
            case notFound
            case methodNotAllowed
            case storageUnavailable
            case storageFailed
            case internalError
        }

        let value: Value

        /// 401: no API key, or a key that is not configured.
        public static let unauthorized = Code(value: .unauthorized)
        /// 400: the request carries two different API keys (in the `sts-api-key` header and the `api_key` query
        /// parameter, or one of them twice).
        public static let conflictingAPIKeys = Code(value: .conflictingAPIKeys)
        /// 415: a `content-type` that is not JSON.
        public static let unsupportedMediaType = Code(value: .unsupportedMediaType)
        /// 415: a `content-encoding` other than `gzip`, `deflate` or `identity`.
        public static let unsupportedContentEncoding = Code(value: .unsupportedContentEncoding)
        /// 400: a compressed body that does not decompress.
        public static let invalidContentEncoding = Code(value: .invalidContentEncoding)
        /// 400: a body that does not arrive whole: cut short by the client, malformed chunked framing.
        public static let invalidBody = Code(value: .invalidBody)
        /// 413: a body over the limit, as sent or after decompression.
        public static let bodyTooLarge = Code(value: .bodyTooLarge)
        /// 400: an envelope that is not decodable (SPEC §2 level 1).
        public static let invalidEnvelope = Code(value: .invalidEnvelope)
        /// 400: a push report (status reporter, metrics) that is not valid; nothing of it was applied.
        public static let invalidReport = Code(value: .invalidReport)
        /// 400: a stream URN in a path that is not a URN.
        public static let invalidURN = Code(value: .invalidURN)
        /// 400: a sub-stream id in a path that cannot be decoded.
        public static let invalidSubStreamId = Code(value: .invalidSubStreamId)
        /// 400: a query parameter with a value it cannot have.
        public static let invalidQuery = Code(value: .invalidQuery)
        /// 400: a request header with a value it cannot have (``HealthSyncHTTPError/header`` names it).
        public static let invalidHeader = Code(value: .invalidHeader)
        /// 404: no such stream.
        public static let streamNotFound = Code(value: .streamNotFound)
        /// 404: no such sub-stream.
        public static let subStreamNotFound = Code(value: .subStreamNotFound)
        /// 404: no route at the request's path.
        public static let notFound = Code(value: .notFound)
        /// 405: a route at the request's path, but not for its method (``HealthSyncHTTPError/allowedMethods`` names
        /// the methods it takes, also in the `Allow` header).
        public static let methodNotAllowed = Code(value: .methodNotAllowed)
        /// 503: the store is full, read-only, unreachable or lost a race too often; retry later.
        public static let storageUnavailable = Code(value: .storageUnavailable)
        /// 500: the store failed otherwise (corrupt, or an unexpected driver error).
        public static let storageFailed = Code(value: .storageFailed)
        /// 500: anything else.
        public static let internalError = Code(value: .internalError)

        /// The HTTP status.
        public var status: HTTPResponse.Status {
            switch value {
            case .unauthorized: .unauthorized
            case .unsupportedMediaType, .unsupportedContentEncoding: .unsupportedMediaType
            case .bodyTooLarge: .contentTooLarge
            case .invalidContentEncoding, .invalidBody, .invalidEnvelope, .invalidReport, .invalidURN,
                .invalidSubStreamId,
                .invalidQuery, .invalidHeader, .conflictingAPIKeys:
                .badRequest
            case .streamNotFound, .subStreamNotFound, .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .storageUnavailable: .serviceUnavailable
            case .storageFailed, .internalError: .internalServerError
            }
        }

        /// The body's `_type`.
        public var typeName: String {
            switch value {
            case .unauthorized: "Unauthorized"
            case .conflictingAPIKeys: "ConflictingApiKeys"
            case .unsupportedMediaType: "UnsupportedMediaType"
            case .unsupportedContentEncoding: "UnsupportedContentEncoding"
            case .invalidContentEncoding: "InvalidContentEncoding"
            case .invalidBody: "InvalidBody"
            case .bodyTooLarge: "PayloadTooLarge"
            case .invalidEnvelope: "InvalidEnvelope"
            case .invalidReport: "InvalidReport"
            case .invalidURN: "InvalidUrn"
            case .invalidSubStreamId: "InvalidSubStreamId"
            case .invalidQuery: "InvalidQuery"
            case .invalidHeader: "InvalidHeader"
            case .streamNotFound: "HealthStreamNotFound"
            case .subStreamNotFound: "HealthSubStreamNotFound"
            case .notFound: "NotFound"
            case .methodNotAllowed: "MethodNotAllowed"
            case .storageUnavailable: "StorageUnavailable"
            case .storageFailed: "StorageFailure"
            case .internalError: "InternalError"
            }
        }

        /// A readable rendering.
        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// What went wrong, in words.
    public var message: String
    /// The stream concerned.
    public var urn: String?
    /// The sub-stream concerned.
    public var subStreamId: String?
    /// The decoding problem of an ``Code/invalidEnvelope`` or ``Code/bodyTooLarge`` (path, line, column, value).
    public var payloadError: PayloadError?
    /// The store's failure of ``Code/storageUnavailable`` and ``Code/storageFailed``.
    public var storageError: StorageError?
    /// The limit that was exceeded, in bytes.
    public var limit: Int?
    /// The request header of an ``Code/invalidHeader``, such as `Idempotency-Key`.
    public var header: String?
    /// The methods the path of a ``Code/methodNotAllowed`` takes, such as `GET`.
    public var allowedMethods: [String]?
    /// The `WWW-Authenticate` challenge of an ``Code/unauthorized``; `nil` for the intake's
    /// `ApiKey realm="healthsync"` (the status-reporter routes answer `Basic realm="healthsync"`).
    public var challenge: String?

    /// Creates an error.
    public init(
        code: Code,
        message: String,
        urn: String? = nil,
        subStreamId: String? = nil,
        payloadError: PayloadError? = nil,
        storageError: StorageError? = nil,
        limit: Int? = nil,
        header: String? = nil,
        allowedMethods: [String]? = nil
    ) {
        self.code = code
        self.message = message
        self.urn = urn
        self.subStreamId = subStreamId
        self.payloadError = payloadError
        self.storageError = storageError
        self.limit = limit
        self.header = header
        self.allowedMethods = allowedMethods
    }

    /// The error of a store failure: 503 for what may pass (full, read-only, unavailable, conflicts), else 500.
    /// - Parameters:
    ///   - storageError: the store's failure.
    ///   - reading: the request only read (the message then says the store cannot be read, not that nothing was
    ///     applied).
    public init(_ storageError: StorageError, reading: Bool = false) {
        let transient: [StorageError.Code] = [.full, .readOnly, .unavailable, .conflict]
        let message: String
        switch (transient.contains(storageError.code), reading) {
        case (true, false):
            message = "the store cannot take writes now (\(storageError.code)); nothing was applied, retry later"
        case (false, false): message = "the store failed (\(storageError.code)); nothing was applied"
        case (true, true): message = "the store cannot be read now (\(storageError.code)); retry later"
        case (false, true): message = "the store failed (\(storageError.code))"
        }
        self.init(
            code: transient.contains(storageError.code) ? .storageUnavailable : .storageFailed,
            message: message,
            storageError: storageError
        )
    }

    /// The error of an undecodable envelope: 413 when it was too large, else 400.
    public init(_ payloadError: PayloadError, limit: Int) {
        let tooLarge = payloadError.code == .bodyTooLarge
        self.init(
            code: tooLarge ? .bodyTooLarge : .invalidEnvelope,
            message: payloadError.description,
            payloadError: payloadError,
            limit: tooLarge ? limit : nil
        )
    }

    /// `_type: message`.
    public var description: String { "\(code.typeName): \(message)" }
}

extension HealthSyncHTTPError: HTTPResponseError {
    /// The HTTP status of ``code``.
    public var status: HTTPResponse.Status { code.status }

    /// `retry-after` for 503, `www-authenticate` for 401, `allow` for 405.
    public var headers: HTTPFields {
        switch code.value {
        case .storageUnavailable: [.retryAfter: "5"]
        case .unauthorized: [.wwwAuthenticate: challenge ?? "ApiKey realm=\"healthsync\""]
        case .methodNotAllowed: [.allow: (allowedMethods ?? []).joined(separator: ", ")]
        default: [:]
        }
    }

    /// The JSON body described on the type.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try JSONResponse.make(Body(self), status: status, headers: headers)
    }

    /// The JSON body: `_type`, `message` and the context that is present.
    struct Body: Encodable {
        var type: String
        var code: String?
        var message: String
        var urn: String?
        var subStreamId: String?
        var path: String?
        var reason: String?
        var value: String?
        var line: Int?
        var column: Int?
        var limit: Int?
        var storage: String?
        var header: String?
        var allow: [String]?

        init(_ error: HealthSyncHTTPError) {
            type = error.code.typeName
            message = error.message
            urn = error.urn
            subStreamId = error.subStreamId
            if let payload = error.payloadError {
                code = payload.code.description
                path = payload.path
                reason = payload.reason
                value = payload.value
                line = payload.line
                column = payload.column
            }
            limit = error.limit
            storage = error.storageError?.code.description
            header = error.header
            allow = error.allowedMethods
        }

        enum CodingKeys: String, CodingKey {
            case type = "_type"
            case code, message, urn, subStreamId, path, reason, value, line, column, limit, storage, header, allow
        }
    }
}
