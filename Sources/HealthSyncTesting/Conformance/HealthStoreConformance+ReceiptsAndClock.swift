import Foundation
import HealthSync
import Testing

extension HealthStoreConformance {
    /// A change whose receipt was committed before fails with ``HealthSync/StorageError/Code/duplicateReceipt``
    /// and writes nothing; other receipts still commit, even in a change that writes nothing else.
    func rejectsDuplicateReceiptAtomically() async throws {
        let store = try await makeStore()
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        try await Self.seed(store, subStreams: [other])
        try await store.commit(
            Self.change {
                $0.events = [HealthEvent(at: Self.time(1), kind: .snapshotStarted, urn: Self.urnA, subStreamId: "x")]
                $0.clock = Self.time(1)
                $0.receipt = "envelope-1"
            })
        #expect(try await store.hasReceipt("envelope-1"))

        var change = Self.payload(touching: other)
        change.receipt = "envelope-1"
        try await Self.expectNothingWritten(
            by: change, to: store, failingWith: .duplicateReceipt, "a repeated receipt", receiptIsNew: false
        )

        try await store.commit(Self.change { $0.receipt = "envelope-2" })
        #expect(try await store.hasReceipt("envelope-2"))
        try await Self.expectNothingWritten(
            by: Self.change { $0.receipt = "envelope-2" }, to: store, failingWith: .duplicateReceipt,
            "a repeated receipt alone", receiptIsNew: false
        )
        #expect(try await store.hasReceipt("envelope-1"))
        #expect(try await store.hasReceipt("envelope-3") == false)
    }

    /// A change with several receipts (a group commit of several envelopes) stores them all, with its clock; one
    /// whose receipts include a stored one, or list one twice, fails with
    /// ``HealthSync/StorageError/Code/duplicateReceipt`` and writes nothing, none of its new receipts either.
    func commitsSeveralReceiptsAtomically() async throws {
        let store = try await makeStore()
        let other = StreamKey(urn: Self.urnA, subStreamId: "x")
        try await Self.seed(store, subStreams: [other])
        try await store.commit(
            Self.change {
                $0.events = [HealthEvent(at: Self.time(1), kind: .snapshotStarted, urn: Self.urnA, subStreamId: "x")]
                $0.clock = Self.time(1)
                $0.receipts = ["batch:1", "batch:2", "batch:3"]
            })
        for receipt in ["batch:1", "batch:2", "batch:3"] {
            #expect(try await store.hasReceipt(receipt), "\(receipt)")
        }
        #expect(try await store.clock() == Self.time(1))

        var change = Self.payload(touching: other)
        change.receipts = ["batch:4", "batch:2", "batch:5"]
        try await Self.expectNothingWritten(
            by: change, to: store, failingWith: .duplicateReceipt, "a stored receipt among new ones")
        var repeated = Self.payload(touching: other)
        repeated.receipts = ["batch:6", "batch:7", "batch:6"]
        try await Self.expectNothingWritten(
            by: repeated, to: store, failingWith: .duplicateReceipt, "a receipt listed twice")
        for receipt in ["batch:4", "batch:5", "batch:6", "batch:7"] {
            #expect(try await store.hasReceipt(receipt) == false, "\(receipt) of a failed commit")
        }

        try await store.commit(Self.change { $0.receipts = ["batch:4", "batch:5"] })
        #expect(try await store.hasReceipt("batch:4"))
        #expect(try await store.hasReceipt("batch:5"))
    }

    /// ``HealthSync/HealthStoreRetention/pruneReceipts(withPrefix:before:)`` deletes exactly the receipts that start
    /// with the prefix and were committed with a clock before the cutoff; a pruned receipt can be committed again.
    /// A store without ``HealthSync/HealthStoreRetention`` has nothing to check here.
    func prunesReceiptsByPrefixAndClock() async throws {
        guard let store = try await makeStore() as? any HealthStoreRetention else { return }
        let receipts: [(String, Double?)] = [
            ("http:old", 10), ("http:", 10), ("http:new", 30), ("http:at-cutoff", 20), ("http:no-clock", nil),
            ("replay:abc:1", 10), ("httpx", 10), ("http", 10),
        ]
        for (receipt, clock) in receipts {
            try await store.commit(
                Self.change {
                    $0.receipt = receipt
                    $0.clock = clock.map(Self.time)
                })
        }

        #expect(try await store.pruneReceipts(withPrefix: "http:", before: Self.time(20)) == 2)
        for (receipt, _) in receipts {
            let pruned = receipt == "http:old" || receipt == "http:"
            #expect(try await store.hasReceipt(receipt) == !pruned, "\(receipt)")
        }
        #expect(try await store.pruneReceipts(withPrefix: "http:", before: Self.time(20)) == 0)
        try await store.commit(Self.change { $0.receipt = "http:old" })
        #expect(try await store.hasReceipt("http:old"))
    }

    /// The stored clock is the maximum of the clocks ever committed; a change without a clock leaves it alone.
    func keepsTheMaximumClock() async throws {
        let store = try await makeStore()
        #expect(try await store.clock() == nil)
        try await store.commit(Self.change { $0.clock = Self.time(5.5) })
        #expect(try await store.clock() == Self.time(5.5))
        try await store.commit(Self.change { $0.clock = Self.time(3) })
        #expect(try await store.clock() == Self.time(5.5))
        try await store.commit(Self.change { $0.receipt = "no clock" })
        #expect(try await store.clock() == Self.time(5.5))
        try await store.commit(Self.change { $0.clock = Self.time(7.25) })
        #expect(try await store.clock() == Self.time(7.25))
        try await store.commit(Self.change { $0.clock = Self.time(7.25) })
        #expect(try await store.clock() == Self.time(7.25))
    }
}
