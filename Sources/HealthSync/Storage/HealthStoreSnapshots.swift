/// A store that can show several reads one consistent state: a view of the store as it was when the view was taken,
/// which commits made meanwhile do not change.
///
/// A capability, not a requirement of ``HealthStore``: a reader that needs several listings to agree with each other
/// (the status page: streams, their counts, check states and recent events) looks for it with
/// `as? any HealthStoreSnapshots` and otherwise reads the store itself, one transaction per read. All three shipped
/// stores adopt it: the in-memory store copies its state, the SQLite store reads a WAL snapshot, the PostgreSQL
/// store exports a transaction's snapshot to the view's reads.
///
/// ```swift
/// if let snapshots = store as? any HealthStoreSnapshots {
///     let (streams, states) = try await snapshots.withSnapshot { view in
///         (try await view.streams(), try await view.allCheckStates())  // one state: the counts match
///     }
/// }
/// ```
public protocol HealthStoreSnapshots: HealthStoreQueries {
    /// Runs `body` with a read-only view of the store as it is now.
    ///
    /// Every read of the view sees the same committed state, whatever is committed meanwhile; the view never holds
    /// the writer, so commits go on while `body` runs. The view refuses commits with ``StorageError/Code/readOnly``,
    /// and is not to be used after `body` returned.
    /// - Throws: ``StorageError`` when the snapshot cannot be taken, or what `body` throws.
    func withSnapshot<T: Sendable>(
        _ body: @escaping @Sendable (any HealthStoreQueries) async throws -> T
    ) async throws -> T
}

extension HealthStoreQueries {
    /// Runs `body` on one consistent view of the store when it can show one (``HealthStoreSnapshots``), otherwise on
    /// the store itself.
    /// - Throws: ``StorageError``, or what `body` throws.
    public func withConsistentReads<T: Sendable>(
        _ body: @escaping @Sendable (any HealthStoreQueries) async throws -> T
    ) async throws -> T {
        if let snapshots = self as? any HealthStoreSnapshots {
            return try await snapshots.withSnapshot(body)
        }
        return try await body(self)
    }
}
