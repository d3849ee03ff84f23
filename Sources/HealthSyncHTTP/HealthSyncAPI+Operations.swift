import HTTPTypes
import HealthSync
import Hummingbird
import Logging

extension HealthSyncAPI {
    /// `GET /healthz`, `GET /readyz` and `GET /metrics`, which need no API key (probes and scrapers).
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
    }

    /// The body of `/healthz` and `/readyz`.
    struct Probe: Encodable {
        var status: String
        var reason: String?
    }
}
