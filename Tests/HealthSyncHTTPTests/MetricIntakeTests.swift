import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /api/v1/metrics/ingest`: the key in the body or the header, validation, thresholds, the reply and the
/// translation into a check state per thresholded metric plus a live `service` one.
@Suite struct MetricIntakeTests {
    static let path = "/api/v1/metrics/ingest"
    static let urn = "urn:health:metrics:api-gateway"
    /// Kodo's documented request.
    static let documented = """
        {"api_key": "\(Harness.key)", "service": "API Gateway",
         "metrics": {"error_rate": 2.5, "response_time_ms": 245, "cpu_percent": 65, "memory_percent": 78}}
        """

    static func post(
        _ client: any TestClientProtocol, _ body: String, headers: HTTPFields = [.contentType: "application/json"]
    ) async throws -> TestResponse {
        try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func states(_ harness: Harness) async throws -> [String: CheckState] {
        Dictionary(
            uniqueKeysWithValues: try await harness.store.checkStates(of: StreamKey(urn: urn, subStreamId: nil)).map {
                ($0.checkStateId, $0.checkState)
            })
    }

    @Test func theDocumentedRequestGetsTheDocumentedReply() async throws {
        let harness = try Harness()
        try await harness.test { client in
            let response = try await Self.post(client, Self.documented)
            #expect(response.status == .ok, "\(response.text)")
            let json = try response.json
            #expect(json["success"] as? Bool == true)
            #expect(json.string("received_at") == "2023-11-14T22:13:20.000Z")
            #expect(json.string("health_status") == "degraded")
            let alerts = json.objects("alerts")
            #expect(alerts.map { $0.string("metric") } == ["error_rate", "memory_percent"])
            #expect(alerts.map { $0["value"] as? Double } == [2.5, 78])
            #expect(alerts.map { $0["threshold"] as? Double } == [1, 70])
            #expect(alerts.map { $0.string("severity") } == ["degraded", "degraded"])
            #expect(json["warnings"] == nil)
        }
        let states = try await Self.states(harness)
        #expect(states["error_rate"]?.health == .deviating)
        #expect(states["error_rate"]?.message == "degraded: error_rate 2.5 above 1")
        #expect(states["response_time_ms"]?.health == .clear && states["response_time_ms"]?.message == nil)
        #expect(states["cpu_percent"]?.health == .clear)
        #expect(states["memory_percent"]?.health == .deviating)
        #expect(states["service"]?.health == .deviating)
        #expect(states["service"]?.message == "degraded: error_rate, memory_percent")
        #expect(states["service"]?.name == "API Gateway")
        let service = try await harness.store.checkStates(of: StreamKey(urn: Self.urn, subStreamId: nil))
        #expect(service.first { $0.checkStateId == "service" }?.liveness == CheckStateLiveness(interval: 60, grace: 20))
        #expect(service.first { $0.checkStateId == "cpu_percent" }?.liveness == nil)
    }

    @Test func noAlertsIsOperationalWithAnEmptyList() async throws {
        let harness = try Harness()
        try await harness.test { client in
            let response = try await Self.post(
                client, #"{"api_key":"test-key","service":"Billing","metrics":{"cpu_percent":10}}"#)
            let json = try response.json
            #expect(json.string("health_status") == "operational")
            #expect((json["alerts"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func outagesAreCriticalAndKeepTheLevelValueAndThreshold() async throws {
        let harness = try Harness()
        try await harness.test { client in
            let body = #"{"api_key":"test-key","service":"API Gateway","metrics":{"error_rate":60,"cpu_percent":90}}"#
            let json = try await Self.post(client, body).json
            #expect(json.string("health_status") == "major_outage")
            #expect(json.objects("alerts").map { $0["threshold"] as? Double } == [50, 85])
        }
        let states = try await Self.states(harness)
        #expect(states["error_rate"]?.health == .critical)
        #expect(states["error_rate"]?.message == "major_outage: error_rate 60 above 50")
        #expect(states["cpu_percent"]?.message == "partial_outage: cpu_percent 90 above 85")
        #expect(states["service"]?.health == .critical)
    }

    @Test func theErrorRateComesFromTheCountsWhenAbsent() async throws {
        let harness = try Harness()
        try await harness.test { client in
            let body =
                #"{"api_key":"test-key","service":"API Gateway","metrics":{"request_count":200,"error_count":30}}"#
            let json = try await Self.post(client, body).json
            #expect(json.objects("alerts").first?["value"] as? Double == 15)
            #expect(json.string("health_status") == "partial_outage")
        }
        #expect(try await Self.states(harness).keys.sorted() == ["error_rate", "service"])
    }

    @Test func unknownMetricsAreWarnedAboutAndKeptOut() async throws {
        let harness = try Harness()
        try await harness.test { client in
            let body = #"{"api_key":"test-key","service":"API Gateway","metrics":{"queue_depth":7,"cpu_percent":5}}"#
            let json = try await Self.post(client, body).json
            #expect(json["warnings"] as? [String] == ["unknown metric queue_depth was ignored"])
        }
        #expect(try await Self.states(harness).keys.sorted() == ["cpu_percent", "service"])
    }

    @Test func theHeaderCarriesTheKeyToo() async throws {
        let harness = try Harness()
        try await harness.test { client in
            let response = try await Self.post(
                client, #"{"service":"API Gateway","metrics":{}}"#,
                headers: [.contentType: "application/json", .stsAPIKeyForTests: Harness.key])
            #expect(response.status == .ok)
        }
    }

    @Test(arguments: [
        #"{"service":"API Gateway","metrics":{}}"#, #"{"api_key":"wrong","service":"API Gateway","metrics":{}}"#,
        #"{"api_key":7,"service":"x","metrics":{}}"#, "not json",
    ])
    func aMissingOrWrongKeyIs401WithSuccessFalse(body: String) async throws {
        let harness = try Harness()
        try await harness.test { client in
            let response = try await Self.post(client, body)
            #expect(response.status == .unauthorized)
            let json = try response.json
            #expect(json["success"] as? Bool == false)
            #expect(json.string("error")?.isEmpty == false)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    static let badBodies: [(body: String, path: String, reason: String)] = [
        (#"{"metrics":{}}"#, "$.service", "is required"),
        (#"{"service":"!!!","metrics":{}}"#, "$.service", "letter or digit"),
        (#"{"service":"a"}"#, "$.metrics", "is required"),
        (#"{"service":"a","metrics":[]}"#, "$.metrics", "object"),
        (#"{"service":"a","metrics":{"cpu_percent":"high"}}"#, "$.metrics.cpu_percent", "cpu_percent must be a number"),
        (#"{"service":"a","metrics":{"cpu_percent":101}}"#, "$.metrics.cpu_percent", "cpu_percent must be from 0"),
        (#"{"service":"a","metrics":{"error_rate":-1}}"#, "$.metrics.error_rate", "error_rate must be from 0"),
        (#"{"service":"a","metrics":{"response_time_ms":-5}}"#, "$.metrics.response_time_ms", "≥ 0"),
        (#"{"service":"a","metrics":{"request_count":1.5}}"#, "$.metrics.request_count", "whole number"),
        (#"{"service":"a","metrics":{"memory_percent":-1,"cpu_percent":"x"}}"#, "$.metrics.memory_percent", "from 0"),
    ]

    @Test(arguments: badBodies.indices)
    func aBadReportIs400NamingTheMetricAndAppliesNothing(index: Int) async throws {
        let bad = Self.badBodies[index]
        let harness = try Harness()
        try await harness.test { client in
            let response = try await Self.post(
                client, bad.body, headers: [.contentType: "application/json", .stsAPIKeyForTests: Harness.key])
            #expect(response.status == .badRequest)
            let json = try response.json
            #expect(json["success"] as? Bool == false)
            #expect(json.string("path") == bad.path, "\(json)")
            #expect(json.string("reason")?.contains(bad.reason) == true, "\(json)")
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func serviceThresholdsReplaceTheDefaultsTheyGive() async throws {
        var configuration = Harness.configuration()
        configuration.metricReports = MetricTranslation(serviceThresholds: [
            "api gateway": [.errorRate: MetricLevels(degraded: 5)]
        ])
        let harness = try Harness(configuration: configuration)
        try await harness.test { client in
            let json = try await Self.post(client, Self.documented).json
            #expect(json.objects("alerts").map { $0.string("metric") } == ["memory_percent"])
            let worse = try await Self.post(
                client, #"{"api_key":"test-key","service":"API Gateway","metrics":{"error_rate":12}}"#
            ).json
            #expect(worse.objects("alerts").first?["threshold"] as? Double == 10, "the default partial outage")
        }
    }

    @Test func aSilentServiceTurnsCriticalAfterTheIntervalPlusGrace() async throws {
        let harness = try Harness()
        try await harness.test { client in
            _ = try await Self.post(client, Self.documented)
        }
        let start = Harness.start.timeIntervalSince1970
        try await harness.processor.advance(to: Date(timeIntervalSince1970: start + 80))
        #expect(try await Self.states(harness)["service"]?.health == .deviating)
        try await harness.processor.advance(to: Date(timeIntervalSince1970: start + 81))
        let states = try await Self.states(harness)
        #expect(states["service"]?.health == .critical)
        #expect(states["service"]?.message == "no report for 80 s: interval 60 s + 20 s grace")
        #expect(states["cpu_percent"]?.health == .clear, "the metric check states have no liveness")
    }

    @Test(arguments: [
        ("API Gateway", "api-gateway"), ("  --Payments__v2!! ", "payments-v2"), ("ÜberService", "berservice"),
        ("a", "a"), ("***", ""),
    ])
    func slugs(name: String, slug: String) {
        #expect(MetricTranslation.slug(name) == slug)
    }
}
