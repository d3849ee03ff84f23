import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// ``HealthSync/PipelinedHealthStore/queueCommit(_:after:)`` writes commits in the order they were queued, each
    /// only after the one before it: a commit that is valid only after its predecessor succeeds. One queued after a
    /// failed commit fails with ``HealthSync/CommitTicket/earlierFailure`` and writes nothing, and so does the one
    /// after it; a commit queued after nothing is written again. Over a store without pipelining, this checks
    /// ``HealthSync/UnpipelinedHealthStore`` over it.
    func writesQueuedCommitsInOrderAndNoneAfterAFailure() async throws {
        let store = Self.pipeline(of: try await makeStore())
        // An insert, then updates that each need the version the one before writes, queued before any ran.
        var first = store.queueCommit(Self.change { $0.savedStreams = [Self.stream(Self.urnA)] }, after: nil)
        for version in Int64(1)...3 {
            var record = Self.stream(Self.urnA)
            record.version = version
            record.createdAt = Self.time(Double(version))
            first = store.queueCommit(Self.change { $0.savedStreams = [record] }, after: first)
        }
        try await first.wait()
        #expect(first.succeeded == true)
        #expect(try await store.stream(Self.urnA)?.version == 4)
        #expect(try await store.stream(Self.urnA)?.createdAt == Self.time(3))

        // A stale update fails; the valid insert queued after it, and the one after that, are not written.
        var stale = Self.stream(Self.urnA)
        stale.version = 1
        let failing = store.queueCommit(Self.change { $0.savedStreams = [stale] }, after: first)
        let next = store.queueCommit(Self.change { $0.savedStreams = [Self.stream(Self.urnB)] }, after: failing)
        let last = store.queueCommit(Self.change { $0.savedStreams = [Self.stream(Self.urnC)] }, after: next)
        for ticket in [failing, next, last] {
            let error = await #expect(throws: StorageError.self) { try await ticket.wait() }
            #expect(error?.code == .conflict)
            #expect(ticket.succeeded == false)
        }
        #expect(try await store.stream(Self.urnB) == nil)
        #expect(try await store.stream(Self.urnC) == nil)
        #expect(try await store.stream(Self.urnA)?.version == 4)

        let again = store.queueCommit(Self.change { $0.savedStreams = [Self.stream(Self.urnB)] }, after: nil)
        try await again.wait()
        #expect(try await store.stream(Self.urnB)?.version == 1)
    }
}
