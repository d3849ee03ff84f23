import Foundation
import HealthSync
import HealthSyncHTTP
import HealthSyncSQLite
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A short soak in `swift test` (the long one is `Benchmarks/soak.sh`, Docs/reliability.md): for a bounded time,
/// eight concurrent senders post whole REPEAT_SNAPSHOTS snapshots to 50 streams through the in-process application
/// over a SQLite file, so group commit batches concurrent envelopes. Every answer must be 200, and at the end every
/// stream must hold exactly the check states of the last snapshot it was sent (ids, health, message), with the
/// stream's check-state count agreeing, no open error, and a clean `PRAGMA integrity_check`.
///
/// Nothing is asserted about speed: the time only bounds the run (after at least two rounds).
/// `HEALTHSYNC_SHORT_SOAK_SECONDS` sets it (default 5 s).
@Suite struct ShortSoakTests {
    static let seconds =
        ProcessInfo.processInfo.environment["HEALTHSYNC_SHORT_SOAK_SECONDS"].flatMap(Double.init) ?? 5
    /// Rounds made whatever the time: from the second round on, every post updates and deletes as well as creates
    /// (in the full `swift test` other suites can hold both cores for the whole 5 s).
    static let minimumRounds = 2
    static let senders = 8
    static let streams = 50
    static let checks = 10
    static let healths = ["CLEAR", "DEVIATING", "CRITICAL"]

    static func urn(_ stream: Int) -> String { "urn:health:soak:stream-\(stream)" }

    /// The check states of `stream`'s snapshot in `round`: 8 of 10, which ones moving with the round, every health
    /// and message changing with it, so each post creates, updates and deletes.
    static func snapshot(_ stream: Int, round: Int) -> [CheckStateContent] {
        (0..<checks).filter { ($0 + round) % 5 != 0 }.map { id in
            CheckStateContent(
                id: "check-\(id)", health: healths[(id + round + stream) % 3], message: "round \(round)")
        }
    }

    static func body(_ stream: Int, round: Int) -> String {
        let states = snapshot(stream, round: round).map {
            Payload.checkState($0.id, health: $0.health, message: $0.message)
        }
        return Payload.envelope([Payload.snapshot(urn(stream), repeatInterval: 1800, states: states)])
    }

    /// What the senders saw: the last round each stream got a 200 for, every answer that was not a 200, the posts.
    final class Record: Sendable {
        struct State {
            var rounds: [Int?]
            var failures: [String] = []
            var posts = 0
        }

        let state: Mutex<State>

        init(streams: Int) {
            state = Mutex(State(rounds: Array(repeating: nil, count: streams)))
        }

        func acknowledge(_ stream: Int, round: Int) {
            state.withLock {
                $0.rounds[stream] = round
                $0.posts += 1
            }
        }

        func fail(_ failure: String) {
            state.withLock {
                $0.failures.append(failure)
                $0.posts += 1
            }
        }
    }

    struct CheckStateContent: Hashable {
        var id: String
        var health: String
        var message: String
    }

    @Test func concurrentSnapshotsEndInTheLastSnapshotOfEveryStream() async throws {
        try await RestartTests.withDatabase { path in
            let store = try SQLiteHealthStore(path: path)
            let harness = try Harness(store: store)
            let record = Record(streams: Self.streams)
            let deadline = ContinuousClock.now + .seconds(Self.seconds)

            try await harness.test { client async throws in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for sender in 0..<Self.senders {
                        group.addTask {
                            let owned = Array(stride(from: sender, to: Self.streams, by: Self.senders))
                            var round = 0
                            // Whole rounds over the sender's streams, so every stream gets the same number.
                            repeat {
                                for stream in owned {
                                    let response = try await client.postEnvelope(Self.body(stream, round: round))
                                    guard response.status == .ok else {
                                        record.fail(
                                            "\(Self.urn(stream)) round \(round): \(response.status) \(response.text)")
                                        return
                                    }
                                    record.acknowledge(stream, round: round)
                                }
                                round += 1
                            } while round < Self.minimumRounds || ContinuousClock.now < deadline
                        }
                    }
                    try await group.waitForAll()
                }
            }

            let (rounds, failures, total) = record.state.withLock { ($0.rounds, $0.failures, $0.posts) }
            #expect(failures == [], "every answer is 200")
            let summaries = try await store.streams()
            #expect(summaries.count == Self.streams)
            var stored = 0
            for stream in 0..<Self.streams {
                let urn = Self.urn(stream)
                let round = try #require(rounds[stream], "\(urn) got at least one snapshot")
                let expected = Set(Self.snapshot(stream, round: round))
                let actual = Set(
                    try await store.checkStates(urn: urn, subStreamId: nil).map {
                        CheckStateContent(
                            id: $0.checkStateId, health: $0.checkState.health.rawValue,
                            message: $0.checkState.message ?? "")
                    })
                #expect(actual == expected, "\(urn): the check states of round \(round)")
                let count = summaries.first { $0.urn == urn }?.checkStateCount
                #expect(count == expected.count, "\(urn): the stored count")
                #expect(try await store.errors(of: urn).isEmpty, "\(urn): no open error")
                stored += actual.count
            }
            #expect(stored == Self.streams * 8, "8 of 10 check states in every stream")
            #expect(try await store.integrityCheck().isEmpty, "PRAGMA integrity_check")
            print(
                "short soak: \(total) posts to \(Self.streams) streams in about \(Self.seconds) s, all 200, all exact")
        }
    }
}
