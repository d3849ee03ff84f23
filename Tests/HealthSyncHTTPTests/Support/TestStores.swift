import Foundation
import HealthSync
import Synchronization

/// A store that forwards to another and fails chosen calls with a ``StorageError``, to test how failures surface.
final class FaultyStore: HealthStoreQueries, HealthStoreRetention {
    private let base: any HealthStoreQueries & HealthStoreRetention
    private let faults = Mutex<(commit: StorageError?, reads: StorageError?, readCount: Int, clock: StorageError?)>(
        (nil, nil, 0, nil))
    private let stateReads = Mutex<StorageError?>(nil)

    init(_ base: any HealthStoreQueries & HealthStoreRetention = InMemoryHealthStore()) {
        self.base = base
    }

    /// Every commit fails with `error` (`nil` heals it).
    func failCommits(with error: StorageError?) {
        faults.withLock { $0.commit = error }
    }

    /// Every `clock()` read fails with `error` (`nil` heals it).
    func failClockReads(with error: StorageError?) {
        faults.withLock { $0.clock = error }
    }

    /// Every read of streams, sub-streams, check states, errors and events fails with `error` (`nil` heals it), as
    /// a store whose disk fails reads does.
    func failStateReads(with error: StorageError?) {
        stateReads.withLock { $0 = error }
    }

    private func checkStateRead() throws {
        if let failure = stateReads.withLock({ $0 }) { throw failure }
    }

    /// The next `count` calls of `nextDeadline()` fail with `error`.
    func failDeadlineReads(_ count: Int, with error: StorageError) {
        faults.withLock {
            $0.reads = error
            $0.readCount = count
        }
    }

    /// A read of streams fails as a state read; a read of due sub-streams alone does not.
    func batchContext(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
        if !requests.isEmpty { try checkStateRead() }
        return try await base.batchContext(of: requests, due: due)
    }
    func subStreams(of urn: String) async throws -> [SubStreamRecord] {
        try checkStateRead()
        return try await base.subStreams(of: urn)
    }
    func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState] {
        try checkStateRead()
        return try await base.checkStates(of: key, ids: ids)
    }
    func checkStates(urn: String?, subStreamId: String?) async throws -> [StoredCheckState] {
        try checkStateRead()
        return try await base.checkStates(urn: urn, subStreamId: subStreamId)
    }
    func streams() async throws -> [StreamSummary] {
        try checkStateRead()
        return try await base.streams()
    }
    func nextDeadline() async throws -> Date? {
        let failure = faults.withLock { faults -> StorageError? in
            guard faults.readCount > 0 else { return nil }
            faults.readCount -= 1
            return faults.reads
        }
        if let failure { throw failure }
        return try await base.nextDeadline()
    }
    func clock() async throws -> Date? {
        if let failure = faults.withLock({ $0.clock }) { throw failure }
        return try await base.clock()
    }
    func hasReceipt(_ receipt: String) async throws -> Bool { try await base.hasReceipt(receipt) }
    func events(_ query: EventQuery) async throws -> [HealthEvent] {
        try checkStateRead()
        return try await base.events(query)
    }
    func commit(_ change: StoreChange) async throws {
        if let failure = faults.withLock({ $0.commit }) { throw failure }
        try await base.commit(change)
    }
    func pruneEvents(before cutoff: Date) async throws -> Int { try await base.pruneEvents(before: cutoff) }
    func pruneReceipts(withPrefix prefix: String, before cutoff: Date) async throws -> Int {
        try await base.pruneReceipts(withPrefix: prefix, before: cutoff)
    }
}

/// A store whose commits wait until the test opens a gate, and which tells the test when a commit arrives: a way
/// to hold requests "in flight" at a known point.
final class GatedStore: HealthStoreQueries, HealthStoreRetention {
    private let base = InMemoryHealthStore()
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    private let arrivals: AsyncStream<Void>
    private let arrived: AsyncStream<Void>.Continuation

