import Foundation
import HTTPTypes
import Hummingbird

/// Encodes response bodies as compact JSON with sorted keys (`_type` first), so answers are stable to read and diff.
enum JSONResponse {
    /// A response with `value` as its JSON body.
    static func make(
        _ value: some Encodable,
        status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:]
    ) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    /// `sts-api-key`: the StackState agent's API key header.
    // swift-format-ignore: NeverForceUnwrap
    static let stsAPIKey = HTTPField.Name("sts-api-key")!
    /// `x-request-id`: a caller's request id, echoed back (one is made up when absent).
    // swift-format-ignore: NeverForceUnwrap
    static let requestID = HTTPField.Name("x-request-id")!
    /// `Idempotency-Key`: a caller's key for an intake request; a repeat of a committed key is not applied again.
    // swift-format-ignore: NeverForceUnwrap
    static let idempotencyKey = HTTPField.Name("idempotency-key")!
}
