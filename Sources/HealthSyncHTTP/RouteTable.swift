import HTTPTypes
import Hummingbird

/// The method and path of every route, so a request no route takes can be told apart: an unknown path (404) from a
/// known path with the wrong method (405, with the methods it allows).
struct RouteTable: Sendable {
    private var routes: [(path: RouterPath, method: HTTPRequest.Method)] = []

    mutating func add(_ path: RouterPath, method: HTTPRequest.Method) {
        routes.append((path, method))
    }

    /// The methods routes take at `path`, in the order the routes were added; empty for an unknown path.
    ///
    /// A route matches as the router matches it: segment by segment, a capture (`:urn`) taking any one segment.
    func allowedMethods(at path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods: [HTTPRequest.Method] = []
        for route in routes where route.path.components.count == segments.count && !methods.contains(route.method) {
            if zip(route.path.components, segments).allSatisfy({ element, segment in element ~= segment }) {
                methods.append(route.method)
            }
        }
        return methods
    }
}

/// Forwards routes to a ``RouteCollection`` and records each in a ``RouteTable``.
final class RouteRecorder<Context: RequestContext>: RouterMethods {
    let collection: RouteCollection<Context>
    private(set) var table = RouteTable()

    init(_ collection: RouteCollection<Context>) {
        self.collection = collection
    }

    @discardableResult func on<Responder: HTTPResponder>(
        _ path: RouterPath,
        method: HTTPRequest.Method,
        responder: Responder
    ) -> Self where Responder.Context == Context {
        _ = collection.on(path, method: method, responder: responder)
        table.add(path, method: method)
        return self
    }

    @discardableResult func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        collection.add(middleware: middleware)
        return self
    }
}

/// The answer to a request no route takes: a JSON 404 (`NotFound`) for an unknown path, a JSON 405
/// (`MethodNotAllowed`, with an `Allow` header) for a known path with another method.
///
/// It is the router's last middleware, added after every route, so it wraps only the router's not-found responder
/// and never calls it; the ``RequestMiddleware`` before it gives the answer its `x-request-id`, logs and counts it.
struct UnmatchedRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    let table: RouteTable

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        let allowed = table.allowedMethods(at: path)
        if allowed.isEmpty {
            throw HealthSyncHTTPError(code: .notFound, message: "no route for \(path)")
        }
        throw HealthSyncHTTPError(
            code: .methodNotAllowed,
            message: "\(path) does not take \(request.method.rawValue); it takes "
                + allowed.map(\.rawValue).joined(separator: ", "),
            allowedMethods: allowed.map(\.rawValue)
        )
    }
}
