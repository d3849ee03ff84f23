internal import GRDB
import HealthSync
import Synchronization

extension ContextCache {
    /// Has the cache follow the writer connection's transactions: the changes a transaction wrote
    /// (``ContextCache/follow(_:)``) are applied when it commits, and the cache is emptied when it rolls back.
    ///
    /// One observer for the connection's lifetime, registered when the store opens
    /// (``ContextCache/observe(_:)``). GRDB's `afterNextTransaction` registers an observer for one transaction, and
    /// every observer added or removed makes GRDB drop the cached statements that can delete rows and filter its
    /// statement cache: with one per commit, the check-state delete was compiled again in every commit that deleted
    /// one (Docs/performance.md).
    final class CommitObserver: TransactionObserver, Sendable {
        private let cache: ContextCache

        init(_ cache: ContextCache) { self.cache = cache }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }

        func databaseDidChange(with event: DatabaseEvent) {}

        func databaseDidCommit(_ db: Database) {
            for change in cache.takeFollowed() { cache.apply(change) }
        }

        func databaseDidRollback(_ db: Database) {
            if !cache.takeFollowed().isEmpty { cache.invalidate() }
        }
    }

    /// Registers the observer of the writer connection's transactions, for the connection's lifetime: call it once,
    /// on the writer connection.
    func observe(_ db: Database) {
        db.add(transactionObserver: CommitObserver(self), extent: .databaseLifetime)
    }

    /// Notes changes that the writer connection's current transaction wrote: they are applied to the cache when it
    /// commits, in order, and a rollback empties the cache.
    func follow(_ changes: [StoreChange]) {
        followed.withLock { $0.append(contentsOf: changes) }
    }

    /// The changes followed in the transaction that just ended; none are left.
    private func takeFollowed() -> [StoreChange] {
        followed.withLock { followed in
            defer { followed.removeAll(keepingCapacity: true) }
            return followed
        }
    }
}