    init() {
        (arrivals, arrived) = AsyncStream.makeStream(of: Void.self)
    }

    /// Waits until a commit is waiting at the gate (or went through an open gate).
    func commitArrived() async {
        for await _ in arrivals { return }
    }

    /// Lets every waiting and later commit through.
    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func batchContext(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
        await base.batchContext(of: requests, due: due)
    }
    func subStreams(of urn: String) async throws -> [SubStreamRecord] { await base.subStreams(of: urn) }
    func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState] {
        await base.checkStates(of: key, ids: ids)
    }
    func checkStates(urn: String?, subStreamId: String?) async throws -> [StoredCheckState] {
        await base.checkStates(urn: urn, subStreamId: subStreamId)
    }
    func streams() async throws -> [StreamSummary] { await base.streams() }
    func nextDeadline() async throws -> Date? { await base.nextDeadline() }
    func clock() async throws -> Date? { await base.clock() }
    func hasReceipt(_ receipt: String) async throws -> Bool { await base.hasReceipt(receipt) }
    func events(_ query: EventQuery) async throws -> [HealthEvent] { await base.events(query) }
    func commit(_ change: StoreChange) async throws {
        arrived.yield()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let passes = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if passes { continuation.resume() }
        }
        // As GRDB does: a cancelled task's database work fails.
        try Task.checkCancellation()
        try await base.commit(change)
    }
    func pruneEvents(before cutoff: Date) async throws -> Int { await base.pruneEvents(before: cutoff) }
    func pruneReceipts(withPrefix prefix: String, before cutoff: Date) async throws -> Int {
        await base.pruneReceipts(withPrefix: prefix, before: cutoff)
    }
}

/// An in-memory store that, once told to, refuses every read made outside one of its snapshots
/// (``HealthSync/HealthStoreSnapshots``): a reader that must see one consistent state, such as the status page, still
/// works; one that reads the store piecemeal fails.
final class SnapshotOnlyStore: HealthStoreQueries, HealthStoreSnapshots {
    private let base = InMemoryHealthStore()
    private let refusing = Atomic<Bool>(false)
    private let snapshots = Atomic<Int>(0)

    /// From now on, reads outside a snapshot fail.
    func refuseReadsOutsideSnapshots() { refusing.store(true, ordering: .relaxed) }

    /// How many snapshots were taken.
    var snapshotCount: Int { snapshots.load(ordering: .relaxed) }

    private func read() throws {
        if refusing.load(ordering: .relaxed) {
            throw StorageError(code: .failed, message: "a read outside a snapshot")
        }
    }

    func withSnapshot<T: Sendable>(
        _ body: @escaping @Sendable (any HealthStoreQueries) async throws -> T
    ) async throws -> T {
        snapshots.add(1, ordering: .relaxed)
        return try await base.withSnapshot(body)
    }

    func batchContext(of requests: [ContextRequest], due: DueTimers?) async throws -> BatchContext {
        try read()
        return await base.batchContext(of: requests, due: due)
    }
    func subStreams(of urn: String) async throws -> [SubStreamRecord] {
        try read()
        return await base.subStreams(of: urn)
    }
    func checkStates(of key: StreamKey, ids: [String]?) async throws -> [StoredCheckState] {
        try read()
        return await base.checkStates(of: key, ids: ids)
    }
    func checkStates(urn: String?, subStreamId: String?) async throws -> [StoredCheckState] {
        try read()
        return await base.checkStates(urn: urn, subStreamId: subStreamId)
    }
    func streams() async throws -> [StreamSummary] {
        try read()
        return await base.streams()
    }
    func nextDeadline() async throws -> Date? { await base.nextDeadline() }
    func clock() async throws -> Date? { await base.clock() }
    func hasReceipt(_ receipt: String) async throws -> Bool { await base.hasReceipt(receipt) }
    func events(_ query: EventQuery) async throws -> [HealthEvent] {
        try read()
        return await base.events(query)
    }
    func commit(_ change: StoreChange) async throws { try await base.commit(change) }
}
