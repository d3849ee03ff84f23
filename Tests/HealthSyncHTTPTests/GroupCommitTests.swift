import Foundation
import HTTPTypes
import HealthSync
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HealthSyncHTTP

/// The intake's group commit: concurrent requests are applied in batches, each acknowledged with its own result
/// once its batch committed, and a failed batch stores nothing of any of its envelopes.
@Suite struct GroupCommitTests {
    static func urn(_ index: Int) -> String { "urn:health:group:\(index % 8)" }

    /// Envelope `index`: a REPEAT_STATES message with three check states of its own on one of eight streams.
    static func body(_ index: Int) -> String {
        Payload.envelope([
            Payload.repeatStates(
                urn(index), states: (0..<3).map { Payload.checkState("e\(index)-\($0)", health: "Deviating") }
            )
        ])
    }

    @Test func concurrentRequestsAreAllAcknowledgedWithTheirOwnResultsAndAllStored() async throws {
        let store = GatedStore()
        let harness = try Harness(store: store)
        let count = 40
        let statuses = try await harness.test { client async throws -> [HTTPResponse.Status] in
            try await withThrowingTaskGroup(of: (HTTPResponse.Status, Int?).self) { requests in
                for index in 0..<count {
                    requests.addTask {
                        let response = try await client.postEnvelope(Self.body(index))
                        return (response.status, try response.json.object("checkStates")?.int("created"))
                    }
                }
                // The first batch is held at the store's gate while the other requests queue behind it.
                await store.commitArrived()
                store.open()
                var statuses: [HTTPResponse.Status] = []
                for try await (status, created) in requests {
                    statuses.append(status)
                    #expect(created == 3, "each answer carries its own envelope's counts")
                }
                return statuses
            }
        }
        #expect(statuses.count == count)
        #expect(statuses.allSatisfy { $0 == .ok })
        let stored = try await store.allCheckStates()
        #expect(stored.count == 3 * count)
        #expect(Set(stored.map(\.checkStateId)).count == 3 * count)
        #expect(try await store.streams().map(\.checkStateCount) == Array(repeating: 3 * count / 8, count: 8))
    }

    @Test func aFailingCommitFailsEveryRequestOfTheBatchAndStoresNothing() async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        store.failCommits(with: StorageError(code: .full, message: "database or disk is full"))
        let count = 12
        let statuses = try await harness.test { client async throws -> [HTTPResponse.Status] in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { requests in
                for index in 0..<count {
                    requests.addTask { try await client.postEnvelope(Self.body(index)).status }
                }
                var statuses: [HTTPResponse.Status] = []
                for try await status in requests { statuses.append(status) }
                return statuses
            }
        }
        #expect(statuses == Array(repeating: .serviceUnavailable, count: count))
        #expect(try await store.streams().isEmpty)
        #expect(try await store.allCheckStates().isEmpty)
        #expect(try await store.events(EventQuery()).isEmpty)

        store.failCommits(with: nil)
        try await harness.test { client async throws in
            #expect(try await client.postEnvelope(Self.body(0)).status == .ok)
        }
        #expect(try await store.allCheckStates().count == 3)
    }

    @Test func aBatchWhoseCommitFailsStoresNoneOfItsEnvelopes() async throws {
        let store = FaultyStore()
        let harness = try Harness(store: store)
        let decoder = EnvelopeDecoder()
        let entries = try (0..<5).map { index in
            HealthProcessor.BatchEntry(
                try decoder.decode(Array(Self.body(index).utf8)), at: Harness.start.addingTimeInterval(Double(index))
            )
        }
        store.failCommits(with: StorageError(code: .full, message: "database or disk is full"))
        await #expect(throws: StorageError.self) { try await harness.processor.apply(batch: entries) }
        #expect(try await store.streams().isEmpty)
        #expect(try await store.events(EventQuery()).isEmpty)
        #expect(try await store.clock() == nil)

        store.failCommits(with: nil)
        let results = try await harness.processor.apply(batch: entries)
        #expect(results.map(\.counts.created) == Array(repeating: 3, count: 5))
        #expect(results.map { $0.appliedAt } == entries.map(\.now))
        #expect(try await store.allCheckStates().count == 15)
    }

    @Test func aCancelledLeaderDoesNotFailTheEnvelopesOfItsBatch() async throws {
        let store = GatedStore()
        let processor = HealthProcessor(store: store, logger: Harness.logger)
        let batcher = IntakeBatcher(processor: processor, maximumCheckStates: 10_000)
        let decoder = EnvelopeDecoder()
        func entry(_ index: Int) throws -> HealthProcessor.BatchEntry {
            HealthProcessor.BatchEntry(try decoder.decode(Array(Self.body(index).utf8)), at: Harness.start)
        }
        func waitUntil(waiting count: Int) async {
            while batcher.waitingCount < count { await Task.yield() }
        }
        // A first batch holds the gate; the next two requests queue behind it and form the next batch, led by the
        // first of them, whose client goes away (its task is cancelled) before it leads.
        let (first, leader, follower) = (try entry(0), try entry(1), try entry(2))
        let holding = Task { try await batcher.apply(first) }
        await store.commitArrived()
        let cancelled = Task { try await batcher.apply(leader) }
        await waitUntil(waiting: 1)
        let waiting = Task { try await batcher.apply(follower) }
        await waitUntil(waiting: 2)
        cancelled.cancel()
        store.open()

        #expect(try await holding.value.counts.created == 3)
        #expect(try await waiting.value.counts.created == 3, "the follower's envelope is committed")
        #expect(try await cancelled.value.counts.created == 3, "the batch ran to its commit")
        #expect(try await store.allCheckStates().count == 9)
    }
}
