import Foundation
import Synchronization

/// Copies: the whole store read a page at a time, and a load staged beside the store and applied in one step.
extension InMemoryHealthStore: HealthStoreTransfer {
    /// Whether the store holds no stream, event or receipt, and no clock.
    public func isEmpty() -> Bool {
        streamRecords.isEmpty && subStreamRecords.isEmpty && eventLog.isEmpty && receipts.isEmpty
            && processorClock == nil
    }

    /// One page of the receipts, sorted by their UTF-8 bytes.
    public func receipts(after receipt: String?, limit: Int) -> [StoredReceipt] {
        let after = receipt.map { Array($0.utf8) }
        let sorted = receipts.keys.filter { key in
            after.map { $0.lexicographicallyPrecedes(key.utf8) } ?? true
        }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return sorted.prefix(max(1, limit)).map { StoredReceipt(receipt: $0, clock: receipts[$0] ?? nil) }
    }

    /// Runs `body` with a loader that stages what it is given beside the store; when `body` returns, the staged
    /// contents are applied in one step on the actor (nothing is applied when it throws).
    /// - Throws: ``StorageError`` with ``StorageError/Code/conflict`` when the store is not empty, before `body` runs
    ///   or when the load is applied; what `body` throws.
    public nonisolated func load<T: Sendable>(_ body: (any HealthStoreLoader) async throws -> T) async throws -> T {
        guard await isEmpty() else { throw Self.notEmpty }
        let loader = StagingLoader()
        let value = try await body(loader)
        try await apply(loader.staged())
        return value
    }

    private static var notEmpty: StorageError {
        StorageError(code: .conflict, message: "the store is not empty: a copy loads only into an empty store")
    }

    /// Writes `contents` as they are.
    private func apply(_ contents: StoreContents) throws {
        guard isEmpty() else { throw Self.notEmpty }
        for stream in contents.streams { streamRecords[stream.urn] = stream }
        for subStream in contents.subStreams {
            subStreamRecords[subStream.key] = subStream
            subStreamsByURN[subStream.key.urn, default: []].insert(subStream.key.subStreamId)
        }
        for state in contents.checkStates { checkStateRecords[state.key, default: [:]][state.checkStateId] = state }
        for error in contents.errors { errorRecords[error.key.urn, default: [:]][error.key] = error }
        // The log is kept in sequence (commit) order.
        eventLog = contents.events.sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) }
        nextSequence = (eventLog.last?.sequence ?? 0) + 1
        for receipt in contents.receipts { receipts[receipt.receipt] = .some(receipt.clock) }
        processorClock = contents.clock
    }

    /// Collects what a load writes until it is applied.
    private final class StagingLoader: HealthStoreLoader {
        private let contents = Mutex(StoreContents())

        func insert(_ page: StoreContents) {
            contents.withLock { contents in
                contents.streams += page.streams
                contents.subStreams += page.subStreams
                contents.checkStates += page.checkStates
                contents.errors += page.errors
                contents.events += page.events
                contents.receipts += page.receipts
                if let clock = page.clock { contents.clock = max(contents.clock ?? clock, clock) }
            }
        }

        func staged() -> StoreContents { contents.withLock { $0 } }
    }
}
