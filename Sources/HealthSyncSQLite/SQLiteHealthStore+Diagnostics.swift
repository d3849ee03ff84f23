internal import GRDB
import HealthSync

/// Introspection of the file, the connection and the query plans, for operations, tests and diagnostics.
extension SQLiteHealthStore {
    /// Checks the database file: `PRAGMA integrity_check` (b-trees, indexes, `NOT NULL` and `CHECK` constraints)
    /// and `PRAGMA foreign_key_check` (rows whose stream or sub-stream is missing).
    ///
    /// - Returns: One line per problem found; empty when the database is intact.
    /// - Throws: ``HealthSync/StorageError``, such as ``HealthSync/StorageError/Code/corrupt`` when the file is
    ///   too damaged to check.
    public func integrityCheck() async throws(StorageError) -> [String] {
        try await read("checking the integrity of the database") { db in
            var problems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
            let orphans = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
            for orphan in orphans {
                let table = try orphan.decode(String.self, forColumn: "table")
                let parent = try orphan.decode(String.self, forColumn: "parent")
                problems.append("a row of \(table) refers to a missing row of \(parent)")
            }
            return problems
        }
    }

    /// `PRAGMA journal_mode`: `wal` for a file, `memory` in memory.
    func journalMode() async throws(StorageError) -> String {
        try await read("reading the journal mode") { db in
            try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
        }
    }

    /// The integer the query `sql` answers first (a `count(*)`, for the tests), or `-1` when it answers no row.
    func count(_ sql: String) async throws(StorageError) -> Int {
        try await read("counting") { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    /// `PRAGMA synchronous` of the writer connection, the one that commits: 2 is FULL, 1 is NORMAL.
    func synchronousLevel() async throws(StorageError) -> Int {
        do {
            return try await writer.writeWithoutTransaction { db in
                try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            }
        } catch {
            throw Self.storageError(error, while: "reading the synchronous setting")
        }
    }

    /// The `detail` lines of `EXPLAIN QUERY PLAN sql`, with its `?` parameters bound to `NULL`.
    func queryPlan(_ sql: String, parameterCount: Int) async throws(StorageError) -> [String] {
        try await read("explaining a query") { db in
            let arguments = StatementArguments(Array(repeating: DatabaseValue.null, count: parameterCount))
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { row in
                try row.decode(String.self, forColumn: "detail")
            }
        }
    }

    /// Runs raw SQL, in one write transaction unless `transaction` is `false` (for pragmas that only work outside
    /// one): for tests that need a database in a state the store never writes.
    func execute(_ sql: String, transaction: Bool = true) async throws(StorageError) {
        defer { cache?.invalidate() }
        guard !transaction else {
            return try await write("executing SQL") { db in try db.execute(sql: sql) }
        }
        do {
            try await writer.writeWithoutTransaction { db in try db.execute(sql: sql) }
        } catch {
            throw Self.storageError(error, while: "executing SQL")
        }
    }
}
