import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct StatusPageTests {
    static let payments = "urn:health:shop:payments"
    static let search = "urn:health:shop:search"
    static let batch = "urn:health:jobs:batch"
    static let hostileMessage = "<script>alert(1)</script> see [the runbook](javascript:alert(2))"
    static let hostileName = "disk \"><img src=x onerror=alert(3)>"

    /// Three streams: `payments` with a CRITICAL check state whose message and name are hostile, `search` with a
    /// DEVIATING one on a sub-stream, `batch` all CLEAR.
    static let envelope = Payload.envelope([
        Payload.snapshot(
            batch, states: [Payload.checkState("nightly"), Payload.checkState("weekly")]),
        Payload.snapshot(
            payments,
            states: [
                Payload.checkState("disk", health: "CRITICAL", name: hostileName, message: hostileMessage),
                Payload.checkState("cpu"),
            ]),
        Payload.snapshot(
            search, subStream: "eu-1", repeatInterval: 60, expiryInterval: 600,
            states: [Payload.checkState("latency", health: "DEVIATING", message: "p99 1.2 s")]),
    ])

    static func configuration(_ statusPage: StatusPageConfiguration) -> HealthSyncHTTPConfiguration {
        var configuration = Harness.configuration()
        configuration.statusPage = statusPage
        return configuration
    }

    func withStreams(
        _ statusPage: StatusPageConfiguration = StatusPageConfiguration(),
        _ test: @Sendable @escaping (any TestClientProtocol, Harness) async throws -> Void
    ) async throws {
        let harness = try Harness(configuration: Self.configuration(statusPage))
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(Self.envelope).status == .ok)
            harness.clock.advance(by: 90)
            try await test(client, harness)
        }
    }

    /// A GET without an API key.
    static func anonymous(_ client: any TestClientProtocol, _ uri: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get)
    }

    @Test func rendersTheWorstStreamsFirstWithHealthInWords() async throws {
        try await withStreams { client, _ async throws in
            let response = try await Self.anonymous(client, "/status")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            let html = response.text
            #expect(html.contains("<!doctype html>"))
            #expect(html.contains("data-status=\"outage\""))
            #expect(html.contains("✖</span> Outage"))
            let order = [Self.payments, Self.search, Self.batch].map { urn in
                html.range(of: "data-urn=\"\(urn)\"")?.lowerBound
            }
            let positions = try order.map { try #require($0) }
            #expect(positions == positions.sorted())
            #expect(html.contains("CRITICAL</span>"))
            #expect(html.contains("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"))
            #expect(html.contains("Last updated <time"))
            #expect(html.contains("sub-stream <code>eu-1</code>"))
            #expect(html.contains("1 min"))  // in this state for 90 s
        }
    }

    @Test func escapesHostileTextFromASource() async throws {
        try await withStreams { client, _ async throws in
            let response = try await Self.anonymous(client, "/status")
            let html = response.text
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(html.contains("(javascript:alert(2))"))
            #expect(!html.contains("href=\"javascript"))
            #expect(html.contains("disk &quot;&gt;&lt;img src=x onerror=alert(3)&gt;"))
            #expect(!html.contains("<img"))
            // The page's own script, and no other.
            #expect(html.components(separatedBy: "<script").count == 2)
            let policy = try #require(response.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'none'"))
            let nonce = try #require(policy.split(separator: "'nonce-").last?.split(separator: "'").first)
            #expect(html.contains("<script nonce=\"\(nonce)\">"))
        }
    }

    @Test func listsLateAndDeadSourcesAndTheLastChanges() async throws {
        try await withStreams { client, harness async throws in
            // No message for 700 s: the repeat intervals pass (late data) and eu-1 expires after 600 s.
            harness.clock.advance(by: 700)
            _ = try await harness.processor.advance(to: harness.clock.now)
            let json = try await Self.anonymous(client, "/status.json").json
            let problems = json.objects("problems")
            let changes = json.objects("changes")
            #expect(
                problems.contains { ["late", "dead"].contains($0.string("kind")) }
                    || changes.contains { $0.string("kind") == "subStreamExpired" },
                "\(problems) \(changes)")
            #expect(problems.allSatisfy { $0["since"] is Double && $0["errorCode"] is String })
            #expect(!changes.isEmpty && changes.allSatisfy { $0.string("explanation") != nil })
            let times = changes.compactMap { $0["at"] as? Double }
            #expect(times == times.sorted(by: >))  // newest first
            let html = try await Self.anonymous(client, "/status").text
            #expect(html.contains("<h2 id=\"problems-title\">Late and dead sources, open errors</h2>"))
            #expect(html.contains("<h2 id=\"changes-title\">Last changes</h2>"))
            #expect(html.contains(": created</li>"))
        }
    }

    @Test func answersTheSameContentAsJSON() async throws {
        try await withStreams { client, _ async throws in
            let response = try await Self.anonymous(client, "/status.json")
            #expect(response.status == .ok)
            let json = try response.json
            #expect(json.string("status") == "outage")
            #expect(json.string("worstHealth") == "CRITICAL")
            #expect(json.object("counts")?.int("CLEAR") == 3)
            #expect(json.object("counts")?.int("DEVIATING") == 1)
            #expect(json.object("counts")?.int("CRITICAL") == 1)
            let streams = json.objects("streams")
            #expect(streams.map { $0.string("urn") } == [Self.payments, Self.search, Self.batch])
            let main = try #require(streams.first?.objects("subStreams").first)
            #expect(main.keys.contains("subStreamId") && main["subStreamId"] is NSNull)
            let states = main.objects("checkStates")
            #expect(states.map { $0.string("checkStateId") } == ["disk", "cpu"])
            #expect(states.first?.string("message") == Self.hostileMessage)
            #expect(states.last?["message"] is NSNull)
            #expect(states.first?["since"] as? Double == Harness.start.timeIntervalSince1970)
            #expect(
                json.keys.sorted() == [
                    "changes", "counts", "generatedAt", "problems", "status", "streams", "title", "worstHealth",
                ])
        }
    }

    @Test func readsOneSnapshotOfTheStorePerRender() async throws {
        let store = SnapshotOnlyStore()
        let harness = try Harness(store: store, configuration: Self.configuration(StatusPageConfiguration()))
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(Self.envelope).status == .ok)
            // Every read of a render goes through one snapshot: a read of the store itself would fail the page.
            store.refuseReadsOutsideSnapshots()
            let page = try await Self.anonymous(client, "/status")
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains("payments"))
            #expect(store.snapshotCount == 1)
            let json = try await Self.anonymous(client, "/status.json")
            #expect(json.status == .ok)
            #expect(try json.json.objects("streams").count == 3)
            #expect(store.snapshotCount == 2)
        }
    }

    @Test func drawsABadgeOfAStreamsWorstHealth() async throws {
        try await withStreams { client, _ async throws in
            let response = try await Self.anonymous(client, "/badge/\(encoded(Self.search))?label=%3Cb%3Esearch")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "image/svg+xml; charset=utf-8")
            let svg = response.text
            #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
            #expect(svg.contains(">DEVIATING</text>"))
            #expect(svg.contains("&lt;b&gt;search"))
            #expect(!svg.contains("<b>"))
            let clear = try await Self.anonymous(client, "/badge/\(encoded(Self.batch))")
            #expect(clear.text.contains(">CLEAR</text>") && clear.text.contains(">health</text>"))

            let missing = try await Self.anonymous(client, "/badge/\(encoded("urn:health:shop:nothing"))")
            #expect(missing.status == .notFound)
            #expect(try missing.json.string("_type") == "HealthStreamNotFound")
        }
    }

    @Test func sendsRefreshEvents() async throws {
        let settings = StatusPageConfiguration(
            refreshInterval: .milliseconds(10), eventStreamDuration: .milliseconds(25))
        try await withStreams(settings) { client, harness async throws in
            // The sweeper fires the late data of `search` at +90: let it commit first, so that nothing commits during
            // the stream.
            let settled = ContinuousClock.now + .seconds(30)
            while try await harness.store.clock() != harness.clock.now, ContinuousClock.now < settled {
                try await Task.sleep(for: .milliseconds(5))
            }
            let response = try await Self.anonymous(client, "/status/events")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream; charset=utf-8")
            let text = response.text
            #expect(text.hasPrefix("retry: 1000\n\n"))
            let tokens = text.split(separator: "\n").filter { $0.hasPrefix("data: ") }
            #expect(tokens.count >= 2)
            #expect(Set(tokens).count == 1)  // nothing committed meanwhile
        }
    }

    @Test func isPublicByDefault() async throws {
        try await withStreams { client, _ async throws in
            for path in ["/status", "/status.json", "/badge/\(encoded(Self.batch))"] {
                #expect(try await Self.anonymous(client, path).status == .ok, "\(path)")
            }
        }
    }

    @Test func privateNeedsTheAPIKey() async throws {
        try await withStreams(StatusPageConfiguration(access: .private)) { client, _ async throws in
            for path in ["/status", "/status.json", "/status/events", "/badge/\(encoded(Self.batch))"] {
                #expect(try await Self.anonymous(client, path).status == .unauthorized, "\(path)")
            }
            #expect(try await client.get("/status").status == .ok)
            #expect(try await client.get("/status.json?api_key=\(Harness.key)").status == .ok)
        }
    }

    @Test func offAnswers404() async throws {
        try await withStreams(StatusPageConfiguration(access: .off)) { client, _ async throws in
            for path in ["/status", "/status.json", "/status/events", "/badge/\(encoded(Self.batch))"] {
                #expect(try await client.get(path).status == .notFound, "\(path)")
            }
        }
    }

    @Test func showsOnlyTheStreamsOfItsPrefixesUnderItsTitle() async throws {
        let settings = StatusPageConfiguration(title: "Shop <status>", streamPrefixes: ["urn:health:shop:"])
        try await withStreams(settings) { client, _ async throws in
            let json = try await Self.anonymous(client, "/status.json").json
            #expect(json.string("title") == "Shop <status>")
            #expect(json.objects("streams").map { $0.string("urn") } == [Self.payments, Self.search])
            let html = try await Self.anonymous(client, "/status").text
            #expect(html.contains("<h1>Shop &lt;status&gt;</h1>"))
            #expect(!html.contains(Self.batch))
            #expect(try await Self.anonymous(client, "/badge/\(encoded(Self.batch))").status == .notFound)
        }
    }
}
