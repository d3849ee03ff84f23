import HTTPTypes
import HealthSync
import HealthSyncExport
import Hummingbird
import Logging

extension HealthSyncAPI {
    /// `GET /healthz`, `GET /readyz`, `GET /metrics` and `GET /metrics/health`, which need no API key (probes and
    /// scrapers).
    func addOperationsRoutes<Context: RequestContext>(to routes: some RouterMethods<Context>) {
        routes.get("/healthz") { _, _ in
            try JSONResponse.make(Probe(status: "ok"))
        }
        routes.get("/readyz") { _, context in
            do {
                try storeMonitor.check()
                _ = try await processor.store.clock()
                return try JSONResponse.make(Probe(status: "ready"))
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
                return try JSONResponse.make(
                    Probe(status: "unavailable", reason: "the store cannot be read: \(error)"),
                    status: .serviceUnavailable
                )
            }
        }
        routes.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        routes.get("/metrics/health") { request, context in
            try await healthMetrics(request, logger: context.logger)
        }
    }

    /// `GET /metrics/health`: every check state's health and every stream's open errors
    /// (``HealthSyncExport/CurrentHealthExposition``), in OpenMetrics when `Accept` asks for it, else in the
    /// Prometheus text format.
    ///
    /// The first page is read before the answer starts, so that a store that cannot be read answers 503; the rest
    /// is read page by page on the store's readers while the body is written. A read that fails after the answer
    /// started ends the connection before the body is complete, which a scraper counts as a failed scrape.
    private func healthMetrics(_ request: Request, logger: Logger) async throws -> Response {
        let exposition = CurrentHealthExposition(format: MetricsTextFormat(accept: request.headers[.accept]))
        let queries = self.queries
        let first = try await read { try await exposition.firstPage(of: queries) }
        return Response(
            status: .ok,
            headers: [.contentType: exposition.format.contentType],
            body: ResponseBody { writer in
                do {
                    try await exposition.write(from: queries, firstPage: first) { chunk in
                        try await writer.write(ByteBuffer(string: chunk))
                    }
                } catch {
                    logger.error("GET /metrics/health stopped before its end", metadata: ["error": "\(error)"])
                    throw error
                }
                try await writer.finish(nil)
            }
        )
    }

    /// The body of `/healthz` and `/readyz`.
    struct Probe: Encodable {
        var status: String
        var reason: String?
    }
}
