import Foundation
import HTTPTypes
import HealthSync
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import HealthSyncHTTP

/// Clients that hold connections without finishing requests, send broken framing or too many connections, against
/// a real socket on 127.0.0.1 with small timeouts. Each test ends its connections and its server.
@Suite struct HostileClientTests {
    /// The test configuration with the given timeouts (long ones stay out of the way) and connection cap.
    static func configuration(
        idle: Duration = .seconds(60),
        header: Duration = .seconds(60),
        body: Duration = .seconds(60),
        maximumConnections: Int = 512,
        maximumBodyBytes: Int = 8 << 20
    ) -> HealthSyncHTTPConfiguration {
        var configuration = Harness.configuration(maximumBodyBytes: maximumBodyBytes)
        configuration.idleTimeout = idle
        configuration.headerTimeout = header
        configuration.bodyTimeout = body
        configuration.maximumConnections = maximumConnections
        return configuration
    }

    static let envelope = Payload.envelope([
        Payload.snapshot("urn:health:hostile:one", states: [Payload.checkState("disk", health: "critical")])
    ])

    /// A request head for the intake with the test key and `fields` (each `name: value`).
    static func intakeHead(_ fields: [String], path: String = intakePath) -> String {
        (["POST \(path) HTTP/1.1", "host: 127.0.0.1", "content-type: application/json"] + fields)
            .joined(separator: "\r\n") + "\r\n\r\n"
    }

    // MARK: Timeouts

    @Test func closesAnIdleConnectionAfterTheIdleTimeout() async throws {
        let harness = try Harness(configuration: Self.configuration(idle: .milliseconds(300)))
        try await LiveServerTests.serving(harness) { port, _ in
            let connection = try RawConnection(port: port)
            let reading = try await connection.readUntilClosed()
            #expect(reading.closed)
            #expect(reading.text.isEmpty, "nothing was asked, nothing is answered")
        }
    }

