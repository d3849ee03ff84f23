import Foundation
import HealthSync
import HealthSyncHTTP
import HealthSyncSQLite
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct RestartTests {
    static let snapshots = "urn:health:sourceId:snapshots"
    static let states = "urn:health:sourceId:states"

    /// A database file in a fresh directory, removed afterwards.
    static func withDatabase(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("healthsync-http-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(directory.appendingPathComponent("health.sqlite").path)
    }

    @Test func keepsAnOpenSnapshotAndFiresAnExpiryThatFellDueWhileDown() async throws {
        try await Self.withDatabase { path in
            // First run, at T0: a complete snapshot {a, b, c}, then the next one opens with a (repeat 300 s:
            // stopped automatically at +600 s); a REPEAT_STATES check state expires at +30 s.
            let first = try Harness(store: try SQLiteHealthStore(path: path))
            try await first.test { client async throws in
                let complete = Payload.envelope([
                    Payload.snapshot(
                        Self.snapshots, repeatInterval: 300,
                        states: [Payload.checkState("a"), Payload.checkState("b"), Payload.checkState("c")]
                    )
                ])
                #expect(try await client.postEnvelope(complete).status == .ok)
                let body = Payload.envelope([
                    Payload.snapshot(
                        Self.snapshots, repeatInterval: 300, stop: false, states: [Payload.checkState("a")]),
                    Payload.repeatStates(
                        Self.states, repeatInterval: 10, expiryInterval: 30, states: [Payload.checkState("ping")]),
                ])
                #expect(try await client.postEnvelope(body).status == .ok)
            }

            // Second run, on the same file, 100 s later: the expiry at +30 s fell due while the service was down.
            let second = try Harness(
                store: try SQLiteHealthStore(path: path), at: Harness.start.addingTimeInterval(100))
            try await second.test { client async throws in
                // The start-up sweep runs before the sweeper first sleeps.
                _ = await second.sleepClock.nextSleep()
                let remaining = try await client.get("/api/health/checkstates").json.objects("checkStates")
                #expect(remaining.map { $0.string("checkStateId") } == ["a", "b", "c"], "ping expired")

                let status = try await client.get(
                    "/api/synchronization/health/streams/\(encoded(Self.states))/status"
                ).json
                let expired = try #require(status.objects("globalErrors").first)
                #expect(expired.string("errorCode") == "SubStreamExpired")
                #expect(expired["firstSeenAt"] as? Double == Harness.start.addingTimeInterval(30).timeIntervalSince1970)

                // The snapshot opened before the restart is still open, and remembers that it saw a: its stop, with
                // b, deletes c only.
                let stop = Payload.envelope([
                    Payload.snapshot(Self.snapshots, start: false, states: [Payload.checkState("b")])
                ])
                let json = try await client.postEnvelope(stop).json
                #expect(json.object("checkStates")?.int("deleted") == 1)
            }
            let store = try SQLiteHealthStore(path: path)
            #expect(try await store.allCheckStates().map(\.checkStateId) == ["a", "b"])
            #expect(try await store.errors(of: Self.snapshots).isEmpty, "a clean snapshot across the restart")
        }
    }
}
