/// Who sees the status page (`GET /status`, `GET /status.json`, `GET /status/events`, `GET /badge/{urn}`), its
/// title, which streams it shows and how often it refreshes.
///
/// A public page exposes the URNs, sub-stream ids, check-state names, topology elements and messages of the streams
/// it shows, and the messages of their open errors, to anyone who can reach the server.
///
/// ```swift
/// var configuration = HealthSyncHTTPConfiguration(apiKeys: ["secret"])
/// configuration.statusPage = StatusPageConfiguration(access: .private, title: "Payments", streamPrefixes: ["urn:health:pay:"])
/// ```
public struct StatusPageConfiguration: Sendable, Hashable {
    /// Who may read the status page.
    public enum Access: String, Sendable, Hashable, CaseIterable {
        /// Anyone, without an API key, like `GET /healthz`.
        case `public`
        /// Only a caller with an API key, like the status API.
        case `private`
        /// Nobody: the routes do not exist (404).
        case off
    }

    /// Who may read the page (default ``Access/public``).
    public var access: Access
    /// The page's title (default `HealthSync status`).
    public var title: String
    /// Only streams whose URN starts with one of these prefixes; empty (the default) for every stream.
    public var streamPrefixes: [String]
    /// How often `GET /status/events` tells a browser that the page may have changed (default 5 s); also the
    /// `<meta http-equiv="refresh">` period of a browser without JavaScript (rounded up to whole seconds).
    public var refreshInterval: Duration
    /// How long one `GET /status/events` stream stays open before the server ends it (default 5 minutes); the
    /// browser's `EventSource` reconnects by itself.
    public var eventStreamDuration: Duration
    /// How far back the page looks in the event record for the last changes and for how long each check state has
    /// been in its health (default 24 hours).
    public var eventWindow: Duration
    /// The most changes the page lists (default 20).
    public var maximumChanges: Int

    /// Creates a configuration.
    /// - Parameters:
    ///   - access: who may read the page.
    ///   - title: the page's title.
    ///   - streamPrefixes: the URN prefixes of the streams shown; empty for all.
    ///   - refreshInterval: how often the page refreshes.
    ///   - eventStreamDuration: how long one event stream stays open.
    ///   - eventWindow: how far back the page reads the event record.
    ///   - maximumChanges: the most changes listed.
    public init(
        access: Access = .public,
        title: String = "HealthSync status",
        streamPrefixes: [String] = [],
        refreshInterval: Duration = .seconds(5),
        eventStreamDuration: Duration = .seconds(300),
        eventWindow: Duration = .seconds(86_400),
        maximumChanges: Int = 20
    ) {
        self.access = access
        self.title = title
        self.streamPrefixes = streamPrefixes
        self.refreshInterval = refreshInterval
        self.eventStreamDuration = eventStreamDuration
        self.eventWindow = eventWindow
        self.maximumChanges = maximumChanges
    }

    /// Whether the page shows the stream `urn`.
    public func shows(_ urn: String) -> Bool {
        streamPrefixes.isEmpty || streamPrefixes.contains { urn.hasPrefix($0) }
    }
}
