import Foundation
internal import GRDB
import HealthSync

extension SQLiteHealthStore {
    /// One page of events, read in the order of `eventRecord`'s primary key (time, then sequence): the
    /// page, never the whole record, is in memory, however many events share one instant.
    ///
    /// Oldest first, as ``events(_:)``; the query's own `limit` is ignored.
    /// - Throws: ``HealthSync/StorageError``.
    public func events(
        _ query: EventQuery,
        after position: EventPosition?,
        limit: Int
    ) async throws(StorageError) -> [HealthEvent] {
        try await read("reading a page of events") { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let urn = query.urn {
                conditions.append("urn = ?")
                arguments += [urn]
            }
            if let subStreamId = query.subStreamId {
                conditions.append("subStreamId = ?")
                arguments += [subStreamId]
            }
            if let checkStateId = query.checkStateId {
                conditions.append("checkStateId = ?")
                arguments += [checkStateId]
            }
            if let since = query.since {
                conditions.append("at >= ?")
                arguments += [since.storedValue]
            }
            if let until = query.until {
                conditions.append("at <= ?")
                arguments += [until.storedValue]
            }
            if let position {
                // `at >= ?` lets SQLite seek in the index; the rest cuts the instant of the position.
                conditions.append("at >= ? AND (at > ? OR sequence > ?)")
                arguments += [position.at.storedValue, position.at.storedValue, position.sequence]
            }
            arguments += [max(1, limit)]
            let sql =
                "SELECT \(Self.eventColumns) FROM event\(Self.whereClause(conditions)) ORDER BY at, sequence LIMIT ?"
            return try Self.fetch(db.cachedStatement(sql: sql), arguments, Self.healthEvent)
        }
    }
}

extension SQLiteHealthStore {
    /// The open errors of every stream in one read transaction on a reader connection (beside the writer, past the
    /// context cache), sorted by URN, then by ``HealthSync/ErrorKey``.
    /// - Throws: ``HealthSync/StorageError``.
    public func openErrors() async throws(StorageError) -> [ErrorRecord] {
        try await read("reading the open errors") { db in
            let statement = try db.cachedStatement(
                sql: "SELECT \(Self.errorColumns) FROM streamError ORDER BY urn, subStreamId, streamLevel DESC, code")
            return try Self.fetch(statement, [], Self.errorRecord)
        }
    }
}
