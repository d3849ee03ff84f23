import Foundation
import HealthSync
import HealthSyncTestSupport
import PostgresNIO
import Testing

@testable import HealthSyncPostgres

/// ``PostgresServerClock``: one clock for every replica of a database, the server's, whatever the machines' clocks say.
@Suite(.enabled(if: PostgresTestDatabase.isEnabled, PostgresTestDatabase.skipReason))
struct PostgresServerClockTests {
    /// A machine clock an hour ahead of the truth: a replica whose NTP failed.
    struct FastMachineClock: HealthClock {
        var now: Date { Date().addingTimeInterval(3_600) }
    }

    /// The server's time, read in a statement of its own.
    static func serverTime(of store: PostgresHealthStore) async throws -> Date {
        let rows = try await store.connection("reading the time") { connection in
            try await connection.rows(
                "SELECT extract(epoch FROM clock_timestamp())::double precision", logger: PostgresTestDatabase.logger
            ).map { try $0.decode(Double.self) }
        }
        let seconds = try #require(rows.first)
        return Date(timeIntervalSince1970: seconds)
    }

    @Test func followsTheServersClockNotTheMachines() async throws {
        let store = try PostgresTestDatabase.makeStore()
        let clock = PostgresServerClock(store: store, fallback: FastMachineClock(), logger: PostgresTestDatabase.logger)
        // Before its first sample the clock can only say what the machine says.
        #expect(clock.now > Date().addingTimeInterval(3_000))
        #expect(clock.lastSample == nil)
        // The store's first statement creates its schema, behind every other suite's on the shared test server (CI
        // once took 84 s for it): done first, the sample's round trip is one query's.
        _ = try await Self.serverTime(of: store)

        let sample = try await clock.synchronize()
        let reading = clock.now
        let after = try await Self.serverTime(of: store)

        #expect(abs(sample.offset + 3_600) < 60, "the machine is an hour ahead of the server: \(sample.offset)")
        #expect(sample.roundTrip < .seconds(60))
        // Never ahead of the server (a timer cannot fire early), and no more than a round trip behind it.
        #expect(reading <= after)
        #expect(after.timeIntervalSince(reading) < 60)
        #expect(clock.lastSample == sample)
    }

    @Test func neverRunsBackwardsAcrossSamples() async throws {
        let store = try PostgresTestDatabase.makeStore()
        let clock = PostgresServerClock(store: store, logger: PostgresTestDatabase.logger)
        var previous = Date.distantPast
        for _ in 0..<20 {
            try await clock.synchronize()
            for _ in 0..<5 {
                let reading = clock.now
                #expect(reading >= previous)
                previous = reading
            }
        }
    }

    @Test func resamplesWhileItRunsAsAService() async throws {
        let store = try PostgresTestDatabase.makeStore()
        let clock = PostgresServerClock(store: store, interval: .milliseconds(20), logger: PostgresTestDatabase.logger)
        _ = try await Self.serverTime(of: store)  // the schema, created before the clock runs (as above)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.run() }
            var samples: [PostgresServerClock.Sample] = []
            // A generous bound: the loop ends at the third sample, and only a clock that never samples waits it out.
            // CI runs every suite at once on two cores, where 60 s once passed without a sample.
            let deadline = ContinuousClock.now + .seconds(300)
            while samples.count < 3, ContinuousClock.now < deadline {
                if let sample = clock.lastSample, samples.last != sample { samples.append(sample) }
                try await Task.sleep(for: .milliseconds(5))
            }
            group.cancelAll()
            #expect(samples.count == 3)
            #expect(zip(samples, samples.dropFirst()).allSatisfy { $0.received < $1.received })
        }
    }

    @Test func aReplicaOnAFastMachineFiresNoTimerBeforeTheServersDeadline() async throws {
        let store = try PostgresTestDatabase.makeStore()
        let fast = PostgresServerClock(store: store, fallback: FastMachineClock(), logger: PostgresTestDatabase.logger)
        try await fast.synchronize()
        let processor = HealthProcessor(store: store)
        // A sub-stream that promised a snapshot every 10 minutes, last seen at the server's time now.
        let start = try await Self.serverTime(of: store)
        let urn = "urn:health:test:server-clock"
        let envelope = try EnvelopeDecoder().decode(
            Data(
                """
                {"collection_timestamp": \(Int(start.timeIntervalSince1970)), "internalHostname": "h",
                 "health": [{"stream": {"urn": "\(urn)"}, "start_snapshot": {"repeat_interval_s": 600},
                   "check_states": [{"checkStateId": "a", "name": "A", "health": "CLEAR",
                     "topologyElementIdentifier": "e"}],
                   "stop_snapshot": {}}]}
                """.utf8))
        _ = try await processor.apply(envelope, at: start)
        // The machine's clock says the deadline passed long ago; the server's says it has not.
        let swept = try await processor.advance(to: fast.now)
        #expect(swept.timersFired == 0)
        #expect(try await store.errors(of: urn).isEmpty)
        let clock = try #require(try await processor.clock())
        #expect(clock <= (try await Self.serverTime(of: store)))
    }
}
