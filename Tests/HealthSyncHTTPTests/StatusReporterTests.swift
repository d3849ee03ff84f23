import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /v1/report/{service_id}/{node_id}` (Crisp) and `POST /reporter/{service_id}/{node_id}` (Vigil): HTTP Basic
/// with an API key as the token, the body rules, the translation into a live check state per replica.
@Suite struct StatusReporterTests {
    static let urn = "urn:health:reporter:web"
    static let node = StreamKey(urn: urn, subStreamId: "node-1")

    /// Basic credentials with an empty user name, as the Crisp and Vigil reporters send them.
    static func basic(_ token: String, user: String = "") -> String {
        "Basic " + Data("\(user):\(token)".utf8).base64EncodedString()
    }

    static func post(
        _ client: any TestClientProtocol,
        _ path: String,
        _ body: String,
        authorization: String? = basic(Harness.key)
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let authorization { headers[.authorization] = authorization }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func state(_ harness: Harness, _ replica: String) async throws -> StoredCheckState? {
        try await harness.store.checkStates(of: node).first { $0.checkStateId == replica }
    }

    /// The Python Crisp reporter: `replica_id` and `interval` (here a string, as Crisp's documentation shows), a
    /// trailing slash, Basic auth.
    @Test(arguments: ["/v1/report/web/node-1/", "/v1/report/web/node-1"])
    func crispReportCreatesALiveClearCheckState(path: String) async throws {
        let harness = try Harness()
        try await harness.test { client in
            let response = try await Self.post(client, path, #"{"replica_id":"192.168.1.10","interval":"30"}"#)
            #expect(response.status == .ok, "\(response.text)")
            let json = try response.json
            #expect(json.string("health") == "CLEAR")
            #expect(json["appliedAt"] as? Double == Harness.start.timeIntervalSince1970)
        }
        let state = try #require(try await Self.state(harness, "192.168.1.10"))
        #expect(state.checkState.health == .clear && state.checkState.message == nil)
        #expect(state.checkState.name == "replica 192.168.1.10 of node-1")
        #expect(state.checkState.topologyElementIdentifier == "urn:reporter:web:node-1:192.168.1.10")
        #expect(state.liveness == CheckStateLiveness(interval: 30, grace: 20))
        #expect(try await harness.store.stream(Self.urn)?.consistencyModel == .repeatStates)
    }

    /// Vigil's reporter: `replica` and `load`; a cpu load above the threshold makes the replica sick.
    @Test(arguments: ["/reporter/web/node-1", "/reporter/web/node-1/"])
    func vigilReportWithHighLoadIsDeviating(path: String) async throws {
        let harness = try Harness()
        try await harness.test { client in
            let body = #"{"replica":"r1","interval":60,"load":{"cpu":3.5,"ram":0.31}}"#
            let response = try await Self.post(client, path, body)
            #expect(response.status == .ok, "\(response.text)")
            #expect(try response.json.string("health") == "DEVIATING")
        }
        let state = try #require(try await Self.state(harness, "r1"))
        #expect(state.checkState.health == .deviating)
        #expect(state.checkState.message == "cpu load 3.50 above 0.99")
    }

    @Test func ramAboveItsThresholdAndStatedHealthTranslate() async throws {
        var configuration = Harness.configuration()
        configuration.reporters = StatusReportTranslation(cpuSickAbove: 4, ramSickAbove: 0.5, deadGrace: 5)
        let harness = try Harness(configuration: configuration)
        try await harness.test { client in
            _ = try await Self.post(
                client, "/reporter/web/node-1", #"{"replica":"a","interval":10,"load":{"cpu":"3.5","ram":"0.75"}}"#)
            _ = try await Self.post(client, "/reporter/web/node-1", #"{"replica":"b","interval":10,"health":"sick"}"#)
            _ = try await Self.post(client, "/reporter/web/node-1", #"{"replica":"c","interval":10,"health":"dead"}"#)
            _ = try await Self.post(
                client, "/reporter/web/node-1", #"{"replica":"d","interval":10,"health":"healthy","x":[1]}"#)
        }
        let states = Dictionary(
            uniqueKeysWithValues: try await harness.store.checkStates(of: Self.node).map {
                ($0.checkStateId, $0.checkState)
            })
        #expect(states["a"]?.health == .deviating && states["a"]?.message == "ram 0.75 above 0.5")
        #expect(states["b"]?.health == .deviating && states["b"]?.message == "reported sick")
        #expect(states["c"]?.health == .critical && states["c"]?.message == "reported dead")
        #expect(states["d"]?.health == .clear)
        #expect(try await Self.state(harness, "a")?.liveness?.grace == 5)
    }

    /// A replica that stops reporting is CRITICAL after its interval plus the grace, not before, in the store and
    /// the status API; its next report makes it CLEAR again.
    @Test func aSilentReplicaTurnsCriticalAfterIntervalPlusGraceAndClearOnItsNextReport() async throws {
        let harness = try Harness()
        let start = Harness.start.timeIntervalSince1970
        try await harness.test { client in
            _ = try await Self.post(client, "/v1/report/web/node-1/", #"{"replica_id":"r1","interval":60}"#)
            try await harness.processor.advance(to: Date(timeIntervalSince1970: start + 80))
            #expect(try await Self.state(harness, "r1")?.checkState.health == .clear, "80 s is not past the deadline")
            try await harness.processor.advance(to: Date(timeIntervalSince1970: start + 81))
            let silenced = try await client.get(
                "/api/health/checkstates?urn=\(encoded(Self.urn))&health=CRITICAL")
            let entries = try silenced.json.objects("checkStates")
            #expect(entries.map { $0.string("checkStateId") } == ["r1"])
            #expect(entries.first?.string("message") == "no report for 80 s: interval 60 s + 20 s grace")

            harness.clock.advance(by: 200)
            let back = try await Self.post(client, "/v1/report/web/node-1/", #"{"replica_id":"r1","interval":60}"#)
            #expect(back.status == .ok)
        }
        #expect(try await Self.state(harness, "r1")?.checkState.health == .clear)
        let updates = try await harness.store.events(EventQuery(urn: Self.urn)).filter { $0.kind == .checkStateUpdated }
        #expect(updates.map(\.checkState?.health) == [.critical, .clear])
        #expect(updates.first?.detail?.hasPrefix("no report within 80 s") == true)
    }

    @Test func missingOrWrongCredentialsAre401WithABasicChallengeAndApplyNothing() async throws {
        let harness = try Harness()
        let body = #"{"replica_id":"r1","interval":60}"#
        let refused: [String?] = [
            nil, Self.basic("wrong"), "Bearer \(Harness.key)", "Basic !!!not-base64", Self.basic(Harness.key + "x"),
            "Basic " + Data(Harness.key.utf8).base64EncodedString(),
        ]
        try await harness.test { client in
            for authorization in refused {
                let response = try await Self.post(client, "/v1/report/web/node-1/", body, authorization: authorization)
                #expect(response.status == .unauthorized, "\(String(describing: authorization))")
                #expect(response.headers[.wwwAuthenticate] == "Basic realm=\"healthsync\"")
                #expect(try response.json.string("_type") == "Unauthorized")
            }
            // The intake's own key transport is not accepted here.
            let viaHeader = try await client.execute(
                uri: "/reporter/web/node-1", method: .post, headers: [.stsAPIKeyForTests: Harness.key],
                body: ByteBuffer(string: #"{"replica":"r1","interval":60}"#))
            #expect(viaHeader.status == .unauthorized)
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func anyConfiguredKeyIsAToken() async throws {
        let harness = try Harness(configuration: Harness.configuration(apiKeys: ["one", "two"]))
        try await harness.test { client in
            let response = try await Self.post(
                client, "/reporter/web/node-1", #"{"replica":"r1","interval":60}"#,
                authorization: Self.basic("two", user: "ignored"))
            #expect(response.status == .ok)
        }
    }

    /// Each bad body: the JSON path and a reason that names what was expected.
    static let badBodies: [(body: String, path: String, reason: String)] = [
        (#"{"interval":60}"#, "$.replica_id", "is required"),
        (#"{"replica_id":"","interval":60}"#, "$.replica_id", "non-empty string"),
        (#"{"replica_id":7,"interval":60}"#, "$.replica_id", "non-empty string"),
        (#"{"replica_id":"r"}"#, "$.interval", "is required"),
        (#"{"replica_id":"r","interval":0}"#, "$.interval", "from 1 to 86400"),
        (#"{"replica_id":"r","interval":86401}"#, "$.interval", "from 1 to 86400"),
        (#"{"replica_id":"r","interval":"soon"}"#, "$.interval", "a number or a string"),
        (#"{"replica_id":"r","interval":1.5}"#, "$.interval", "whole number"),
        (#"{"replica_id":"r","interval":"nan"}"#, "$.interval", "a number or a string"),
        (#"{"replica_id":"r","interval":60,"load":3}"#, "$.load", "object"),
        (#"{"replica_id":"r","interval":60,"load":{"cpu":-1}}"#, "$.load.cpu", "≥ 0"),
        (#"{"replica_id":"r","interval":60,"load":{"ram":1.5}}"#, "$.load.ram", "from 0 to 1"),
        (#"{"replica_id":"r","interval":60,"load":{"ram":"lots"}}"#, "$.load.ram", "a number"),
        (#"{"replica_id":"r","interval":60,"health":"fine"}"#, "$.health", "\"healthy\", \"sick\" or \"dead\""),
        (#"[1]"#, "$", "JSON object"),
    ]

    @Test(arguments: badBodies.indices)
    func aBadBodyIs400WithItsPathAndReasonAndAppliesNothing(index: Int) async throws {
        let bad = Self.badBodies[index]
        let harness = try Harness()
        try await harness.test { client in
            let response = try await Self.post(client, "/v1/report/web/node-1/", bad.body)
            #expect(response.status == .badRequest, "\(bad.body)")
            let json = try response.json
            #expect(json.string("_type") == "InvalidReport")
            #expect(json.string("code") == "invalidReport")
            #expect(json.string("path") == bad.path, "\(bad.body)")
            #expect(json.string("reason")?.contains(bad.reason) == true, "\(json)")
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    @Test func refusedReportsAreCountedByReason() async throws {
        let harness = try Harness()
        try await harness.test { client in
            _ = try await Self.post(client, "/reporter/web/node-1", #"{"replica":"r","interval":0}"#)
            _ = try await Self.post(client, "/reporter/web/node-1", #"{"replica":"#)
            _ = try await Self.post(
                client, "/reporter/web/node-1", #"{"replica":"r","interval":5}"#, authorization: nil)
            let text = try await client.execute(uri: "/metrics", method: .get).text
            #expect(text.contains(#"healthsync_intake_envelopes_rejected_total{reason="invalid_report"} 1"#), "\(text)")
            #expect(text.contains(#"healthsync_intake_envelopes_rejected_total{reason="malformed_json"} 1"#))
            #expect(text.contains(#"healthsync_intake_envelopes_rejected_total{reason="unauthorized"} 1"#))
        }
    }

    @Test func malformedJSONAndBadPathIdsAre400() async throws {
        let harness = try Harness()
        try await harness.test { client in
            let malformed = try await Self.post(client, "/reporter/web/node-1", #"{"replica":"#)
            #expect(malformed.status == .badRequest)
            #expect(try malformed.json.string("code") == "malformedJSON")
            let spaced = try await Self.post(client, "/reporter/a%20b/node-1", #"{"replica":"r","interval":5}"#)
            #expect(spaced.status == .badRequest)
            #expect(try spaced.json.string("path") == "service_id")
        }
        #expect(try await harness.store.streams().isEmpty)
    }

    /// A reporter's interval may exceed the StackState maximum repeat interval (1800 s): up to a day.
    @Test func anIntervalOfADayIsAccepted() async throws {
        let harness = try Harness()
        try await harness.test { client in
            let response = try await Self.post(client, "/reporter/web/node-1", #"{"replica":"r","interval":86400}"#)
            #expect(response.status == .ok)
        }
        #expect(try await Self.state(harness, "r")?.liveness?.interval == 86_400)
        #expect(try await harness.store.errors(of: Self.urn).isEmpty)
    }

    /// Through a listening server: the clients' bytes over a real connection.
    @Test func theRealClientsShapesOverALiveServer() async throws {
        let harness = try Harness()
        try await harness.api.buildApplication().test(.live) { client in
            let crisp = try await Self.post(
                client, "/v1/report/web/node-1/", #"{"replica_id": "host-a", "interval": 30}"#)
            #expect(crisp.status == .ok)
            let vigil = try await Self.post(
                client, "/reporter/web/node-1",
                #"{"replica": "host-b", "interval": 30, "load": {"cpu": 0.12, "ram": 0.48}}"#)
            #expect(vigil.status == .ok)
        }
        let states = try await harness.store.checkStates(of: Self.node)
        #expect(states.map(\.checkStateId).sorted() == ["host-a", "host-b"], "\(states)")
    }
}
