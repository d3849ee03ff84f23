import HTTPTypes
import Hummingbird
import Logging

/// Wraps every route: gives the request an id (the caller's `x-request-id` when it is sane, else a new one) in the
/// logger's `hb.request.id` and the `x-request-id` response header,
/// turns errors into JSON responses, records the request in the latency histogram and logs it.
///
/// Only the path is logged, never the query string, which may carry an `api_key`.
struct RequestMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: HealthSyncMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let requestID = request.headers[.requestID].flatMap { Self.isSane($0) ? $0 : nil } ?? RequestID().description
        context.logger[metadataKey: "hb.request.id"] = .string(requestID)

        var response: Response
        var failure: (any Error)?
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            failure = error
            response = try error.response(from: request, context: context)
        } catch {
            failure = error
            let internalError = HealthSyncHTTPError(code: .internalError, message: "the request failed unexpectedly")
            response = try internalError.response(from: request, context: context)
        }
        response.headers[.requestID] = requestID

        let route = context.endpointPath ?? "unmatched"
        let status = response.status.code
        metrics.recordRequest(
            method: request.method.rawValue, route: route, status: status, duration: ContinuousClock.now - start
        )
        let level: Logger.Level = status >= 500 ? .error : status >= 400 ? .info : .debug
        var metadata: Logger.Metadata = [
            "http.method": "\(request.method.rawValue)", "http.path": "\(request.uri.path)",
            "http.status": "\(status)",
        ]
        if let failure { metadata["error"] = "\(failure)" }
        context.logger.log(level: level, "request", metadata: metadata)
        return response
    }

    /// A caller's request id is kept when it is 1 to 128 printable ASCII characters.
    static func isSane(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
