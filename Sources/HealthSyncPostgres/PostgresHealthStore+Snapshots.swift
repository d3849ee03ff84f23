import HealthSync
import PostgresNIO

/// Snapshots: several reads of one unchanging state (``HealthSync/HealthStoreSnapshots``).
extension PostgresHealthStore: HealthStoreSnapshots {
    /// Runs `body` with a view of the database as it is now: a `REPEATABLE READ, READ ONLY` transaction exports its
    /// snapshot (`pg_export_snapshot()`) and stays open while `body` runs; every statement of the view runs in a
    /// read transaction of its own that imports it (`SET TRANSACTION SNAPSHOT`), on any connection of the pool, so
    /// the view's reads may run concurrently and all see one state. The view holds one connection for as long as
    /// `body` runs, takes no lock that a writer waits for, and refuses commits.
    /// - Throws: ``HealthSync/StorageError`` when the snapshot cannot be taken, or what `body` throws.
    public func withSnapshot<T: Sendable>(
        _ body: @escaping @Sendable (any HealthStoreQueries) async throws -> T
    ) async throws -> T {
        guard exportedSnapshot == nil else { return try await body(self) }
        let (store, logger) = (self, self.logger)
        return try await connection("taking a snapshot of the database") { connection in
            try await Self.transaction(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", on: connection, logger: logger
            ) { connection in
                let rows = try await connection.rows("SELECT pg_export_snapshot()", logger: logger)
                guard let snapshot = try rows.first?.decode(String.self) else {
                    throw StorageError(code: .failed, message: "exporting a snapshot returned no row")
                }
                var view = store
                view.exportedSnapshot = snapshot
                return try await body(view)
            }
        }
    }
}
