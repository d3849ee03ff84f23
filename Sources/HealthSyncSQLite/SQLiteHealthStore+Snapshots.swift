internal import GRDB
import HealthSync

/// Snapshots: several reads of one unchanging state (``HealthSync/HealthStoreSnapshots``).
extension SQLiteHealthStore: HealthStoreSnapshots {
    /// Runs `body` with a view of the database as it is now, while the writer goes on committing:
    /// - on a file, GRDB's `DatabaseSnapshot`: a connection of its own that holds one read transaction open on the
    ///   WAL while `body` runs, so that every read of the view sees one state; it closes with the last copy of the
    ///   view;
    /// - in memory (``inMemory(contextCacheCapacity:)``, for tests), a copy of the database (SQLite's backup).
    ///
    /// The view refuses commits. A store opened read-only (one connection, no WAL snapshot to take) runs `body` on
    /// itself: its reads are then separate transactions, which only another process's commits can set apart.
    /// - Throws: ``HealthSync/StorageError`` when the snapshot cannot be taken, or what `body` throws.
    public func withSnapshot<T: Sendable>(
        _ body: @escaping @Sendable (any HealthStoreQueries) async throws -> T
    ) async throws -> T {
        guard snapshot == nil else { return try await body(self) }
        var view = self
        do {
            if let pool = writer as? DatabasePool {
                view.snapshot = try pool.makeSnapshot()
            } else if files == nil {
                let copy = try DatabaseQueue(configuration: Self.configuration())
                try writer.backup(to: copy)
                view.snapshot = copy
            } else {
                return try await body(self)
            }
        } catch {
            throw Self.storageError(error, while: "taking a snapshot of the database")
        }
        view.cache = nil
        return try await body(view)
    }

    /// What a write into a snapshot's view fails with.
    static let snapshotIsReadOnly = StorageError(
        code: .readOnly, message: "a snapshot of the database cannot be written")
}