    /// Requests 100 ms apart against a 60 s idle timeout: the margin is wide, so that a loaded machine (a parallel
    /// test run has held every test of this suite for 18 s, and a 10 s timeout once closed this connection between
    /// two requests) does not close the connection between them.
    @Test func keepsAConnectionAliveBetweenRequestsShorterThanTheIdleTimeout() async throws {
        let harness = try Harness(configuration: Self.configuration(idle: .seconds(60)))
        try await LiveServerTests.serving(harness) { port, _ in
            let statuses = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                var statuses: [HTTPResponse.Status] = []
                for _ in 0..<3 {
                    statuses.append(try await client.get("/healthz").status)
                    try await Task.sleep(for: .milliseconds(100))
                }
                return statuses
            }
            #expect(statuses == [.ok, .ok, .ok])
        }
    }

    /// A slowloris: the head is never finished, though bytes keep the connection from being idle.
    @Test func closesAConnectionWhoseHeadIsNotFinishedInTime() async throws {
        let harness = try Harness(configuration: Self.configuration(idle: .seconds(60), header: .milliseconds(300)))
        try await LiveServerTests.serving(harness) { port, _ in
            let connection = try RawConnection(port: port)
            try await connection.send("POST \(intakePath) HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            let reading = try await connection.readUntilClosed()
            #expect(reading.closed)
        }
    }

    @Test func dropsAHalfSentBodyAfterTheBodyTimeout() async throws {
        let harness = try Harness(configuration: Self.configuration(body: .milliseconds(300)))
        try await LiveServerTests.serving(harness) { port, _ in
            let connection = try RawConnection(port: port)
            let body = Array(Self.envelope.utf8)
            try await connection.send(Self.intakeHead(["content-length: \(body.count)"]))
            try await connection.send(Array(body.prefix(body.count / 2)))
            let reading = try await connection.readUntilClosed()
            #expect(reading.closed)
            #expect(reading.status == nil || reading.status == 400)
        }
        #expect(try await harness.store.allCheckStates().isEmpty)
    }

    /// A chunk size of 2^64 is broken framing: answered 400, or closed by the body timeout, never held.
    @Test func doesNotHoldAChunkOfTwoToTheSixtyFourBytes() async throws {
        let harness = try Harness(configuration: Self.configuration(body: .seconds(2)))
        try await LiveServerTests.serving(harness) { port, _ in
            let connection = try RawConnection(port: port)
            try await connection.send(Self.intakeHead(["transfer-encoding: chunked"]) + "10000000000000000\r\n{")
            let reading = try await connection.readUntilClosed()
            #expect(reading.closed)
            #expect(reading.status == nil || reading.status == 400)
        }
    }

    // MARK: Connection cap

    /// Two holders fill a cap of two; a third connection is refused 503; once the idle timeout closes the holders, the
    /// service takes connections again. A machine stalled past the idle timeout between the holders' answers and the
    /// third connection (a loaded parallel run has held tests for seconds) closes the holders too early for the refusal
    /// to be seen: that round proves nothing and is run again, up to five times. The stall is timed from before the
    /// holders asked, the earliest their idle time can start: timed from when the test had read their answers, a stall
    /// before that read went unseen (a CI run failed so).
    @Test func refusesAConnectionOverTheCapAndResumesOnceIdleOnesAreClosed() async throws {
        let idleTimeout = Duration.seconds(2)
        let harness = try Harness(configuration: Self.configuration(idle: idleTimeout, maximumConnections: 2))
        try await LiveServerTests.serving(harness) { port, _ in
            var refusedStatus: Int?
            for round in 1...5 {
                // Two connections that asked once and then hold on: both are admitted.
                let asked = ContinuousClock.now
                var idle: [RawConnection] = []
                for _ in 0..<2 {
                    let connection = try RawConnection(port: port)
                    try await connection.send("GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
                    idle.append(connection)
                }
                for connection in idle {
                    var answer = ""
                    for _ in 0..<500 where !answer.contains("\r\n\r\n") {
                        answer += connection.readAvailable()
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    #expect(answer.hasPrefix("HTTP/1.1 200"))
                }

                // A third one is answered 503 and closed at once, unread.
                let excess = try RawConnection(port: port)
                let refused = try await excess.readUntilClosed(within: .seconds(5))
                refusedStatus = refused.status
                let stalled = ContinuousClock.now - asked >= idleTimeout

                // The idle ones are closed by the idle timeout.
                for connection in idle {
                    #expect(try await connection.readUntilClosed().closed)
                }
                // Closed with nothing read: seen on CI, not explained. A reset that overtook the 503 was one guess; the
                // likelier cause was tests blocking the cooperative pool the server runs on (no longer done, see
                // ProcessExit). That round proves nothing either.
                let unread = refused.closed && refused.text.isEmpty
                if refused.status == 503 || (!stalled && !unread) {
                    #expect(refused.closed)
                    break
                }
                Harness.logger.notice("cap test: round \(round) stalled past the idle timeout, running it again")
            }
            #expect(refusedStatus == 503)

            // Then the service takes connections again.
            var status: HTTPResponse.Status?
            for _ in 0..<100 where status != .ok {
                status = try? await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                    try await client.get("/healthz").status
                }
                if status != .ok { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(status == .ok)
            #expect(harness.api.connections.count <= 1)
        }
    }

    // MARK: Broken bodies

    @Test func answersABodyCutShortWith400AndCountsIt() async throws {
        let harness = try Harness()
        try await LiveServerTests.serving(harness) { port, _ in
            let connection = try RawConnection(port: port)
            let body = Array(Self.envelope.utf8)
            try await connection.send(Self.intakeHead(["content-length: \(body.count)"]))
            try await connection.send(Array(body.prefix(10)))
            connection.shutdownWrite()
            let reading = try await connection.readUntilClosed()
            #expect(reading.status == 400)
            #expect(reading.text.contains("\"_type\":\"InvalidBody\""))
        }
        let metrics = String(decoding: harness.metrics.render(), as: UTF8.self)
        #expect(metrics.contains("healthsync_intake_envelopes_rejected_total{reason=\"invalid_body\"} 1"))
        #expect(try await harness.store.allCheckStates().isEmpty)
    }

    @Test func answersAMalformedChunkedBodyWith400AndCountsIt() async throws {
        let harness = try Harness()
        try await LiveServerTests.serving(harness) { port, _ in
            let connection = try RawConnection(port: port)
            try await connection.send(Self.intakeHead(["transfer-encoding: chunked"]) + "5\r\n{\"a\":\r\nzz\r\n")
            let reading = try await connection.readUntilClosed()
            #expect(reading.status == 400)
            #expect(reading.text.contains("\"_type\":\"InvalidBody\""))
            #expect(reading.closed)
        }
        let metrics = String(decoding: harness.metrics.render(), as: UTF8.self)
        #expect(metrics.contains("healthsync_intake_envelopes_rejected_total{reason=\"invalid_body\"} 1"))
    }

    // MARK: Early answers

    /// The refusals answered before the body is read.
    enum EarlyRefusal: String, CaseIterable, CustomTestStringConvertible {
        case unauthorized, tooLarge, unsupportedMediaType

        var testDescription: String { rawValue }

        var status: Int {
            switch self {
            case .unauthorized: 401
            case .tooLarge: 413
            case .unsupportedMediaType: 415
            }
        }

        /// The head of a request with a body of `length` bytes that is refused for this reason.
        func head(length: Int) -> String {
            let fields = ["content-length: \(length)", "connection: close"]
            switch self {
            case .unauthorized:
                return HostileClientTests.intakeHead(fields, path: "/stsAgent/intake?api_key=wrong")
            case .tooLarge:
                return HostileClientTests.intakeHead(fields)
            case .unsupportedMediaType:
                return HostileClientTests.intakeHead(fields).replacingOccurrences(
                    of: "content-type: application/json", with: "content-type: text/plain")
            }
        }
    }

    /// A client that writes its whole body before it reads gets the early answer and the end of the connection,
    /// rather than a connection that stops reading and never closes.
    @Test(arguments: EarlyRefusal.allCases)
    func answersAnEarlyRefusalThenClosesWhileTheClientStillWrites(_ refusal: EarlyRefusal) async throws {
        let harness = try Harness(configuration: Self.configuration(maximumBodyBytes: 64 * 1024))
        try await LiveServerTests.serving(harness) { port, _ in
            let connection = try RawConnection(port: port)
            let body = [UInt8](repeating: UInt8(ascii: " "), count: 4 << 20)
            try await connection.send(refusal.head(length: body.count))
            try await connection.send(body)
            let reading = try await connection.readUntilClosed()
            #expect(reading.status == refusal.status)
            #expect(reading.text.lowercased().contains("connection: close"))
            #expect(reading.closed)
        }
    }
}
