import Foundation
import HTTPTypes
import HealthSync
import Hummingbird

extension HealthSyncAPI {
    /// The status page: `GET /status` (HTML), `GET /status.json`, `GET /status/events` (Server-Sent Events that
    /// tell the page to refresh) and `GET /badge/{urn}` (SVG). Without an API key when
    /// ``StatusPageConfiguration/Access/public``, with one when ``StatusPageConfiguration/Access/private``; absent
    /// (404) when ``StatusPageConfiguration/Access/off``.
    func addStatusPageRoutes<Context: RequestContext>(to routes: some RouterMethods<Context>) {
        let settings = configuration.statusPage
        guard settings.access != .off else { return }
        let authenticator = authenticator
        let authorize: @Sendable (Request) throws -> Void = { request in
            if settings.access == .private {
                try authenticator.authorize(request)
            }
        }
        routes.get("/status") { request, _ in
            try authorize(request)
            let page = try await statusPage()
            let nonce = UUID().uuidString.replacingOccurrences(of: "-", with: "")
            let html = StatusPageRenderer.html(
                page, now: Date(timeIntervalSince1970: page.generatedAt), refreshSeconds: settings.refreshSeconds,
                scriptNonce: nonce)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8",
                    .cacheControl: "no-store",
                    .contentSecurityPolicy: Self.statusPagePolicy(nonce: nonce),
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(string: html))
            )
        }
        routes.get("/status.json") { request, _ in
            try authorize(request)
            return try JSONResponse.make(try await statusPage(), headers: [.cacheControl: "no-store"])
        }
        routes.get("/status/events") { request, _ in
            try authorize(request)
            return statusEvents(settings)
        }
        routes.get("/badge/:urn") { request, context in
            try authorize(request)
            let urn = try Self.urn(context.parameters)
            guard settings.shows(urn), try await read({ try await processor.store.stream(urn) }) != nil else {
                throw Self.streamNotFound(urn)
            }
            let states = try await read { try await queries.checkStates(urn: urn, subStreamId: nil) }
            let worst = states.map(\.checkState.health).max()
            let label = request.uri.queryParameters.get("label") ?? "health"
            return Response(
                status: .ok,
                headers: [.contentType: "image/svg+xml; charset=utf-8", .cacheControl: "no-cache"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: StatusPageRenderer.svgBadge(label: label, health: worst)))
            )
        }
    }

    /// What the page shows now: the streams it is configured for, their sub-streams, check states and open errors,
    /// and the event record over ``StatusPageConfiguration/eventWindow``. Reads one consistent view of the store
    /// (``HealthSync/HealthStoreSnapshots``: a snapshot that commits made meanwhile do not change, on the store's
    /// readers; the writer is not held) and builds the page in memory.
    func statusPage() async throws -> StatusPage {
        let settings = configuration.statusPage
        let now = clock.now
        return try await read {
            try await queries.withConsistentReads { view in
                try await Self.statusPage(settings: settings, now: now, reading: view)
            }
        }
    }

    /// The page of `settings` at `now`, from the reads of `store`.
    static func statusPage(
        settings: StatusPageConfiguration, now: Date, reading store: any HealthStoreQueries
    ) async throws -> StatusPage {
        let summaries = try await store.streams().filter { settings.shows($0.urn) }
        var statuses: [String: HealthSync.StreamStatus] = [:]
        for summary in summaries {
            statuses[summary.urn] = try await store.status(of: summary.urn)
        }
        var states: [StoredCheckState]
        if settings.streamPrefixes.isEmpty {
            states = try await store.allCheckStates()
        } else {
            states = []
            for summary in summaries {
                states += try await store.checkStates(urn: summary.urn, subStreamId: nil)
            }
        }
        let window = Double(settings.eventWindow.components.seconds)
        let events = try await store.events(EventQuery(since: now.addingTimeInterval(-window)))
        return StatusPage(
            configuration: settings, now: now, summaries: summaries, statuses: statuses, states: states,
            events: events)
    }

    /// `GET /status/events`: a `text/event-stream` that sends, every ``StatusPageConfiguration/refreshInterval``,
    /// a token that changes when the store commits (its clock and stream counts); the page reloads its content when
    /// the token changes. The stream ends after ``StatusPageConfiguration/eventStreamDuration`` (the browser
    /// reconnects).
    private func statusEvents(_ settings: StatusPageConfiguration) -> Response {
        let api = self
        let retry = max(1000, Int(settings.refreshInterval.components.seconds) * 1000)
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody { writer in
                let end = ContinuousClock.now.advanced(by: settings.eventStreamDuration)
                try await writer.write(ByteBuffer(string: "retry: \(retry)\n\n"))
                while !Task.isCancelled {
                    let token = (try? await api.statusToken()) ?? "unavailable"
                    try await writer.write(ByteBuffer(string: "data: \(token)\n\n"))
                    guard ContinuousClock.now.advanced(by: settings.refreshInterval) < end else { break }
                    try await Task.sleep(for: settings.refreshInterval)
                }
                try await writer.finish(nil)
            }
        )
    }

    /// A token that changes when the store commits: its clock, and per stream its URN and counts.
    func statusToken() async throws -> String {
        let settings = configuration.statusPage
        let clock = try await processor.store.clock()
        let summaries = try await queries.streams().filter { settings.shows($0.urn) }
        var hasher = Hasher()
        for summary in summaries {
            hasher.combine(summary.urn)
            hasher.combine(summary.subStreamCount)
            hasher.combine(summary.checkStateCount)
        }
        let counts = UInt64(bitPattern: Int64(hasher.finalize()))
        return "\(clock?.timeIntervalSince1970 ?? 0)-\(String(counts, radix: 16))"
    }

    /// The page's content security policy: nothing from the network, inline style, only the page's own script.
    static func statusPagePolicy(nonce: String) -> String {
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-\(nonce)'; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }
}

extension StatusPageConfiguration {
    /// ``refreshInterval`` in whole seconds, at least 1: the `<noscript>` meta refresh.
    var refreshSeconds: Int {
        let components = refreshInterval.components
        return max(1, Int(components.seconds) + (components.attoseconds > 0 ? 1 : 0))
    }
}
