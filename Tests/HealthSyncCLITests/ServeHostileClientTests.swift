import ArgumentParser
import Foundation
import HTTPTypes
import HealthSyncHTTP
import HealthSyncTestSupport
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import HealthSyncCLI

/// `serve`'s connection cap against the descriptor limit: checked at start, and a service that recovers on its
/// own after a flood of idle connections.
@Suite struct ServeHostileClientTests {
    static func capturedCap(requested: Int, descriptorLimit: Int?) throws -> (cap: Int?, errors: String) {
        let errors = CapturedOutput()
        let console = Console(output: CapturedOutput(), errors: errors)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            let cap = try ServeCommand.connectionCap(
                requested: requested, descriptorLimit: descriptorLimit, logger: logger, console: console)
            return (cap, errors.text)
        } catch is ExitCode {
            return (nil, errors.text)
        }
    }

    @Test func keepsACapThatLeavesRoomBelowTheDescriptorLimit() throws {
        #expect(try Self.capturedCap(requested: 512, descriptorLimit: 1024).cap == 512)
        #expect(try Self.capturedCap(requested: 512, descriptorLimit: nil).cap == 512)
    }

    @Test func lowersACapThatDoesNotLeaveRoomForTheDatabase() throws {
        let lowered = try Self.capturedCap(requested: 512, descriptorLimit: 256).cap
        #expect(lowered == 256 - ServeCommand.reservedDescriptors)
        #expect(try Self.capturedCap(requested: 1024, descriptorLimit: 1024).cap == 960)
    }

    @Test func refusesToStartWhenTheDescriptorLimitLeavesNoRoom() throws {
        let (cap, errors) = try Self.capturedCap(requested: 512, descriptorLimit: 70)
        #expect(cap == nil)
        #expect(errors.contains("descriptor limit"))
    }

    @Test func parsesTheTimeoutAndConnectionOptions() async throws {
        let defaults = try #require(try await ServeCommandTests.configuration(["--api-key", "k"]).0)
        #expect(defaults.idleTimeout == .seconds(30))
        #expect(defaults.headerTimeout == .seconds(10))
        #expect(defaults.bodyTimeout == .seconds(60))
        #expect(defaults.maximumConnections == 512)
        let set = try #require(
            try await ServeCommandTests.configuration([
                "--api-key", "k", "--idle-timeout", "5", "--header-timeout", "2s", "--body-timeout", "2m",
                "--max-connections", "64",
            ]).0)
        #expect(set.idleTimeout == .seconds(5))
        #expect(set.headerTimeout == .seconds(2))
        #expect(set.bodyTimeout == .seconds(120))
        #expect(set.maximumConnections == 64)
        #expect(throws: (any Error).self) { try ServeCommandTests.parse(["--max-connections", "0"]) }
        #expect(throws: (any Error).self) { try ServeCommandTests.parse(["--idle-timeout", "0"]) }
    }

    /// Under a descriptor limit of 256, 300 idle unauthenticated connections: the cap is lowered at start with a log
    /// line, the connections over it are answered 503 and closed at once, and once the idle ones are closed by the
    /// idle timeout `/healthz` answers again, with no help.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "needs prlimit"))
    func survivesMoreIdleConnectionsThanDescriptorsAndRecoversAlone() async throws {
        let binary = try #require(ReplayCrashTests.healthsyncBinary(), "the healthsync executable is built")
        try await Workspace.with { workspace in
            let server = try await ServeProcess.start(
                binary, database: workspace.database, log: workspace.directory.appendingPathComponent("serve.log"),
                arguments: ["--max-connections", "1000", "--idle-timeout", "2"], descriptorLimit: 256
            )
            defer { server.killNow() }
            #expect(server.logText.contains("lowering the connection cap from 1000 to 192"))

            var idle: [RawConnection] = []
            for _ in 0..<300 { idle.append(try await Self.connect(port: server.port)) }
            // Some of the 300 are over the cap: answered 503 and closed without waiting for the idle timeout.
            var refused = 0
            for connection in idle.suffix(50) {
                let reading = try await connection.readUntilClosed(within: .seconds(1))
                if reading.closed, reading.status == 503 { refused += 1 }
            }
            #expect(refused > 0)

            // The idle timeout closes the rest (all within 30 s, however many are still open); then the service
            // answers again.
            let deadline = ContinuousClock.now + .seconds(30)
            var stillOpen = 0
            for connection in idle.prefix(200) {
                let left = max(deadline - ContinuousClock.now, .milliseconds(100))
                if try await !connection.readUntilClosed(within: left).closed { stillOpen += 1 }
            }
            #expect(stillOpen == 0)
            idle.removeAll()
            var status: HTTPResponse.Status?
            for _ in 0..<100 where status != .ok {
                status = try? await TestClient.withClient(host: "127.0.0.1", port: server.port) { client in
                    try await client.get("/healthz").status
                }
                if status != .ok { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(status == .ok)
            // An envelope is applied too. The last idle connections may still be closing on a loaded machine: a
            // connection refused or closed before the answer is tried again, an answer is taken as it is.
            let envelope = Payloads.snapshotLine(at: 1_700_000_000, states: [Payloads.checkState("disk")])
            var answer: HTTPResponse.Status?
            for _ in 0..<100 where answer == nil {
                answer = try? await ServeProcess.post(envelope, port: server.port).status
                if answer == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(answer == .ok)
            #expect(server.process.isRunning)
        }
    }

    /// A raw connection to `port`; a connection refused (the listen backlog overflows when a loaded machine falls
    /// behind the burst of connects) is tried again for up to 10 s.
    static func connect(port: Int) async throws -> RawConnection {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                return try RawConnection(port: port)
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}
